package dev.candor.probes.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The metrics against hand-computed values and, for AUC, against the O(n²) pair-counting definition. */
class MetricsTest {
  static final double EPS = 1e-12;

  @Test
  void brierIsTheMeanSquaredError() {
    // ((0.8 − 1)² + (0.3 − 0)²) / 2 = (0.04 + 0.09) / 2
    assertEquals(0.065, Metrics.brier(new double[] {0.8, 0.3}, new boolean[] {true, false}), EPS);
    assertEquals(0.25, Metrics.brier(new double[] {0.5, 0.5, 0.5}, new boolean[] {true, false, true}), EPS);
    assertEquals(0, Metrics.brier(new double[] {1, 0}, new boolean[] {true, false}), EPS);
    assertEquals(1, Metrics.brier(new double[] {0, 1}, new boolean[] {true, false}), EPS);
  }

  @Test
  void baseRateIsTheFractionCorrect() {
    assertEquals(0.25, Metrics.baseRate(new boolean[] {true, false, false, false}), EPS);
    assertEquals(1, Metrics.baseRate(new boolean[] {true}), EPS);
  }

  @Test
  void brierSkillScoreIsRelativeToPredictingTheBaseRate() {
    // base rate 0.5: reference r(1 − r) = 0.25, so 1 − 0.065 / 0.25
    assertEquals(0.74, Metrics.brierSkillScore(new double[] {0.8, 0.3}, new boolean[] {true, false}), EPS);
    // predicting the base rate itself has no skill
    boolean[] y = {true, false, false, false};
    assertEquals(0, Metrics.brierSkillScore(new double[] {0.25, 0.25, 0.25, 0.25}, y), EPS);
    // worse than the constant: negative. Brier (0.5² + 3·0.5²)/4 = 0.25 vs reference 0.1875
    assertEquals(1 - 0.25 / 0.1875, Metrics.brierSkillScore(new double[] {0.5, 0.5, 0.5, 0.5}, y), EPS);
  }

  @Test
  void brierSkillScoreIsUndefinedForOneClass() {
    assertTrue(Double.isNaN(Metrics.brierSkillScore(new double[] {0.9, 0.8}, new boolean[] {true, true})));
    assertTrue(Double.isNaN(Metrics.brierSkillScore(new double[] {0.1, 0.2}, new boolean[] {false, false})));
  }

  @Test
  void eceOnTwoBinsByHand() {
    double[] p = {0.2, 0.4, 0.6, 0.9};
    boolean[] y = {false, true, true, true};
    // bin [0, 0.5): mean p 0.3, observed 0.5, weight 2/4 → 0.1; bin [0.5, 1]: mean p 0.75, observed 1 → 0.125
    assertEquals(0.225, Metrics.ece(p, y, 2), EPS);
    // one bin: |3/4 − 0.525| = 0.225 as well, by coincidence of the example; with 10 bins every point is alone
    assertEquals(Math.abs(0.75 - 0.525), Metrics.ece(p, y, 1), EPS);
    assertEquals((0.2 + 0.6 + 0.4 + 0.1) / 4, Metrics.ece(p, y, 10), EPS);
  }

  @Test
  void eceIsZeroWhenEveryPredictionIsTheBaseRate() {
    boolean[] y = {true, false, false, true, false, false, false, true, false, false}; // base rate 0.3
    double[] p = new double[y.length];
    Arrays.fill(p, 0.3);
    assertEquals(0, Metrics.ece(p, y, 10), EPS);
    // all in one bin, bin 3 = [0.3, 0.4)
    Metrics.Bin[] bins = Metrics.reliability(p, y, 10);
    assertEquals(10, bins[3].count());
    assertEquals(0.3, bins[3].observed(), EPS);
  }

  @Test
  void binsAreHalfOpenAndTheLastOneHoldsOne() {
    double[] p = {0.0, 0.49, 0.5, 1.0};
    Metrics.Bin[] bins = Metrics.reliability(p, new boolean[] {false, false, true, true}, 2);
    assertEquals(2, bins[0].count());
    assertEquals(2, bins[1].count());
    assertEquals(0.0, bins[0].lo(), EPS);
    assertEquals(0.5, bins[0].hi(), EPS);
    assertEquals(0.75, bins[1].meanPredicted(), EPS);
    assertEquals(1.0, bins[1].observed(), EPS);
    Metrics.Bin empty = Metrics.reliability(new double[] {0.05}, new boolean[] {true}, 10)[9];
    assertEquals(0, empty.count());
    assertTrue(Double.isNaN(empty.meanPredicted()) && Double.isNaN(empty.observed()));
    // a single perfectly confident, correct prediction of 1.0 has no calibration error; a wrong one, all of it
    assertEquals(0, Metrics.ece(new double[] {1.0}, new boolean[] {true}, 10), EPS);
    assertEquals(1, Metrics.ece(new double[] {1.0}, new boolean[] {false}, 10), EPS);
  }

  @Test
  void aucCountsTiesAsHalf() {
    // positives {0.4, 0.8} against negatives {0.1, 0.4}: 1 + ½ + 1 + 1 of 4 pairs
    assertEquals(0.875, Metrics.auc(new double[] {0.1, 0.4, 0.4, 0.8}, new boolean[] {false, true, false, true}), EPS);
    assertEquals(0.5, Metrics.auc(new double[] {0.5, 0.5, 0.5}, new boolean[] {true, false, false}), EPS);
    assertEquals(1, Metrics.auc(new double[] {0.1, 0.2, 0.9}, new boolean[] {false, false, true}), EPS);
    assertEquals(0, Metrics.auc(new double[] {0.1, 0.2, 0.9}, new boolean[] {true, true, false}), EPS);
  }

  @Test
  void aucIsTheProbabilityOfRankingAPositiveAboveANegative() {
    SplittableRandom random = new SplittableRandom(11);
    for (int trial = 0; trial < 20; trial++) {
      int n = 2 + random.nextInt(300);
      double[] p = new double[n];
      boolean[] y = new boolean[n];
      for (int i = 0; i < n; i++) {
        y[i] = random.nextDouble() < 0.4;
        p[i] = Math.round((random.nextDouble() * 0.5 + (y[i] ? 0.3 : 0)) * 10) / 10.0; // rounded: many ties
      }
      double wins = 0;
      long pairs = 0;
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          if (y[i] && !y[j]) {
            pairs++;
            wins += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
          }
        }
      }
      double expected = pairs == 0 ? Double.NaN : wins / pairs;
      assertEquals(expected, Metrics.auc(p, y), 1e-12, "trial " + trial);
    }
  }

  @Test
  void aucIsUndefinedForOneClass() {
    assertTrue(Double.isNaN(Metrics.auc(new double[] {0.1, 0.9}, new boolean[] {true, true})));
    assertTrue(Double.isNaN(Metrics.auc(new double[] {0.1, 0.9}, new boolean[] {false, false})));
  }

  @Test
  void scoresBundleTheFourMetrics() {
    double[] p = {0.2, 0.4, 0.6, 0.9};
    boolean[] y = {false, true, true, true};
    Metrics.Scores s = Metrics.Scores.of(p, y);
    assertEquals(Metrics.brier(p, y), s.brier(), 0);
    assertEquals(Metrics.brierSkillScore(p, y), s.bss(), 0);
    assertEquals(Metrics.ece(p, y, 10), s.ece(), 0);
    assertEquals(1.0, s.auc(), EPS);
  }

  @Test
  void theMeanOverFoldsSkipsUndefinedValues() {
    Metrics.Scores mean = Metrics.Scores.mean(List.of(
        new Metrics.Scores(0.1, 0.2, 0.3, 0.6),
        new Metrics.Scores(0.3, Double.NaN, 0.1, Double.NaN),
        new Metrics.Scores(0.2, 0.4, 0.2, 0.8)));
    assertArrayEquals(
        new double[] {0.2, 0.3, 0.2, 0.7},
        new double[] {mean.brier(), mean.bss(), mean.ece(), mean.auc()}, EPS);
    Metrics.Scores none = Metrics.Scores.mean(List.of(new Metrics.Scores(0.1, Double.NaN, 0.1, Double.NaN)));
    assertTrue(Double.isNaN(none.auc()));
  }

  @Test
  void badInputIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Metrics.brier(new double[] {0.5}, new boolean[] {true, false}));
    assertThrows(IllegalArgumentException.class, () -> Metrics.brier(new double[0], new boolean[0]));
    assertThrows(IllegalArgumentException.class,
        () -> Metrics.auc(new double[] {Double.NaN, 0.5}, new boolean[] {true, false}));
    assertThrows(IllegalArgumentException.class, () -> Metrics.ece(new double[] {1.5}, new boolean[] {true}, 10));
    assertThrows(IllegalArgumentException.class, () -> Metrics.ece(new double[] {0.5}, new boolean[] {true}, 0));
    assertThrows(IllegalArgumentException.class, () -> Metrics.baseRate(new boolean[0]));
  }
}
