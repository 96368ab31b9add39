package dev.candor.probes.report;

import dev.candor.probes.metrics.Metrics;

/**
 * One line of a probe report: how one method's p(correct) scores at one level, raw or Platt-scaled, as in the tables
 * of Gros &amp; Devanbu. {@code level} is "token", "line" or "problem"; the metrics are those of {@link Metrics} (NaN
 * where undefined, e.g. AUC with one class), averaged over cross-validation folds.
 */
public record ReportRow(String method, String level, boolean scaled, double brier, double bss, double ece, double auc) {
  /** The row of {@code method} at {@code level} with the given scores. */
  public static ReportRow of(String method, String level, boolean scaled, Metrics.Scores scores) {
    return new ReportRow(method, level, scaled, scores.brier(), scores.bss(), scores.ece(), scores.auc());
  }
}
