package dev.candor.probes.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Pool-adjacent-violators against the slow, obviously correct oracle: on distinct sorted scores the isotonic
 * regression's value at point i is max over j ≤ i of min over k ≥ i of the mean label of points j..k (Barlow et al.
 * 1972, the min–max formula), which needs no pooling logic at all.
 */
class IsotonicTest {
  static double oracle(boolean[] sortedLabels, int i) {
    double best = Double.NEGATIVE_INFINITY;
    for (int j = 0; j <= i; j++) {
      double worst = Double.POSITIVE_INFINITY;
      for (int k = i; k < sortedLabels.length; k++) {
        double sum = 0;
        for (int m = j; m <= k; m++) {
          sum += sortedLabels[m] ? 1 : 0;
        }
        worst = Math.min(worst, sum / (k - j + 1));
      }
      best = Math.max(best, worst);
    }
    return best;
  }

  @Test
  void matchesTheMinMaxFormulaAtEveryTrainingPoint() {
    SplittableRandom random = new SplittableRandom(3);
    for (int trial = 0; trial < 50; trial++) {
      int n = 1 + random.nextInt(40);
      double[] s = new double[n];
      boolean[] y = new boolean[n];
      for (int i = 0; i < n; i++) {
        s[i] = i + random.nextDouble() * 0.5; // distinct and increasing
        y[i] = random.nextDouble() < (double) i / n + 0.2 * (random.nextDouble() - 0.5);
      }
      // shuffle the input order: the fit must sort
      double[] shuffledS = s.clone();
      boolean[] shuffledY = y.clone();
      for (int i = n - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        double ts = shuffledS[i];
        shuffledS[i] = shuffledS[j];
        shuffledS[j] = ts;
        boolean ty = shuffledY[i];
        shuffledY[i] = shuffledY[j];
        shuffledY[j] = ty;
      }
      Isotonic fit = Isotonic.fit(shuffledS, shuffledY);
      for (int i = 0; i < n; i++) {
        double expected = Math.min(1 - Platt.CLIP, Math.max(Platt.CLIP, oracle(y, i)));
        assertEquals(expected, fit.apply(s[i]), 1e-12, "point " + i + " of trial " + trial);
      }
    }
  }

  @Test
  void isMonotoneBetweenAndBeyondThePoints() {
    SplittableRandom random = new SplittableRandom(5);
    double[] s = new double[200];
    boolean[] y = new boolean[200];
    for (int i = 0; i < s.length; i++) {
      s[i] = random.nextGaussian();
      y[i] = random.nextDouble() < Platt.sigmoid(2 * s[i]);
    }
    Isotonic fit = Isotonic.fit(s, y);
    double previous = 0;
    for (double v = -5; v <= 5; v += 0.01) {
      double p = fit.apply(v);
      assertTrue(p >= previous - 1e-15 && p >= Platt.CLIP && p <= 1 - Platt.CLIP, "at " + v);
      previous = p;
    }
  }

  @Test
  void tiedScoresGetOneValue() {
    Isotonic fit = Isotonic.fit(new double[] {0, 1, 1, 1, 2}, new boolean[] {false, true, false, false, true});
    assertEquals(1.0 / 3, fit.apply(1), 1e-12);
    assertEquals(3, fit.blocks());
  }

  /** Bounded, an end block that was all right (or all wrong) says (n + 1)/(n + 2) (or 1/(n + 2)), never 1 or 0. */
  @Test
  void boundedEndsAreThePosteriorMeanNotCertainty() {
    // scores 0..19: the lowest 4 wrong, then alternating, then the highest 10 right
    double[] s = new double[20];
    boolean[] y = new boolean[20];
    for (int i = 0; i < 20; i++) {
      s[i] = i;
      y[i] = i >= 10 || (i >= 4 && i % 2 == 0);
    }
    Isotonic fit = Isotonic.fit(s, y);
    assertEquals(1 - Platt.CLIP, fit.apply(15), 0.0, "PAV alone: certainty");
    assertEquals(Platt.CLIP, fit.apply(1), 0.0);
    Isotonic bounded = fit.bounded();
    assertEquals(11.0 / 12, bounded.apply(15), 1e-12, "10 points all right");
    assertEquals(11.0 / 12, bounded.apply(30), 1e-12, "beyond the last point");
    assertEquals(1.0 / 6, bounded.apply(1), 1e-12, "4 points all wrong");
    assertEquals(fit.apply(6.5), bounded.apply(6.5), 0.0, "between the ends, unchanged");
    // one wrong point below eleven right ones: two end blocks, nothing between
    double[] s2 = new double[12];
    boolean[] y2 = new boolean[12];
    for (int i = 0; i < 12; i++) {
      s2[i] = i;
      y2[i] = i != 0;
    }
    Isotonic two = Isotonic.fit(s2, y2).bounded();
    assertEquals(12.0 / 13, two.apply(11), 1e-12);
    assertEquals(1.0 / 3, two.apply(0), 1e-12, "the one wrong point");
  }
}
