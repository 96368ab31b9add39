package dev.candor.probes.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The content baselines' regression: recovers a known model, is Platt on one feature, stays finite on separation. */
class LogisticRegressionTest {
  @Test
  void recoversKnownProbabilities() {
    SplittableRandom r = new SplittableRandom(1);
    int n = 20000;
    double[][] x = new double[n][];
    boolean[] y = new boolean[n];
    for (int i = 0; i < n; i++) {
      x[i] = new double[] {r.nextGaussian(), r.nextGaussian() * 3 + 2, r.nextInt(2)};
      y[i] = r.nextDouble() < truth(x[i]);
    }
    LogisticRegression fit = LogisticRegression.fit(x, y, 1e-3);
    double worst = 0;
    for (int i = 0; i < 200; i++) {
      double[] row = {r.nextGaussian(), r.nextGaussian() * 3 + 2, r.nextInt(2)};
      worst = Math.max(worst, Math.abs(fit.predict(row) - truth(row)));
    }
    assertTrue(worst < 0.05, "largest error " + worst);
  }

  private static double truth(double[] x) {
    return 1 / (1 + Math.exp(-(0.5 + 1.5 * x[0] - 0.4 * x[1] + 1.0 * x[2])));
  }

  @Test
  void onOneFeatureItIsPlattScaling() {
    SplittableRandom r = new SplittableRandom(2);
    int n = 3000;
    double[] s = new double[n];
    double[][] x = new double[n][];
    boolean[] y = new boolean[n];
    for (int i = 0; i < n; i++) {
      s[i] = r.nextGaussian() * 2;
      x[i] = new double[] {s[i]};
      y[i] = r.nextDouble() < 1 / (1 + Math.exp(-(0.7 * s[i] - 0.2)));
    }
    LogisticRegression fit = LogisticRegression.fit(x, y, 1e-9);
    // Platt fits smoothed targets, so the two differ by O(1/n)
    Platt.Fit platt = Platt.fit(s, y);
    for (double v : new double[] {-3, -1, 0, 1, 3}) {
      assertEquals(platt.apply(v), fit.predict(new double[] {v}), 2e-3, "at " + v);
    }
  }

  @Test
  void separableDataStaysFiniteUnderThePenalty() {
    double[][] x = {{-2}, {-1}, {1}, {2}};
    boolean[] y = {false, false, true, true};
    LogisticRegression fit = LogisticRegression.fit(x, y, 1.0);
    double p = fit.predict(new double[] {2});
    assertTrue(p > 0.5 && p < 1, "p " + p);
    assertTrue(fit.predict(new double[] {-2}) < 0.5);
  }
}
