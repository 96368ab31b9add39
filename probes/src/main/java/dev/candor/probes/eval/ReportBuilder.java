package dev.candor.probes.eval;

import dev.candor.probes.metrics.Bootstrap;
import dev.candor.probes.metrics.CrossValidation;
import dev.candor.probes.metrics.Metrics;
import dev.candor.probes.report.Comparison;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.report.RowDetail;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns scored rows into a report's rows, details and paired comparisons. Every number is computed per fold on the
 * fold's rows and averaged over folds (one "fold" for data scored by a model fitted elsewhere); its interval comes
 * from a {@link Bootstrap} over the problems of the same evaluation, whose resamples are kept so that a later
 * comparison of two methods uses the same ones for both.
 */
final class ReportBuilder {
  final List<ReportRow> rows = new ArrayList<>();
  final List<RowDetail> details = new ArrayList<>();
  final List<Comparison> comparisons = new ArrayList<>();
  private final Map<String, Kept> kept = new HashMap<>();

  /** What a row keeps for comparisons: per fold and per resample, the BSS and the mean p. */
  private record Kept(double[] foldBss, double[] foldMeanP, double[] bss, double[] meanP, double pointBss,
      double pointMeanP) {}

  /** The evaluation a row belongs to: its rows, the fold of each problem, and the bootstrap over those problems. */
  record Evaluation(Rows rows, int[] foldOfGroup, int folds, Bootstrap bootstrap) {}

  /** Adds the rows of {@code scored} at {@code level} on one subset ({@code mask} null: all rows), raw and scaled. */
  void add(Scored scored, Evaluation e, int level, String subset, boolean[] mask) {
    for (boolean scaled : new boolean[] {false, true}) {
      double[][] p = scaled ? scored.scaled() : scored.raw();
      if (p == null || p[level] == null) {
        continue;
      }
      add(scored.method(), p[level], e, level, scaled, subset, mask);
    }
  }

  private void add(String method, double[] p, Evaluation e, int level, boolean scaled, String subset,
      boolean[] mask) {
    Rows data = e.rows();
    int[] rowFolds = CrossValidation.rowFolds(data.groups[level], e.foldOfGroup());
    List<Metrics.Scores> perFold = new ArrayList<>();
    double[] foldBss = new double[e.folds()];
    double[] foldEce = new double[e.folds()];
    double[] foldMeanP = new double[e.folds()];
    int n = 0;
    for (int f = 0; f < e.folds(); f++) {
      boolean[] in = CrossValidation.testMask(rowFolds, f);
      if (mask != null) {
        for (int r = 0; r < in.length; r++) {
          in[r] &= mask[r];
        }
      }
      double[] pf = CrossValidation.select(p, in);
      foldBss[f] = foldEce[f] = foldMeanP[f] = Double.NaN;
      if (pf.length == 0) {
        continue;
      }
      Metrics.Scores s = Metrics.Scores.of(pf, CrossValidation.select(data.labels[level], in));
      perFold.add(s);
      foldBss[f] = s.bss();
      foldEce[f] = s.ece();
      foldMeanP[f] = java.util.Arrays.stream(pf).average().orElse(Double.NaN);
      n += pf.length;
    }
    if (perFold.isEmpty()) {
      return;
    }
    Metrics.Scores mean = Metrics.Scores.mean(perFold);
    Bootstrap boot = e.bootstrap();
    Bootstrap.Totals totals = boot.totals(p, data.labels[level], data.groups[level], mask);
    double[] bss = boot.resampled(totals, Bootstrap.Statistic.BSS);
    double[] ece = boot.resampled(totals, Bootstrap.Statistic.ECE);
    double[] meanP = boot.resampled(totals, Bootstrap.Statistic.MEAN_P);
    double[] bssInterval = Bootstrap.interval(bss);
    double[] eceInterval = Bootstrap.interval(ece);
    double pointMeanP = finiteMean(foldMeanP);
    String levelName = Rows.LEVELS[level];
    rows.add(new ReportRow(method, levelName, scaled, subset, mean.brier(), mean.bss(), mean.ece(), mean.auc(),
        bssInterval[0], bssInterval[1], subset.equals(ReportRow.ALL) ? Double.NaN : pointMeanP));
    details.add(new RowDetail(method, levelName, scaled, subset, n, foldBss, foldEce, eceInterval[0],
        eceInterval[1]));
    kept.put(key(method, levelName, scaled, subset), new Kept(foldBss, foldMeanP, bss, meanP, mean.bss(), pointMeanP));
  }

  /**
   * The paired difference a − b of the BSS (or, with {@code meanP}, of the mean p(correct): for subsets whose rows are
   * all wrong, where the BSS is undefined) at (level, scaled, subset); nothing when either row is missing.
   */
  void compare(String a, String b, String level, boolean scaled, String subset, boolean meanP) {
    Kept x = kept.get(key(a, level, scaled, subset));
    Kept y = kept.get(key(b, level, scaled, subset));
    if (x == null || y == null) {
      return;
    }
    double[] perFold = Bootstrap.difference(meanP ? x.foldMeanP() : x.foldBss(), meanP ? y.foldMeanP() : y.foldBss());
    double[] resampled = Bootstrap.difference(meanP ? x.meanP() : x.bss(), meanP ? y.meanP() : y.bss());
    double[] interval = Bootstrap.interval(resampled);
    double difference = meanP ? x.pointMeanP() - y.pointMeanP() : x.pointBss() - y.pointBss();
    comparisons.add(new Comparison(a, b, level, scaled, subset, meanP ? "mean_p" : "bss", difference, perFold,
        interval[0], interval[1]));
  }

  /** The line-level scaled BSS of a method on all rows, NaN when it has no such row. */
  double lineBss(String method) {
    Kept k = kept.get(key(method, "line", true, ReportRow.ALL));
    return k == null ? Double.NaN : k.pointBss();
  }

  private static String key(String method, String level, boolean scaled, String subset) {
    return method + "|" + level + "|" + scaled + "|" + subset;
  }

  private static double finiteMean(double[] values) {
    return java.util.Arrays.stream(values).filter(Double::isFinite).average().orElse(Double.NaN);
  }
}
