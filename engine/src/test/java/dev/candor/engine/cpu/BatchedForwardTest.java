package dev.candor.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.model.WeightFormat;
import dev.candor.engine.testing.Forwards;
import dev.candor.engine.testing.TestCheckpoints;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java backend's batched forward against its entries run alone ({@link BatchEntry#runAlone}), bit for bit: logits,
 * summaries, taps and the caches they leave, at every weight format and thread count, over a mix of decode steps,
 * verifications and prefill chunks of different lengths and positions whose rows fill more than two chunks of the
 * pass, so entries are cut across chunks at other places than alone. And under it, what makes that true: a row of a
 * product gives the same bits whatever rows share its call and wherever it sits among them.
 */
class BatchedForwardTest {
  /** Large enough that the products and the lm_head run in parallel (JavaBackendTest's). */
  static final Qwen2Config WIDE = JavaBackendTest.WIDE;

  /** (shape, --weights, threads): f32, bf16 and q8_0 each on a small shape alone and a wide one on three threads. */
  static Stream<Arguments> cases() {
    List<Arguments> all = new ArrayList<>();
    for (WeightFormat format : List.of(WeightFormat.F32, WeightFormat.BF16, WeightFormat.Q8_0)) {
      all.add(Arguments.of("lanes", format, 1));
      all.add(Arguments.of("wide", format, 3));
    }
    all.add(Arguments.of("odd", WeightFormat.F32, 2));
    return all.stream();
  }

  static Path checkpoint(String shape) {
    return switch (shape) {
      case "lanes" -> JavaBackendTest.checkpoint(JavaBackendTest.LANES, DType.BF16);
      case "odd" -> JavaBackendTest.checkpoint(JavaBackendTest.ODD, DType.F32);
      default -> TestCheckpoints.write("cpu-heap-bf16", WIDE, 9, 0.02, DType.BF16, 0, null);
    };
  }

  /** One entry of the mix: a prefix already in the cache, then {@code tokens} new ones with {@code rows} rows back. */
  record Spec(int prefix, int tokens, int rows, boolean summaries, int[] taps) {}

  /**
   * 172 rows: decode steps at different positions, verifications of 3 and 5 drafts (one as summaries), a prefill
   * chunk with no rows, a 70-token prompt from position 0 with its last row, and one with a probe's taps.
   */
  static List<Spec> mix(int layers) {
    return List.of(new Spec(9, 1, 1, false, new int[0]), new Spec(30, 4, 4, false, new int[0]),
        new Spec(0, 70, 1, false, new int[] {0, layers}), new Spec(3, 1, 1, true, new int[0]),
        new Spec(17, 6, 6, true, new int[] {1}), new Spec(41, 38, 0, false, new int[0]),
        new Spec(66, 1, 1, false, new int[] {layers, 1}), new Spec(1, 51, 51, false, new int[0]));
  }

  @ParameterizedTest(name = "{0} shape, --weights {1}, {2} threads")
  @MethodSource("cases")
  void eachEntryOfABatchGetsWhatItGetsAloneBitForBit(String shape, WeightFormat format, int threads) {
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint(shape));
        JavaBackend backend = JavaBackend.load(checkpoint, format, threads)) {
      Qwen2Config c = backend.config();
      List<Spec> specs = mix(c.numHiddenLayers());
      SplittableRandom random = new SplittableRandom(11);
      List<Sequence> batched = new ArrayList<>();
      List<Sequence> alone = new ArrayList<>();
      List<BatchEntry> batch = new ArrayList<>();
      List<BatchEntry> singles = new ArrayList<>();
      int rows = 0;
      for (Spec spec : specs) {
        int[] prefix = random.ints(spec.prefix(), 0, c.vocabSize()).toArray();
        int[] tokens = random.ints(spec.tokens(), 0, c.vocabSize()).toArray();
        Sequence a = backend.newSequence(160);
        Sequence b = backend.newSequence(160);
        if (prefix.length > 0) {
          a.forward(prefix, 0);
          b.forward(prefix, 0);
        }
        batched.add(a);
        alone.add(b);
        batch.add(new BatchEntry(a, tokens, spec.rows(), spec.summaries(), spec.taps()));
        singles.add(new BatchEntry(b, tokens, spec.rows(), spec.summaries(), spec.taps()));
        rows += tokens.length;
      }
      assertTrue(rows > 2 * JavaBackend.CHUNK, rows + " rows: more than two chunks of the pass");

      List<Forward> together = backend.forward(batch);
      for (int e = 0; e < specs.size(); e++) {
        String what = "entry " + e + " " + specs.get(e);
        Forwards.assertIdentical(singles.get(e).runAlone(), together.get(e), what);
        assertEquals(alone.get(e).length(), batched.get(e).length(), what);
      }
      // the caches the batch left are the ones the entries left alone: the next step agrees everywhere
      List<BatchEntry> next = new ArrayList<>();
      for (int e = 0; e < specs.size(); e++) {
        next.add(new BatchEntry(batched.get(e), new int[] {e + 1}, 1, false, new int[0]));
      }
      List<Forward> after = backend.forward(next);
      for (int e = 0; e < specs.size(); e++) {
        assertArrayEquals(alone.get(e).decode(e + 1), after.get(e).logits()[0], 0f, "the step after, entry " + e);
      }
    }
  }

  /**
   * Why the batch can equal the entries alone: a row of x gives the same bits of x · Wᵀ wherever it sits in a call
   * (first, among a 4 × 4 tile's tokens, in the tokens left after the tiles) and whatever other rows share the call,
   * at every format, on one thread and three.
   */
  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void aProductRowDoesNotDependOnTheRowsBesideIt(WeightFormat format) {
    int rows = 45;
    int cols = 512 + 3 * Vectors.LANES + 5;
    for (int threads : new int[] {1, 3}) {
      try (Arena arena = Arena.ofShared(); Parallel parallel = new Parallel(threads)) {
        Matrix m = KernelsTest.matrix(format, rows, cols, arena, 5).matrix();
        Gemm gemm = new Gemm(parallel);
        float[] row = KernelsTest.uniform(cols, 77);
        float[] bias = KernelsTest.uniform(rows, 78);
        float[] alone = new float[rows];
        gemm.run(row, 1, new Gemm.Product(m, bias, alone, false));
        for (int n : new int[] {2, 3, 4, 5, 8, 13, 64, 65, 130}) {
          for (int at : new int[] {0, n / 2, n - 1}) {
            float[] x = KernelsTest.uniform(n * cols, 1000L * n + at);
            System.arraycopy(row, 0, x, at * cols, cols);
            float[] out = new float[n * rows];
            gemm.run(x, n, new Gemm.Product(m, bias, out, false));
            float[] got = Arrays.copyOfRange(out, at * rows, (at + 1) * rows);
            assertArrayEquals(alone, got, 0f, format + ", " + threads + " threads: row " + at + " of " + n);
          }
        }
      }
    }
  }

  @Test
  void aBadEntryIsRefusedBeforeAnythingRunsAndNoCacheChanges() {
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint("lanes"));
        JavaBackend backend = JavaBackend.load(checkpoint, null, 1);
        JavaBackend other = JavaBackend.load(checkpoint, null, 1);
        Sequence a = backend.newSequence(16); Sequence b = backend.newSequence(4); Sequence c = other.newSequence(8)) {
      a.forward(new int[] {1, 2}, 0);
      int vocab = backend.config().vocabSize();
      BatchEntry good = new BatchEntry(a, new int[] {3}, 1, false, new int[0]);
      List<List<BatchEntry>> bad = List.of(
          List.of(good, new BatchEntry(b, new int[] {vocab}, 1, false, new int[0])), // a token outside the vocabulary
          List.of(good, new BatchEntry(b, new int[] {1, 2, 3, 4, 5}, 1, false, new int[0])), // past b's capacity
          List.of(good, new BatchEntry(b, new int[] {1}, 2, false, new int[0])), // more rows than tokens
          List.of(good, new BatchEntry(b, new int[] {1}, 1, false, new int[] {99})), // a tap past the layers
          List.of(good, new BatchEntry(a, new int[] {4}, 1, false, new int[0])), // one sequence twice
          List.of(good, new BatchEntry(c, new int[] {4}, 1, false, new int[0]))); // another backend's sequence
      for (List<BatchEntry> batch : bad) {
        var e = assertThrows(IllegalArgumentException.class, () -> backend.forward(batch));
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        assertEquals(2, a.length(), e.getMessage());
        assertEquals(0, b.length(), e.getMessage());
      }
      assertEquals(List.of(), backend.forward(List.of()));
    }
  }
}
