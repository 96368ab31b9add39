package dev.candor.probes.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Platt scaling: the fit is the stationary point of the penalised likelihood with Platt's smoothed targets, it
 * recovers known parameters, it converges on separable and degenerate data, and it repairs miscalibration.
 */
class PlattTest {
  static final double PENALTY = 1e-6;

  /** The gradient of the penalised negative log-likelihood at the fit, which must vanish at the optimum. */
  static double[] gradient(Platt.Fit fit, double[] s, boolean[] y) {
    int positives = 0;
    for (boolean b : y) {
      positives += b ? 1 : 0;
    }
    double high = (positives + 1.0) / (positives + 2.0);
    double low = 1.0 / (y.length - positives + 2.0);
    double ga = 2 * PENALTY * fit.a();
    double gb = 2 * PENALTY * fit.b();
    for (int i = 0; i < s.length; i++) {
      double residual = fit.apply(s[i]) - (y[i] ? high : low);
      ga += residual * s[i];
      gb += residual;
    }
    return new double[] {ga, gb};
  }

  @Test
  void logitClipsProbabilities() {
    assertEquals(0, Platt.logit(0.5), 1e-15);
    assertEquals(Math.log(3), Platt.logit(0.75), 1e-12);
    double floor = Math.log(1e-6 / (1 - 1e-6)); // ≈ −13.8
    assertEquals(floor, Platt.logit(0), 1e-9);
    assertEquals(floor, Platt.logit(1e-9), 1e-9);
    assertEquals(-floor, Platt.logit(1), 1e-9);
    assertEquals(0.75, Platt.sigmoid(Platt.logit(0.75)), 1e-12);
    assertEquals(1, Platt.sigmoid(800), 0);
    assertEquals(0, Platt.sigmoid(-800), 0);
  }

  @Test
  void theFitIsTheStationaryPointWithSmoothedTargets() {
    double[] s = {-2, -1, 0, 1, 2, 3};
    boolean[] y = {false, false, true, false, true, true};
    Platt.Fit fit = Platt.fit(s, y);
    double[] g = gradient(fit, s, y);
    assertEquals(0, g[0], 1e-9);
    assertEquals(0, g[1], 1e-9);
    assertTrue(fit.a() > 0, "higher score, more often correct: " + fit);
    // smoothed targets t₊ = 4/5, t₋ = 1/5: the mean prediction equals the mean target, 0.5
    double mean = 0;
    for (double x : s) {
      mean += fit.apply(x) / s.length;
    }
    assertEquals(0.5, mean, 1e-6);
  }

  @Test
  void recoversKnownParameters() {
    SplittableRandom random = new SplittableRandom(5);
    int n = 20000;
    double[] s = new double[n];
    boolean[] y = new boolean[n];
    for (int i = 0; i < n; i++) {
      s[i] = random.nextGaussian() * 2;
      y[i] = random.nextDouble() < Platt.sigmoid(1.5 * s[i] - 0.7);
    }
    Platt.Fit fit = Platt.fit(s, y);
    assertEquals(1.5, fit.a(), 0.1);
    assertEquals(-0.7, fit.b(), 0.1);
  }

  @Test
  void separableDataStillConverges() {
    double[] s = {-2, -1, 1, 2};
    boolean[] y = {false, false, true, true};
    Platt.Fit fit = Platt.fit(s, y);
    assertTrue(Double.isFinite(fit.a()) && Double.isFinite(fit.b()) && fit.a() > 0, fit.toString());
    double[] g = gradient(fit, s, y);
    assertEquals(0, g[0], 1e-9);
    assertEquals(0, g[1], 1e-9);
    // the targets are 3/4 and 1/4, not 1 and 0, so predictions stay away from certainty
    assertTrue(fit.apply(2) < 0.9 && fit.apply(-2) > 0.1, fit.toString());
  }

  @Test
  void oneClassMapsToItsSmoothedTarget() {
    Platt.Fit allCorrect = Platt.fit(new double[] {0.1, 5, -3}, new boolean[] {true, true, true});
    assertEquals(0, allCorrect.a(), 0);
    assertEquals(0.8, allCorrect.apply(123), 1e-12); // (3 + 1) / (3 + 2)
    Platt.Fit allWrong = Platt.fit(new double[] {0.1, 5, -3}, new boolean[] {false, false, false});
    assertEquals(0, allWrong.a(), 0);
    assertEquals(0.2, allWrong.apply(-4), 1e-12); // 1 / (3 + 2)
  }

  @Test
  void equalScoresPredictTheMeanTarget() {
    // a and b are not identifiable when s is constant; the penalty picks one solution and it must predict the mean
    // target: (2/3 + 3 · 1/5) / 4
    Platt.Fit fit = Platt.fit(new double[] {1, 1, 1, 1}, new boolean[] {true, false, false, false});
    assertEquals((2.0 / 3 + 3.0 / 5) / 4, fit.apply(1), 1e-6);
  }

  @Test
  void scalingRepairsOverconfidence() {
    SplittableRandom random = new SplittableRandom(9);
    int n = 5000;
    double[] overconfident = new double[n];
    boolean[] y = new boolean[n];
    for (int i = 0; i < n; i++) {
      double s = random.nextGaussian();
      y[i] = random.nextDouble() < Platt.sigmoid(s);
      overconfident[i] = Platt.sigmoid(4 * s);
    }
    double[] logits = new double[n];
    for (int i = 0; i < n; i++) {
      logits[i] = Platt.logit(overconfident[i]);
    }
    Platt.Fit fit = Platt.fit(logits, y);
    double[] scaled = fit.apply(logits);
    assertEquals(0.25, fit.a(), 0.05); // undoes the factor 4
    double before = Metrics.ece(overconfident, y, 10);
    double after = Metrics.ece(scaled, y, 10);
    assertTrue(before > 0.1 && after < 0.03, "ECE " + before + " -> " + after);
    double[] clipped = new double[n]; // the probabilities the logits stand for, after clipping
    for (int i = 0; i < n; i++) {
      clipped[i] = Platt.sigmoid(logits[i]);
    }
    assertEquals(Metrics.auc(clipped, y), Metrics.auc(scaled, y), 1e-12); // monotone: ranking unchanged
  }

  @Test
  void badInputIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Platt.fit(new double[0], new boolean[0]));
    assertThrows(IllegalArgumentException.class, () -> Platt.fit(new double[] {1}, new boolean[] {true, false}));
    assertThrows(IllegalArgumentException.class,
        () -> Platt.fit(new double[] {Double.POSITIVE_INFINITY, 0}, new boolean[] {true, false}));
  }
}
