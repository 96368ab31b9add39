package dev.candor.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.djl.DjlBackend;
import dev.candor.engine.testing.TestCheckpoints;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/**
 * Each backend's forward pass against the plain-Java reference, and the cache invariants every caller relies on:
 * cached equals uncached, a k-token forward equals k single steps, truncate-then-decode equals decoding fresh.
 */
class ForwardPassTest {
  /** The backends under test. */
  enum Kind {
    DJL, JAVA;

    Backend load(Checkpoint checkpoint) {
      return this == DJL ? DjlBackend.load(checkpoint, "cpu") : JavaBackend.load(checkpoint);
    }
  }

  static Stream<Arguments> dtypesAndBackends() {
    return Stream.of(DType.values()).flatMap(d -> Stream.of(Kind.values()).map(k -> Arguments.of(d, k)));
  }

  /** float32 compute against a double reference, over 3 layers of random weights with logits of order 1. */
  static final double TOLERANCE = 2e-5;

  static int[] randomTokens(int n, int vocab, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int[] tokens = new int[n];
    for (int i = 0; i < n; i++) {
      tokens[i] = random.nextInt(vocab);
    }
    return tokens;
  }

  static double maxRelativeError(double[] expected, float[] actual) {
    double scale = 0;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / Math.max(1, scale));
    }
    return worst;
  }

  @ParameterizedTest
  @MethodSource("dtypesAndBackends")
  void logitsAndTapsMatchTheReferenceInEachDtype(DType dtype, Kind kind) {
    Qwen2Config config = TestCheckpoints.tiny(99, dtype == DType.F16);
    Path dir = TestCheckpoints.write("tiny-" + dtype + "-tied" + (dtype == DType.F16), config, 7, dtype, 0, null);
    int[] tokens = randomTokens(11, 99, 1);
    try (Checkpoint checkpoint = Checkpoint.open(dir); Backend backend = kind.load(checkpoint);
        Sequence sequence = backend.newSequence(64)) {
      ReferenceQwen2 reference = new ReferenceQwen2(checkpoint.weights(), checkpoint.config());
      double[][][] expected = new double[tokens.length][][];
      for (int i = 0; i < tokens.length; i++) {
        expected[i] = reference.step(tokens[i]);
      }
      int[] taps = {0, 1, 2, 3};
      Forward forward = sequence.forward(tokens, tokens.length, taps);
      for (int i = 0; i < tokens.length; i++) {
        double error = maxRelativeError(expected[i][config.numHiddenLayers() + 1], forward.logits()[i]);
        assertTrue(error < TOLERANCE, "logits at position " + i + ": relative error " + error);
        for (int t = 0; t < taps.length; t++) {
          double tapError = maxRelativeError(expected[i][taps[t]], forward.taps()[t][i]);
          assertTrue(tapError < TOLERANCE, "tap " + taps[t] + " at position " + i + ": relative error " + tapError);
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void cachedDecodingEqualsRecomputingTheWholeSequence(Kind kind) {
    Qwen2Config config = TestCheckpoints.tiny(99, false);
    Path dir = TestCheckpoints.write("tiny-F32-tiedfalse", config, 7, DType.F32, 0, null);
    int[] tokens = randomTokens(20, 99, 2);
    try (Checkpoint checkpoint = Checkpoint.open(dir); Backend backend = kind.load(checkpoint)) {
      float[][] whole;
      try (Sequence s = backend.newSequence(32)) {
        whole = s.verify(tokens);
      }
      try (Sequence s = backend.newSequence(32)) {
        float[] first = s.prefill(java.util.Arrays.copyOf(tokens, 5));
        assertArrayEquals(whole[4], first, 1e-5f);
        for (int i = 5; i < tokens.length; i++) {
          assertArrayEquals(whole[i], s.decode(tokens[i]), 1e-5f, "position " + i);
        }
        assertEquals(tokens.length, s.length());
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aKTokenForwardEqualsKSingleSteps(Kind kind) {
    Qwen2Config config = TestCheckpoints.tiny(99, false);
    Path dir = TestCheckpoints.write("tiny-F32-tiedfalse", config, 7, DType.F32, 0, null);
    int[] prompt = randomTokens(9, 99, 3);
    int[] draft = randomTokens(5, 99, 4);
    try (Checkpoint checkpoint = Checkpoint.open(dir); Backend backend = kind.load(checkpoint);
        Sequence batched = backend.newSequence(32); Sequence single = backend.newSequence(32)) {
      batched.prefill(prompt);
      single.prefill(prompt);
      float[][] verified = batched.verify(draft);
      // the Java backend computes each token's row exactly as a single step does: bit-identical, not merely close
      float tolerance = kind == Kind.JAVA ? 0f : 1e-5f;
      for (int i = 0; i < draft.length; i++) {
        assertArrayEquals(single.decode(draft[i]), verified[i], tolerance, "draft position " + i);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void truncateThenDecodeEqualsDecodingFresh(Kind kind) {
    Qwen2Config config = TestCheckpoints.tiny(99, false);
    Path dir = TestCheckpoints.write("tiny-F32-tiedfalse", config, 7, DType.F32, 0, null);
    int[] prompt = randomTokens(8, 99, 5);
    int[] rejected = randomTokens(4, 99, 6);
    int[] next = randomTokens(3, 99, 7);
    try (Checkpoint checkpoint = Checkpoint.open(dir); Backend backend = kind.load(checkpoint);
        Sequence rolledBack = backend.newSequence(32); Sequence fresh = backend.newSequence(32)) {
      rolledBack.prefill(prompt);
      rolledBack.verify(rejected);
      rolledBack.truncate(prompt.length + 1);
      fresh.prefill(java.util.Arrays.copyOf(prompt, prompt.length));
      fresh.decode(rejected[0]);
      for (int token : next) {
        assertArrayEquals(fresh.decode(token), rolledBack.decode(token), 1e-5f);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void theBackendsAgreeOnALongerSequence(DType dtype) {
    Qwen2Config config = TestCheckpoints.tiny(99, dtype == DType.F16);
    Path dir = TestCheckpoints.write("tiny-" + dtype + "-tied" + (dtype == DType.F16), config, 7, dtype, 0, null);
    int[] tokens = randomTokens(120, 99, 8);
    try (Checkpoint checkpoint = Checkpoint.open(dir); Backend djl = Kind.DJL.load(checkpoint);
        Backend java = Kind.JAVA.load(checkpoint); Sequence a = djl.newSequence(128); Sequence b = java.newSequence(128)) {
      float[][] expected = a.forward(tokens, 120, 2).logits();
      float[][] actual = b.forward(tokens, 120, 2).logits();
      for (int i = 0; i < tokens.length; i++) {
        assertArrayEquals(expected[i], actual[i], 1e-4f, "position " + i);
      }
    }
  }
}
