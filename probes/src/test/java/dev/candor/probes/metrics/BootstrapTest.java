package dev.candor.probes.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The problem bootstrap against direct computation: with every problem once it gives the fold-mean metrics of
 * {@link Metrics}; its intervals cover the truth about 95% of the time on simulated data; problems, not rows, are
 * resampled (a problem's rows move together, so correlated rows widen the interval); a paired difference of a method
 * with itself is exactly zero.
 */
class BootstrapTest {
  /** Rows of {@code groups} problems, {@code perGroup} each; a problem's rows share a random effect {@code shared}. */
  static double[][] data(int groups, int perGroup, double shared, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int n = groups * perGroup;
    double[] p = new double[n];
    double[] y = new double[n];
    double[] group = new double[n];
    for (int g = 0; g < groups; g++) {
      double effect = shared * r.nextGaussian();
      for (int k = 0; k < perGroup; k++) {
        int i = g * perGroup + k;
        p[i] = 1 / (1 + Math.exp(-r.nextGaussian()));
        y[i] = r.nextDouble() < 1 / (1 + Math.exp(-(Math.log(p[i] / (1 - p[i])) + effect))) ? 1 : 0;
        group[i] = g;
      }
    }
    return new double[][] {p, y, group};
  }

  static boolean[] labels(double[] y) {
    boolean[] b = new boolean[y.length];
    for (int i = 0; i < b.length; i++) {
      b[i] = y[i] == 1;
    }
    return b;
  }

  static int[] ints(double[] g) {
    int[] out = new int[g.length];
    for (int i = 0; i < g.length; i++) {
      out[i] = (int) g[i];
    }
    return out;
  }

  @Test
  void withEveryProblemOnceItIsTheFoldMeanOfTheMetrics() {
    double[][] d = data(60, 7, 0.5, 1);
    int[] groupOfRow = ints(d[2]);
    int[] foldOfGroup = CrossValidation.folds(60, 5, 3);
    Bootstrap boot = new Bootstrap(foldOfGroup, 10, 4);
    Bootstrap.Totals totals = boot.totals(d[0], labels(d[1]), groupOfRow, null);
    int[] rowFolds = CrossValidation.rowFolds(groupOfRow, foldOfGroup);
    double bss = 0;
    double ece = 0;
    for (int f = 0; f < 5; f++) {
      boolean[] in = CrossValidation.testMask(rowFolds, f);
      bss += Metrics.brierSkillScore(CrossValidation.select(d[0], in), CrossValidation.select(labels(d[1]), in)) / 5;
      ece += Metrics.ece(CrossValidation.select(d[0], in), CrossValidation.select(labels(d[1]), in), 10) / 5;
    }
    assertEquals(bss, boot.point(totals, Bootstrap.Statistic.BSS), 1e-12);
    assertEquals(ece, boot.point(totals, Bootstrap.Statistic.ECE), 1e-12);
  }

  @Test
  void intervalsCoverTheTruthAboutNineteenTimesInTwenty() {
    // the truth: the BSS of these (perfectly calibrated) predictions over a very large sample
    double[][] big = data(20000, 5, 0.8, 99);
    double truth = Metrics.brierSkillScore(big[0], labels(big[1]));
    int covered = 0;
    int trials = 120;
    for (int t = 0; t < trials; t++) {
      double[][] d = data(150, 5, 0.8, 1000 + t);
      int[] foldOfGroup = new int[150];
      Bootstrap boot = new Bootstrap(foldOfGroup, 400, t);
      double[] interval = Bootstrap.interval(boot.resampled(boot.totals(d[0], labels(d[1]), ints(d[2]), null),
          Bootstrap.Statistic.BSS));
      covered += interval[0] <= truth && truth <= interval[1] ? 1 : 0;
    }
    double coverage = (double) covered / trials;
    assertTrue(coverage > 0.88 && coverage < 0.995, "coverage " + coverage);
  }

  @Test
  void resamplingProblemsWidensTheIntervalWhenTheirRowsAreCorrelated() {
    double[][] d = data(100, 20, 3.0, 5);
    int[] groups = ints(d[2]);
    double[] byProblem = widthOf(d, groups, 100);
    int[] rowsAsProblems = new int[groups.length];
    for (int i = 0; i < rowsAsProblems.length; i++) {
      rowsAsProblems[i] = i;
    }
    double[] byRow = widthOf(d, rowsAsProblems, groups.length);
    assertTrue(byProblem[0] > 1.25 * byRow[0], "problem bootstrap " + byProblem[0] + " vs row bootstrap " + byRow[0]);
  }

  @Test
  void aMethodComparedWithItselfDiffersByExactlyZero() {
    double[][] d = data(50, 4, 0.5, 6);
    Bootstrap boot = new Bootstrap(CrossValidation.folds(50, 5, 1), 100, 2);
    double[] a = boot.resampled(boot.totals(d[0], labels(d[1]), ints(d[2]), null), Bootstrap.Statistic.BSS);
    double[] interval = Bootstrap.interval(Bootstrap.difference(a, a));
    assertEquals(0, interval[0]);
    assertEquals(0, interval[1]);
  }

  private static double[] widthOf(double[][] d, int[] groupOfRow, int groups) {
    Bootstrap boot = new Bootstrap(new int[groups], 400, 8);
    double[] interval = Bootstrap.interval(boot.resampled(boot.totals(d[0], labels(d[1]), groupOfRow, null),
        Bootstrap.Statistic.BSS));
    return new double[] {interval[1] - interval[0]};
  }
}
