package dev.candor.probes.report;

/**
 * A paired comparison of two methods on the same rows: the difference a − b of a statistic (the BSS, or the mean
 * p(correct) on a subset where every row is wrong), its value in each cross-validation fold, and its bootstrap 95%
 * interval from the same problem resamples applied to both. An interval that includes 0 shows no difference.
 */
public record Comparison(String a, String b, String level, boolean scaled, String subset, String metric,
    double difference, double[] perFold, double ciLow, double ciHigh) {

  /** Whether the interval excludes zero on the positive side: a beats b on this statistic. */
  public boolean aAbove() {
    return ciLow > 0;
  }

  public boolean is(String first, String second, String l, String sub) {
    return a.equals(first) && b.equals(second) && level.equals(l) && subset.equals(sub);
  }
}
