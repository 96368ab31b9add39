package dev.candor.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Config.Architecture;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.model.ForwardPassTest.Kind;
import dev.candor.engine.testing.TestCheckpoints;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The families beside Qwen2 (Qwen3: q/k norms, no biases; Llama and Mistral: no biases) through the Java and DJL
 * backends, against the plain-Java reference, with the cache invariants. The shape is odd in every dimension and its
 * heads × head_dim (48) is not its hidden size (40), as in Qwen3-0.6B (16 × 128 against 1024): a backend that sizes
 * q or o_proj by hidden_size fails here.
 */
class ArchitectureForwardTest {
  static Qwen2Config shape(Architecture architecture) {
    return Qwen2Config.of(architecture, 40, 37, 3, 3, 1, 16, 1e-6, 10000.0, 99, 512, true, DType.F32);
  }

  static Path checkpoint(Architecture architecture, DType dtype) {
    return TestCheckpoints.write("arch-" + architecture + "-" + dtype, shape(architecture), 13, dtype, 0, null);
  }

  static Stream<Arguments> cases() {
    return Stream.of(Architecture.QWEN3, Architecture.LLAMA, Architecture.MISTRAL)
        .flatMap(a -> Stream.of(Kind.values()).map(k -> Arguments.of(a, k)));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void theCheckpointHoldsExactlyTheFamilysTensors(Architecture architecture, Kind kind) {
    Qwen2Config c = shape(architecture);
    Qwen2Tensors.Layer<Qwen2Tensors.Spec> layer = Qwen2Tensors.layer(c, 0);
    assertNull(layer.qProjBias(), "no family but Qwen2 has q/k/v biases");
    assertEquals(architecture == Architecture.QWEN3, layer.qNorm() != null);
    if (layer.qNorm() != null) {
      assertEquals("model.layers.0.self_attn.q_norm.weight", layer.qNorm().name());
      assertArrayEquals(new long[] {16}, layer.kNorm().shape());
    }
    assertArrayEquals(new long[] {40, 48}, layer.oProj().shape());
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint(architecture, DType.F32))) {
      assertEquals(architecture, checkpoint.config().architecture(), "config.json round-trips the architecture");
      assertNotNull(checkpoint.weights());
    }
  }

  /** float32 compute against a double reference, as ForwardPassTest bounds Qwen2's. */
  @ParameterizedTest
  @MethodSource("cases")
  void logitsAndTapsMatchTheReference(Architecture architecture, Kind kind) {
    int[] tokens = ForwardPassTest.randomTokens(11, 99, 1);
    for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
      try (Checkpoint checkpoint = Checkpoint.open(checkpoint(architecture, dtype));
          Backend backend = kind.load(checkpoint); Sequence sequence = backend.newSequence(64)) {
        ReferenceQwen2 reference = new ReferenceQwen2(checkpoint.weights(), checkpoint.config());
        int[] taps = {0, 1, 2, 3};
        Forward forward = sequence.forward(tokens, tokens.length, taps);
        for (int i = 0; i < tokens.length; i++) {
          double[][] expected = reference.step(tokens[i]);
          double error = ForwardPassTest.maxRelativeError(expected[4], forward.logits()[i]);
          assertTrue(error < ForwardPassTest.TOLERANCE, dtype + " logits at " + i + ": relative error " + error);
          for (int t = 0; t < taps.length; t++) {
            double tapError = ForwardPassTest.maxRelativeError(expected[taps[t]], forward.taps()[t][i]);
            assertTrue(tapError < ForwardPassTest.TOLERANCE, dtype + " tap " + t + " at " + i + ": " + tapError);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void cachedDecodingEqualsOneForwardAndAVerifyEqualsSingleSteps(Architecture architecture, Kind kind) {
    int[] tokens = ForwardPassTest.randomTokens(20, 99, 2);
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint(architecture, DType.F32));
        Backend backend = kind.load(checkpoint); Sequence whole = backend.newSequence(32);
        Sequence cached = backend.newSequence(32); Sequence verified = backend.newSequence(32)) {
      float[][] all = whole.verify(tokens);
      assertArrayEquals(all[4], cached.prefill(Arrays.copyOf(tokens, 5)), 1e-5f);
      verified.prefill(Arrays.copyOf(tokens, 5));
      float[][] rows = verified.verify(Arrays.copyOfRange(tokens, 5, 10));
      // the Java backend computes a verified row exactly as a single step does: bit-identical
      float tolerance = kind == Kind.JAVA ? 0f : 1e-5f;
      for (int i = 5; i < tokens.length; i++) {
        float[] step = cached.decode(tokens[i]);
        assertArrayEquals(all[i], step, 1e-5f, "position " + i);
        if (i < 10) {
          assertArrayEquals(step, rows[i - 5], tolerance, "verified position " + i);
        }
      }
    }
  }
}
