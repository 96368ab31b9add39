package dev.candor.probes.metrics;

import java.util.Arrays;
import java.util.List;

/**
 * The evaluation metrics of Gros &amp; Devanbu ("Localized Calibrated Uncertainty in Code Language Models"): Brier
 * score, Brier skill score, expected calibration error and ROC AUC of predicted p(correct) against correctness labels.
 * Each is computed the same way at every level (token, line, problem) and for every method (probe, baselines).
 *
 * <p>Every method takes {@code p} [n], predicted probabilities of "correct", and {@code y} [n], the labels (true =
 * correct). Callers must pass finite probabilities: a NaN prediction is a bug upstream, not something to skip, so
 * non-finite p, mismatched lengths and empty input throw {@link IllegalArgumentException}.
 */
public final class Metrics {
  private Metrics() {}

  /** The four headline numbers of one method at one level. */
  public record Scores(double brier, double bss, double ece, double auc) {
    /** Scores of {@code p} against {@code y}, ECE over 10 bins (as in the paper). */
    public static Scores of(double[] p, boolean[] y) {
      return new Scores(Metrics.brier(p, y), Metrics.brierSkillScore(p, y), Metrics.ece(p, y, 10), Metrics.auc(p, y));
    }

    /**
     * The mean over cross-validation folds, each metric over the folds where it is defined: a fold with one class
     * only has NaN AUC and BSS and is left out of those two means. NaN where no fold defines the metric.
     */
    public static Scores mean(List<Scores> folds) {
      return new Scores(
          finiteMean(folds.stream().mapToDouble(Scores::brier).toArray()),
          finiteMean(folds.stream().mapToDouble(Scores::bss).toArray()),
          finiteMean(folds.stream().mapToDouble(Scores::ece).toArray()),
          finiteMean(folds.stream().mapToDouble(Scores::auc).toArray()));
    }
  }

  /**
   * One bin of a reliability diagram: predictions in [lo, hi), {@code count} of them, their mean prediction and the
   * fraction of them that are correct (both NaN when the bin is empty).
   */
  public record Bin(double lo, double hi, int count, double meanPredicted, double observed) {}

  /** Brier score: mean of (p − y)², y as 0/1. 0 is perfect; always predicting 0.5 scores 0.25. */
  public static double brier(double[] p, boolean[] y) {
    check(p, y);
    double sum = 0;
    for (int i = 0; i < p.length; i++) {
      double d = p[i] - (y[i] ? 1 : 0);
      sum += d * d;
    }
    return sum / p.length;
  }

  /** The fraction of labels that are true. */
  public static double baseRate(boolean[] y) {
    if (y.length == 0) {
      throw new IllegalArgumentException("no labels");
    }
    int positives = 0;
    for (boolean b : y) {
      if (b) {
        positives++;
      }
    }
    return (double) positives / y.length;
  }

  /**
   * Brier skill score: 1 − brier / brierRef, where brierRef = r(1 − r) is the Brier score of always predicting the
   * base rate r. Positive means better than that constant; 1 is perfect. NaN when r is 0 or 1 (the reference is
   * perfect, so skill is undefined).
   */
  public static double brierSkillScore(double[] p, boolean[] y) {
    double brier = brier(p, y);
    double r = baseRate(y);
    double reference = r * (1 - r);
    return reference == 0 ? Double.NaN : 1 - brier / reference;
  }

  /**
   * Predictions in {@code bins} equal-width bins over [0, 1]: bin i holds p in [i/bins, (i+1)/bins), computed as
   * floor(p·bins), and the last bin also holds p = 1.
   */
  public static Bin[] reliability(double[] p, boolean[] y, int bins) {
    check(p, y);
    if (bins < 1) {
      throw new IllegalArgumentException("bins must be positive, got " + bins);
    }
    int[] count = new int[bins];
    double[] sumP = new double[bins];
    int[] positives = new int[bins];
    for (int i = 0; i < p.length; i++) {
      int b = Math.min((int) (p[i] * bins), bins - 1);
      count[b]++;
      sumP[b] += p[i];
      if (y[i]) {
        positives[b]++;
      }
    }
    Bin[] out = new Bin[bins];
    for (int b = 0; b < bins; b++) {
      double lo = (double) b / bins;
      double hi = (double) (b + 1) / bins;
      out[b] = count[b] == 0
          ? new Bin(lo, hi, 0, Double.NaN, Double.NaN)
          : new Bin(lo, hi, count[b], sumP[b] / count[b], (double) positives[b] / count[b]);
    }
    return out;
  }

  /**
   * Expected calibration error (Naeini et al. 2015; Guo et al. 2017): Σ_b (n_b / N)·|mean(y in b) − mean(p in b)|
   * over the equal-width bins of {@link #reliability}, empty bins contributing nothing. It is blind to
   * discrimination: predicting the base rate everywhere puts every prediction in one bin with ECE 0.
   */
  public static double ece(double[] p, boolean[] y, int bins) {
    double sum = 0;
    for (Bin bin : reliability(p, y, bins)) {
      if (bin.count() > 0) {
        sum += bin.count() * Math.abs(bin.observed() - bin.meanPredicted());
      }
    }
    return sum / p.length;
  }

  /**
   * Area under the ROC curve, as the Mann–Whitney U statistic: the probability that a random correct item scores
   * higher than a random incorrect one, ties counting 1/2. Computed from average ranks in O(n log n):
   * AUC = (Σ ranks of positives − n₊(n₊ + 1)/2) / (n₊·n₋). NaN when only one class is present.
   */
  public static double auc(double[] p, boolean[] y) {
    check(p, y);
    int n = p.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(p[a], p[b]));
    double positiveRankSum = 0;
    long positives = 0;
    for (int start = 0; start < n; ) {
      int end = start; // [start, end) is one run of tied scores, ranks start + 1 .. end
      while (end < n && p[order[end]] == p[order[start]]) {
        end++;
      }
      double averageRank = (start + 1 + end) / 2.0;
      for (int r = start; r < end; r++) {
        if (y[order[r]]) {
          positiveRankSum += averageRank;
          positives++;
        }
      }
      start = end;
    }
    long negatives = n - positives;
    if (positives == 0 || negatives == 0) {
      return Double.NaN;
    }
    return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
  }

  private static void check(double[] p, boolean[] y) {
    if (p.length != y.length) {
      throw new IllegalArgumentException(p.length + " predictions but " + y.length + " labels");
    }
    if (p.length == 0) {
      throw new IllegalArgumentException("no predictions");
    }
    for (int i = 0; i < p.length; i++) {
      if (!Double.isFinite(p[i]) || p[i] < 0 || p[i] > 1) {
        throw new IllegalArgumentException("prediction " + i + " is " + p[i] + ", not a probability");
      }
    }
  }

  private static double finiteMean(double[] values) {
    double sum = 0;
    int n = 0;
    for (double v : values) {
      if (Double.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }
}
