package dev.candor.probes.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.confidence.Probe;
import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.sampling.TokenDistribution;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ONNX export scores exactly as the Java probe: random probes (both poolings, non-trivial Platt scaling) are
 * exported, loaded in ONNX Runtime and compared set by set with {@link Probe#logit} and {@link Probe.Platt#apply}.
 *
 * <p>Tolerances. The Java probe accumulates W·h and the output dot product in double; ONNX Runtime works in float32
 * (unit roundoff 6e-8). With hidden 48 and width 32, pre-activations of order 1–3 and logits of order 1–10, the float
 * rounding of the two dot products, GELU's erf and the pooling leaves the logit off by a few 1e-6 (4.4e-6 measured),
 * so 1e-4 has over an order of margin and still catches any wrong weight, transpose or masking (those move logits by
 * 1e-2 or more). A probability moves by at most |a|/4 times the logit's error (sigmoid' ≤ 1/4), plus the float
 * rounding of a, b and p itself (~1e-7): ~1e-6 expected (5e-7 measured), 1e-5 asserted.
 */
class OnnxExportTest {
  private static final int HIDDEN = 48;
  private static final int WIDTH = 32;
  private static final double LOGIT_TOLERANCE = 1e-4;
  private static final double PROBABILITY_TOLERANCE = 1e-5;

  @TempDir Path dir;

  /** A probe with Gaussian weights scaled so that pre-activations span GELU's curved region, |z| up to ~4. */
  static Probe randomProbe(long seed, boolean maxPool) {
    Random random = new Random(seed);
    float[] projWeight = gaussian(random, WIDTH * HIDDEN, 1.5 / Math.sqrt(HIDDEN)); // [width, hidden]
    float[] projBias = gaussian(random, WIDTH, 0.5); // [width]
    float[] outWeight = gaussian(random, WIDTH, 1.0); // [width]
    float outBias = (float) random.nextGaussian();
    Probe.Platt[] platt = { // by Level ordinal: token, line, response
        new Probe.Platt(1.3, -0.4), new Probe.Platt(0.7, 0.25), new Probe.Platt(-0.9, 1.1)};
    return new Probe(7, HIDDEN, WIDTH, maxPool, projWeight, projBias, outWeight, outBias, platt, "test-fingerprint",
        null);
  }

  static float[] gaussian(Random random, int n, double std) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) (random.nextGaussian() * std);
    }
    return values;
  }

  static float[][] hiddenStates(long seed, int tokens) {
    Random random = new Random(seed);
    float[][] hidden = new float[tokens][];
    for (int n = 0; n < tokens; n++) {
      hidden[n] = gaussian(random, HIDDEN, 1.0);
    }
    return hidden;
  }

  private Path export(Probe probe, String name) throws IOException {
    Path file = dir.resolve(name);
    OnnxExport.write(probe, file);
    return file;
  }

  /** Sets as index lists: every single token, a few lines (contiguous and not), the whole sequence. */
  static List<int[]> sets(int tokens, long seed) {
    Random random = new Random(seed);
    List<int[]> sets = new ArrayList<>();
    for (int n = 0; n < tokens; n++) {
      sets.add(new int[] {n});
    }
    sets.add(new int[] {0, 1, 2});
    sets.add(new int[] {3, 4, 5, 6, 7});
    sets.add(new int[] {tokens - 2, tokens - 1});
    for (int k = 0; k < 4; k++) { // scattered subsets of 2..6 tokens
      int size = 2 + random.nextInt(5);
      sets.add(random.ints(0, tokens).distinct().limit(size).sorted().toArray());
    }
    sets.add(java.util.stream.IntStream.range(0, tokens).toArray());
    return sets;
  }

  @ParameterizedTest(name = "maxPool={0}")
  @ValueSource(booleans = {true, false})
  void onnxScoresAsTheJavaProbe(boolean maxPool) throws Exception {
    Probe probe = randomProbe(maxPool ? 11 : 12, maxPool);
    int tokens = 17;
    float[][] hidden = hiddenStates(21, tokens);
    List<int[]> sets = sets(tokens, 31);
    float[][] mask = new float[sets.size()][tokens];
    for (int s = 0; s < sets.size(); s++) {
      for (int n : sets.get(s)) {
        mask[s][n] = 1;
      }
    }

    double maxLogit = 0;
    double maxProbability = 0;
    try (OnnxProbe onnx = new OnnxProbe(export(probe, "probe.onnx"))) {
      assertEquals(HIDDEN, onnx.hiddenSize());
      double[][] scores = onnx.score(hidden, mask);
      assertEquals(sets.size(), scores.length);
      for (int s = 0; s < sets.size(); s++) {
        List<float[]> set = new ArrayList<>();
        for (int n : sets.get(s)) {
          set.add(hidden[n]);
        }
        double logit = probe.logit(set);
        double logitError = Math.abs(logit - scores[s][OnnxProbe.LOGIT]);
        assertTrue(logitError < LOGIT_TOLERANCE, "set " + s + ": java " + logit + ", onnx " + scores[s][0]);
        maxLogit = Math.max(maxLogit, logitError);
        for (Probe.Level level : Probe.Level.values()) {
          double p = probe.platt(level).apply(logit);
          double pError = Math.abs(p - scores[s][OnnxProbe.column(level)]);
          assertTrue(pError < PROBABILITY_TOLERANCE, "set " + s + " " + level + ": java " + p + ", onnx "
              + scores[s][OnnxProbe.column(level)]);
          maxProbability = Math.max(maxProbability, pError);
        }
      }
    }
    System.out.printf("maxPool=%s: %d sets, max |Δlogit| = %.3g, max |Δp| = %.3g%n", maxPool, sets.size(), maxLogit,
        maxProbability);
  }

  @ParameterizedTest(name = "maxPool={0}")
  @ValueSource(booleans = {true, false})
  void checkReportsAgreementOnSharedHiddenStates(boolean maxPool) throws Exception {
    Probe probe = randomProbe(41, maxPool);
    float[][] hidden = hiddenStates(42, 9);
    List<List<float[]>> sets = new ArrayList<>();
    for (float[] h : hidden) {
      sets.add(List.of(h)); // tokens
    }
    sets.add(List.of(hidden[0], hidden[1], hidden[2], hidden[3])); // a line
    sets.add(List.of(hidden[4], hidden[5], hidden[6], hidden[7], hidden[8])); // another
    sets.add(List.of(hidden)); // the response
    try (OnnxProbe onnx = new OnnxProbe(export(probe, "probe.onnx"))) {
      OnnxCheck.Difference difference = OnnxCheck.compare(probe, onnx, sets);
      System.out.println("maxPool=" + maxPool + ": " + difference);
      assertEquals(sets.size(), difference.sets());
      assertTrue(difference.logit() < LOGIT_TOLERANCE, difference.toString());
      assertTrue(difference.probability() < PROBABILITY_TOLERANCE, difference.toString());
      assertEquals(difference.max(), OnnxCheck.maxAbsDifference(probe, onnx, sets));
    }
  }

  @Test
  void checkNoticesAProbeThatIsNotTheExportedOne() throws Exception {
    Probe exported = randomProbe(51, true);
    Probe other = randomProbe(52, true);
    float[][] hidden = hiddenStates(53, 5);
    List<List<float[]>> sets = List.of(List.of(hidden[0]), List.of(hidden));
    try (OnnxProbe onnx = new OnnxProbe(export(exported, "probe.onnx"))) {
      assertTrue(OnnxCheck.maxAbsDifference(other, onnx, sets) > 1e-2);
    }
  }

  @ParameterizedTest(name = "maxPool={0}")
  @ValueSource(booleans = {true, false})
  void maskOfOneTokenIsTheTokenScore(boolean maxPool) throws Exception {
    Probe probe = randomProbe(61, maxPool);
    int tokens = 6;
    float[][] hidden = hiddenStates(62, tokens);
    try (OnnxProbe onnx = new OnnxProbe(export(probe, "probe.onnx"))) {
      for (int n = 0; n < tokens; n++) {
        float[][] mask = new float[1][tokens];
        mask[0][n] = 1;
        double inSequence = onnx.score(hidden, mask)[0][OnnxProbe.column(Probe.Level.TOKEN)];
        double alone = onnx.score(new float[][] {hidden[n]}, new float[][] {{1}})[0][OnnxProbe.column(
            Probe.Level.TOKEN)];
        double java = probe.token(record(hidden[n]));
        // the other tokens are masked out exactly (z + 0 inside, −1e9 outside; 0 · z for the mean) ...
        assertEquals(alone, inSequence, 1e-6, "token " + n);
        // ... and the token level's Platt scaling is the one applied
        assertEquals(java, inSequence, PROBABILITY_TOLERANCE, "token " + n);
      }
    }
  }

  @Test
  void maxPoolingIgnoresTokensOutsideTheSetEvenWhenAllInsideAreNegative() throws Exception {
    // A set whose GELU outputs are all negative in some channel: a mask that multiplied instead of penalising would
    // let the outside tokens' 0 win the max. Single-token sets of random states have many such channels.
    Probe probe = randomProbe(71, true);
    float[][] hidden = hiddenStates(72, 4);
    try (OnnxProbe onnx = new OnnxProbe(export(probe, "probe.onnx"))) {
      float[][] mask = {{0, 1, 0, 0}, {0, 0, 1, 1}};
      double[][] scores = onnx.score(hidden, mask);
      assertEquals(probe.logit(List.of(hidden[1])), scores[0][OnnxProbe.LOGIT], LOGIT_TOLERANCE);
      assertEquals(probe.logit(List.of(hidden[2], hidden[3])), scores[1][OnnxProbe.LOGIT], LOGIT_TOLERANCE);
    }
  }

  @Test
  void exportIsDeterministic() throws Exception {
    Probe probe = randomProbe(81, true);
    byte[] first = Files.readAllBytes(export(probe, "a.onnx"));
    byte[] second = Files.readAllBytes(export(randomProbe(81, true), "b.onnx"));
    assertArrayEquals(first, second);
    assertArrayEquals(first, OnnxExport.toBytes(probe));

    float[][] hidden = hiddenStates(82, 5);
    float[][] mask = {{1, 0, 0, 0, 0}, {0, 1, 1, 0, 0}, {1, 1, 1, 1, 1}};
    double[][] scoresA;
    double[][] scoresB;
    try (OnnxProbe onnx = new OnnxProbe(dir.resolve("a.onnx"))) {
      scoresA = onnx.score(hidden, mask);
    }
    try (OnnxProbe onnx = new OnnxProbe(dir.resolve("b.onnx"))) {
      scoresB = onnx.score(hidden, mask);
    }
    for (int s = 0; s < mask.length; s++) {
      assertArrayEquals(scoresA[s], scoresB[s], 0.0, "set " + s);
    }
  }

  @Test
  void exportCarriesTheProbesIdentity() throws Exception {
    try (OnnxProbe onnx = new OnnxProbe(export(randomProbe(91, false), "probe.onnx"))) {
      var metadata = onnx.metadata();
      assertEquals("7", metadata.get("candor.tap"));
      assertEquals("48", metadata.get("candor.hidden_size"));
      assertEquals("mean", metadata.get("candor.pooling"));
      assertEquals("test-fingerprint", metadata.get("candor.model_fingerprint"));
    }
  }

  private static TokenRecord record(float[] hidden) {
    return new TokenRecord(0, 0, new byte[0], 0, 0, 0, new TokenDistribution.Alternative[0], Source.TARGET, Double.NaN,
        -1, Double.NaN, hidden);
  }
}
