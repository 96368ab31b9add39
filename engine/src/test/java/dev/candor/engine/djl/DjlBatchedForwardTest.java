package dev.candor.engine.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Config.Architecture;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitSummary;
import dev.candor.engine.testing.NativeArrays;
import dev.candor.engine.testing.TestCheckpoints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The DJL backend's batched forward against its entries run alone ({@link BatchEntry#runAlone}): logits, summaries,
 * taps and the caches they leave, over a mix of decode steps, a 5-token verification and a 40-token prefill chunk, on
 * a Qwen2 shape (q/k/v biases) and a Qwen3 shape (q_norm/k_norm; heads × head_dim unlike hidden_size). Not bit for
 * bit as on the Java backend: PyTorch's float32 products may sum in another order over more rows. Measured here
 * (2-core AMD EPYC, PyTorch 2.7.1 CPU, 2026-12-02): the largest |Δ| was 4.6e-7 of the logit range and 6.7e-7 of the
 * largest |tap| (a few float32 ulps); the test allows {@link #BOUND}, about 7 times that.
 */
class DjlBatchedForwardTest {
  /** The largest |Δ| allowed, as a fraction of the row's logit range or of its largest |tap|. */
  static final double BOUND = 5e-6;

  static Path checkpoint(Architecture architecture) {
    Qwen2Config c = architecture == Architecture.QWEN2 ? TestCheckpoints.tiny(99, false)
        : Qwen2Config.of(architecture, 40, 37, 3, 3, 1, 16, 1e-6, 10000.0, 99, 512, true, DType.F32);
    return TestCheckpoints.write("djl-batch-" + architecture, c, 23, DType.F32, 0, null);
  }

  /** One entry of the mix: a prefix already in the cache, then {@code tokens} new ones with {@code rows} rows back. */
  record Spec(int prefix, int tokens, int rows, boolean summaries, int[] taps) {
    @Override
    public String toString() {
      return tokens + " tokens after " + prefix + ", " + rows + (summaries ? " summaries" : " rows") + ", taps "
          + Arrays.toString(taps);
    }
  }

  /** Decode steps at several positions (one with taps), a 5-token verification, a 40-token prefill chunk. */
  static List<Spec> mix(int layers) {
    return List.of(new Spec(9, 1, 1, false, new int[0]), new Spec(0, 40, 1, false, new int[] {0, layers}),
        new Spec(17, 5, 5, false, new int[] {1}), new Spec(3, 1, 1, true, new int[0]),
        new Spec(30, 1, 1, false, new int[] {layers, 2}), new Spec(12, 40, 0, false, new int[0]),
        new Spec(6, 5, 5, true, new int[0]), new Spec(50, 1, 1, false, new int[0]));
  }

  /** Twin sequences: one runs in the batch, the other alone; both start from the same prefix. */
  record Twins(List<Sequence> batched, List<Sequence> alone, List<BatchEntry> batch, List<BatchEntry> singles) {}

  static Twins twins(DjlBackend backend, List<Spec> specs, SplittableRandom random) {
    Twins t = new Twins(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    int vocab = backend.config().vocabSize();
    for (Spec spec : specs) {
      int[] prefix = random.ints(spec.prefix(), 0, vocab).toArray();
      int[] tokens = random.ints(spec.tokens(), 0, vocab).toArray();
      Sequence a = backend.newSequence(128);
      Sequence b = backend.newSequence(128);
      if (prefix.length > 0) {
        a.forward(prefix, 0);
        b.forward(prefix, 0);
      }
      t.batched().add(a);
      t.alone().add(b);
      t.batch().add(new BatchEntry(a, tokens, spec.rows(), spec.summaries(), spec.taps()));
      t.singles().add(new BatchEntry(b, tokens, spec.rows(), spec.summaries(), spec.taps()));
    }
    return t;
  }

  @ParameterizedTest
  @EnumSource(value = Architecture.class, names = {"QWEN2", "QWEN3"})
  void eachEntryOfABatchGetsWhatItGetsAloneAndContinuesSo(Architecture architecture) throws Exception {
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint(architecture));
        DjlBackend backend = DjlBackend.load(checkpoint, "cpu")) {
      List<Spec> specs = mix(backend.config().numHiddenLayers());
      Twins t = twins(backend, specs, new SplittableRandom(5));
      int arrays = NativeArrays.live(backend);

      List<Forward> together = backend.forward(t.batch());
      Difference d = new Difference();
      for (int e = 0; e < specs.size(); e++) {
        String what = architecture + " entry " + e + " " + specs.get(e);
        d.compare(t.singles().get(e).runAlone(), together.get(e), what);
        assertEquals(t.alone().get(e).length(), t.batched().get(e).length(), what);
      }
      // the caches the batch left hold the right positions: continuing each sequence alone, a decode step and a
      // 3-token verification, gives what the twin that never shared a batch gives
      for (int e = 0; e < specs.size(); e++) {
        String what = architecture + " after the batch, entry " + e;
        int[] next = {e + 1, 2 * e + 3, 7, 11};
        d.compare(t.alone().get(e).forward(new int[] {next[0]}, 1, 1), t.batched().get(e).forward(new int[] {next[0]}, 1, 1), what);
        int[] verify = {next[1], next[2], next[3]};
        d.compare(t.alone().get(e).forward(verify, 3), t.batched().get(e).forward(verify, 3), what);
      }
      System.out.printf(Locale.ROOT, "%s: batched vs alone, max |Δ| %.3g of the logit range, %.3g of the largest |tap|%n",
          architecture, d.logits, d.taps);
      assertTrue(d.logits <= BOUND && d.taps <= BOUND, architecture + ": " + d.logits + ", " + d.taps + " > " + BOUND);
      assertEquals(arrays, NativeArrays.live(backend), "the batched forward left arrays behind");
      t.batched().forEach(Sequence::close);
      t.alone().forEach(Sequence::close);
    }
  }

  /** The largest differences seen, relative to the logit range and to the largest |tap| of the expected side. */
  static final class Difference {
    double logits;
    double taps;

    void compare(Forward expected, Forward actual, String what) {
      if (expected.summaries() != null) {
        assertNull(actual.logits(), what);
        for (int r = 0; r < expected.summaries().length; r++) {
          summary(expected.summaries()[r], actual.summaries()[r], what + ", row " + r);
        }
      } else {
        assertNull(actual.summaries(), what);
        assertEquals(expected.logits().length, actual.logits().length, what);
        for (int r = 0; r < expected.logits().length; r++) {
          float[] e = expected.logits()[r];
          logits = Math.max(logits, maxDiff(e, actual.logits()[r]) / range(e));
        }
      }
      assertEquals(expected.taps().length, actual.taps().length, what);
      for (int i = 0; i < expected.taps().length; i++) {
        assertEquals(expected.taps()[i].length, actual.taps()[i].length, what);
        for (int p = 0; p < expected.taps()[i].length; p++) {
          float[] e = expected.taps()[i][p];
          taps = Math.max(taps, maxDiff(e, actual.taps()[i][p]) / maxAbs(e));
        }
      }
    }

    /**
     * A summary from logits within BOUND of the logit range: the log partition and the top logit move by at most the
     * largest logit difference (both are 1-Lipschitz in it); the argmax may differ only between near-tied tokens.
     */
    private void summary(LogitSummary expected, LogitSummary actual, String what) {
      double scale = expected.topLogits()[0] - expected.topLogits()[expected.topLogits().length - 1];
      double allowed = BOUND * Math.max(scale, 1e-3);
      assertTrue(Math.abs(expected.logPartition() - actual.logPartition()) <= allowed, what + " log partition");
      assertTrue(Math.abs(expected.topLogits()[0] - actual.topLogits()[0]) <= allowed, what + " top logit");
      assertTrue(Math.abs(expected.entropy() - actual.entropy()) <= 10 * allowed, what + " entropy");
      if (expected.argmax() != actual.argmax()) {
        assertTrue(expected.topLogits()[0] - expected.topLogits()[1] <= 2 * allowed, what + " argmax of no near tie");
      }
      logits = Math.max(logits, Math.abs(expected.logPartition() - actual.logPartition()) / Math.max(scale, 1e-3));
    }
  }

  @Test
  void aBadEntryIsRefusedBeforeAnythingRunsAndNoCacheChanges() throws Exception {
    Path dir = checkpoint(Architecture.QWEN2);
    try (Checkpoint checkpoint = Checkpoint.open(dir); DjlBackend backend = DjlBackend.load(checkpoint, "cpu");
        DjlBackend other = DjlBackend.load(checkpoint, "cpu"); JavaBackend java = JavaBackend.load(checkpoint);
        Sequence a = backend.newSequence(16); Sequence twin = backend.newSequence(16);
        Sequence b = backend.newSequence(4); Sequence c = other.newSequence(8); Sequence j = java.newSequence(8)) {
      a.forward(new int[] {1, 2}, 0);
      twin.forward(new int[] {1, 2}, 0);
      int arrays = NativeArrays.live(backend);
      int vocab = backend.config().vocabSize();
      BatchEntry good = new BatchEntry(a, new int[] {3}, 1, false, new int[0]);
      List<List<BatchEntry>> bad = List.of(
          List.of(good, new BatchEntry(b, new int[] {vocab}, 1, false, new int[0])), // a token outside the vocabulary
          List.of(good, new BatchEntry(b, new int[] {1, 2, 3, 4, 5}, 1, false, new int[0])), // past b's capacity
          List.of(good, new BatchEntry(b, new int[] {1}, 2, false, new int[0])), // more rows than tokens
          List.of(good, new BatchEntry(b, new int[] {1}, 1, false, new int[] {99})), // a tap past the layers
          List.of(good, new BatchEntry(a, new int[] {4}, 1, false, new int[0])), // one sequence twice
          List.of(good, new BatchEntry(c, new int[] {4}, 1, false, new int[0])), // another DJL backend's sequence
          List.of(good, new BatchEntry(j, new int[] {4}, 1, false, new int[0]))); // the Java backend's
      for (List<BatchEntry> batch : bad) {
        var e = assertThrows(IllegalArgumentException.class, () -> backend.forward(batch));
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        assertEquals(2, a.length(), e.getMessage());
        assertEquals(0, b.length(), e.getMessage());
        assertEquals(0, c.length(), e.getMessage());
      }
      assertEquals(arrays, NativeArrays.live(backend), "a refused batch left arrays behind");
      assertEquals(List.of(), backend.forward(List.of()));
      // a's cache is as its twin's, which never saw a refused batch: the next step agrees bit for bit
      float[] expected = twin.decode(3);
      float[] actual = a.decode(3);
      assertEquals(0.0, maxDiff(expected, actual), "a's next step after the refused batches");
    }
  }

  static double maxDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((double) a[i] - b[i]));
    }
    return max;
  }

  static double range(float[] a) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (float v : a) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return hi - lo;
  }

  static double maxAbs(float[] a) {
    double max = 0;
    for (float v : a) {
      max = Math.max(max, Math.abs(v));
    }
    return max;
  }
}
