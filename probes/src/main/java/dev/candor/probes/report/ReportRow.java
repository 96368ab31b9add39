package dev.candor.probes.report;

import dev.candor.probes.metrics.Metrics;

/**
 * One line of a probe report: how one method's p(correct) scores at one level, raw or Platt-scaled, on one subset of
 * the rows, as in the tables of Gros &amp; Devanbu. {@code level} is "token", "line" or "problem"; {@code subset} is
 * "all" or the name of a subset (a line type, the confidently wrong lines, a counterfactual role, the fresh data,
 * the difficulty shift). The metrics are those of {@link Metrics} (NaN where undefined, e.g. BSS of a subset whose
 * rows are all wrong), averaged over cross-validation folds; {@code ciLow}/{@code ciHigh} the bootstrap 95% interval
 * of the BSS, resampling problems; {@code meanP} the mean predicted p(correct) on a subset (NaN for "all").
 */
public record ReportRow(String method, String level, boolean scaled, String subset, double brier, double bss,
    double ece, double auc, double ciLow, double ciHigh, double meanP) {
  public static final String ALL = "all";

  /** A row on all rows, without an interval. */
  public ReportRow(String method, String level, boolean scaled, double brier, double bss, double ece, double auc) {
    this(method, level, scaled, ALL, brier, bss, ece, auc, Double.NaN, Double.NaN, Double.NaN);
  }

  /** The row of {@code method} at {@code level} on all rows with the given scores and no interval. */
  public static ReportRow of(String method, String level, boolean scaled, Metrics.Scores scores) {
    return new ReportRow(method, level, scaled, scores.brier(), scores.bss(), scores.ece(), scores.auc());
  }

  /** Whether this row is of (method, level, scaled, subset). */
  public boolean is(String m, String l, boolean s, String sub) {
    return method.equals(m) && level.equals(l) && scaled == s && subset.equals(sub);
  }
}
