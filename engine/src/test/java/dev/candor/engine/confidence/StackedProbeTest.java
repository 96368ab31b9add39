package dev.candor.engine.confidence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.generate.TokenRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The stack that scores lines: each part against the formula written out (the line features, the regression, the
 * isotonic map), a line's p(correct) against the pipeline computed by hand from the members' own inputs, and what is
 * not measured (a blank line, a record without its hidden states) said as NaN.
 */
class StackedProbeTest {
  static final int HIDDEN = ProbeTest.HIDDEN;

  @Test
  void lineFeaturesAreTheFormula() {
    double[] logprob = {Math.log(0.5), Math.log(0.9), Math.log(0.2)};
    double[] entropy = {0.3, 1.5, 0.6};
    double[] f = StackedProbe.lineFeatures(logprob, entropy, 4);
    assertEquals(Math.log(0.2 / 0.8), f[0], 1e-12);
    double mean = (0.5 + 0.9 + 0.2) / 3;
    assertEquals(Math.log(mean / (1 - mean)), f[1], 1e-12);
    assertEquals(1.5, f[2], 0.0);
    assertEquals(0.8, f[3], 1e-12);
    assertEquals(Math.log(4), f[4], 1e-12);
    assertEquals(4, f[5], 0.0);
    assertEquals(StackedProbe.LINE_FEATURES.size(), f.length);
    assertEquals(Math.log(1e-6 / (1 - 1e-6)), StackedProbe.logit(0), 1e-9, "clipped");
  }

  @Test
  void theRegressionAndTheIsotonicMapAreTheirFormulas() {
    var logistic = new StackedProbe.Logistic(new double[] {1, -2}, new double[] {2, 0.5}, new double[] {0.7, -1.1, 0.2});
    double s = 0.7 * (3 - 1) / 2 + -1.1 * (-1 + 2) / 0.5 + 0.2;
    assertEquals(1 / (1 + Math.exp(-s)), logistic.probability(new double[] {3, -1}), 1e-15);
    assertThrows(IllegalArgumentException.class,
        () -> new StackedProbe.Logistic(new double[2], new double[2], new double[2]), "one weight short");

    var isotonic = new StackedProbe.Isotonic(new double[] {0.1, 0.4, 0.5, 0.9}, new double[] {0.0, 0.2, 0.2, 1.0});
    assertEquals(1e-6, isotonic.apply(-3), 0.0, "constant below the first knot, clipped");
    assertEquals(0.1, isotonic.apply(0.25), 1e-12, "interpolated");
    assertEquals(0.2, isotonic.apply(0.45), 1e-12, "flat within a block");
    assertEquals(0.6, isotonic.apply(0.7), 1e-12);
    assertEquals(1 - 1e-6, isotonic.apply(5), 0.0, "constant above the last knot, clipped");
    assertThrows(IllegalArgumentException.class,
        () -> new StackedProbe.Isotonic(new double[] {0.2, 0.1}, new double[] {0, 1}), "x must increase");
    assertThrows(IllegalArgumentException.class,
        () -> new StackedProbe.Isotonic(new double[] {0.1, 0.2}, new double[] {0.5, 0.4}), "y must not decrease");
  }

  /** Members on taps {1} and {2, 0} (with the log-probability), the served probe on tap 1; two folds. */
  static StackedProbe stack(Random random) {
    List<Probe.RecordFeature> lp = List.of(Probe.RecordFeature.LOGPROB);
    Probe a = new Probe(Probe.Reads.TARGET, new int[] {1}, HIDDEN, List.of(), ProbeTest.WIDTH, true,
        List.of(ProbeTest.head(random, HIDDEN), ProbeTest.head(random, HIDDEN)), ProbeTest.MODEL, null);
    Probe b = new Probe(Probe.Reads.TARGET, new int[] {2, 0}, HIDDEN, lp, ProbeTest.WIDTH, true,
        List.of(ProbeTest.head(random, 2 * HIDDEN + 1), ProbeTest.head(random, 2 * HIDDEN + 1)), ProbeTest.MODEL,
        null);
    Probe served = new Probe(Probe.Reads.TARGET, new int[] {1}, HIDDEN, lp, ProbeTest.WIDTH, true,
        List.of(ProbeTest.head(random, HIDDEN + 1)), ProbeTest.MODEL, null);
    List<StackedProbe.Fold> folds = new ArrayList<>();
    for (int f = 0; f < 2; f++) {
      double[] mean = new double[8];
      double[] scale = new double[8];
      double[] beta = new double[9];
      for (int j = 0; j < 8; j++) {
        mean[j] = random.nextGaussian();
        scale[j] = 0.5 + random.nextDouble();
        beta[j] = 0.05 * random.nextGaussian(); // small: the regression stays off its flat ends
      }
      beta[7] = 0.8; // the code line's index counts
      beta[8] = 0.1 * random.nextGaussian();
      folds.add(new StackedProbe.Fold(new StackedProbe.Logistic(mean, scale, beta),
          new StackedProbe.Isotonic(new double[] {0.05, 0.5, 0.95}, new double[] {0.1, 0.3 + 0.2 * f, 0.9})));
    }
    return new StackedProbe(served, List.of(a, b), List.of("target:tap1", "target:taps2,0+logprob"), folds);
  }

  @Test
  void aLinesProbabilityIsTheFoldsPipelinesMean() {
    Random random = new Random(8);
    StackedProbe stack = stack(random);
    assertArrayEquals(new int[] {0, 1, 2}, stack.taps(), "every tap a member reads, ascending");
    List<TokenRecord> line = new ArrayList<>();
    List<float[][]> byTap = new ArrayList<>(); // per token: its states at taps 0, 1, 2
    for (int i = 0; i < 3; i++) {
      float[][] h = {ProbeTest.hidden(random), ProbeTest.hidden(random), ProbeTest.hidden(random)};
      byTap.add(h);
      float[] record = new float[3 * HIDDEN];
      for (int t = 0; t < 3; t++) {
        System.arraycopy(h[t], 0, record, t * HIDDEN, HIDDEN);
      }
      line.add(ProbeTest.record(i == 2 ? "\n" : "x" + i, record, -0.1 * (i + 1), 0.4 + 0.1 * i));
    }
    double[] logprob = {-0.1, -0.2, -0.3};
    double[] entropy = {0.4, 0.5, 0.6};
    double expected = 0;
    for (int f = 0; f < 2; f++) {
      List<float[]> aInputs = new ArrayList<>();
      List<float[]> bInputs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        aInputs.add(byTap.get(i)[1]);
        float[] x = new float[2 * HIDDEN + 1];
        System.arraycopy(byTap.get(i)[2], 0, x, 0, HIDDEN);
        System.arraycopy(byTap.get(i)[0], 0, x, HIDDEN, HIDDEN);
        x[2 * HIDDEN] = (float) logprob[i];
        bInputs.add(x);
      }
      Probe a = stack.members().get(0);
      Probe b = stack.members().get(1);
      double[] row = new double[8];
      row[0] = a.logit(a.heads().get(f), aInputs);
      row[1] = b.logit(b.heads().get(f), bInputs);
      System.arraycopy(StackedProbe.lineFeatures(logprob, entropy, 3), 0, row, 2, 6);
      StackedProbe.Fold fold = stack.folds().get(f);
      expected += fold.calibration().apply(fold.head().probability(row)) / 2;
    }
    double p = stack.line(line, 3);
    assertEquals(expected, p, 1e-12);
    assertTrue(p > 0 && p < 1);
    assertNotEquals(p, stack.line(line, 0), "where the line stands is one of its features");
    assertEquals(stack.served().token(line.get(0)), stack.token(line.get(0)), 0.0, "tokens: the served probe");
    assertEquals(stack.served().response(line), stack.response(line), 0.0, "the response: the served probe");
  }

  @Test
  void whatIsNotMeasuredIsNaN() {
    Random random = new Random(9);
    StackedProbe stack = stack(random);
    float[] record = new float[3 * HIDDEN];
    assertTrue(Double.isNaN(stack.line(List.of(ProbeTest.record("  \n", record, -0.1, 0.2)), 0)), "a blank line");
    assertTrue(Double.isNaN(stack.line(List.of(ProbeTest.record("x", record, -0.1, 0.2),
        ProbeTest.record("y", null, -0.1, 0.2)), 0)), "a record without its hidden states");
    assertTrue(Double.isNaN(stack.line(List.of(), 0)), "no tokens");
  }

  @Test
  void membersMustFitTheStack() {
    Random random = new Random(10);
    StackedProbe good = stack(random);
    List<StackedProbe.Fold> oneFold = good.folds().subList(0, 1);
    assertThrows(IllegalArgumentException.class, () -> new StackedProbe(good.served(), good.members(),
        good.memberNames(), oneFold), "two heads a member, one fold");
    assertThrows(IllegalArgumentException.class, () -> new StackedProbe(good.served(), good.members(),
        List.of("one name"), good.folds()), "a name each");
  }
}
