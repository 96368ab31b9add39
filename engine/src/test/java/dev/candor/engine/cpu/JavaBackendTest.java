package dev.candor.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.CheckpointWriter;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.ReferenceQwen2;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.model.WeightFormat;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java backend at every weight format: against the plain-Java reference (ReferenceQwen2, double precision), and
 * the invariants its comments claim, checked bit for bit: a k-token forward equals k single steps, a long prompt in
 * chunks equals the same tokens one at a time, the thread count changes nothing, and a BF16 checkpoint is computed
 * with in place, not widened into the heap.
 */
class JavaBackendTest {
  /** Hugging Face's odd test shape: dimensions under a vector's width, a row of 37 (a partial q8_0 block). */
  static final Qwen2Config ODD = TestCheckpoints.tiny(99, false);
  /** Rows of whole vectors and a tail (hidden 96, intermediate 212), GQA 3:1, headDim 32, vocab 301. */
  static final Qwen2Config LANES = new Qwen2Config(96, 212, 2, 3, 1, 32, 1e-6, 10000.0, 301, 512, false, DType.F32);

  /** float32 compute against a double reference, over random weights with logits of order 1 (ForwardPassTest's). */
  static final double TOLERANCE = 2e-5;

  static Path checkpoint(Qwen2Config config, DType dtype) {
    String name = "cpu-" + config.hiddenSize() + "-" + dtype;
    return TestCheckpoints.write(name, config.withDtype(dtype), 7, dtype, 0, null);
  }

  static int[] tokens(int n, int vocab, long seed) {
    return new SplittableRandom(seed).ints(n, 0, vocab).toArray();
  }

  static double maxRelativeError(double[] expected, float[] actual) {
    double scale = 1;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / scale);
    }
    return worst;
  }

  /** (shape, checkpoint dtype, --weights): every format the backend computes with, each of its sources. */
  static Stream<Arguments> formats() {
    List<Arguments> all = new ArrayList<>();
    for (Qwen2Config shape : List.of(ODD, LANES)) {
      for (DType dtype : DType.values()) {
        all.add(Arguments.of(shape.hiddenSize(), dtype, "native"));
      }
      all.add(Arguments.of(shape.hiddenSize(), DType.BF16, "q8_0"));
      all.add(Arguments.of(shape.hiddenSize(), DType.F32, "q8_0"));
      all.add(Arguments.of(shape.hiddenSize(), DType.BF16, "f32"));
      all.add(Arguments.of(shape.hiddenSize(), DType.F32, "bf16"));
    }
    return all.stream();
  }

  static Qwen2Config shape(int hidden) {
    return hidden == ODD.hiddenSize() ? ODD : LANES;
  }

  @ParameterizedTest(name = "hidden {0}, {1} checkpoint, --weights {2}")
  @MethodSource("formats")
  void everyWeightFormatAgreesWithTheReference(int hidden, DType dtype, String weights) {
    Qwen2Config config = shape(hidden);
    WeightFormat format = WeightFormat.parse(weights);
    Path dir = checkpoint(config, dtype);
    // the reference runs on exactly the weights the backend holds: the checkpoint's, or their q8_0 or bf16 rounding
    Path reference = format == WeightFormat.Q8_0 || format == WeightFormat.BF16 ? rounded(dir, format) : dir;
    int[] input = tokens(11, config.vocabSize(), 1);
    try (Checkpoint checkpoint = Checkpoint.open(dir); JavaBackend backend = JavaBackend.load(checkpoint, format, 2);
        Checkpoint oracle = Checkpoint.open(reference); Sequence sequence = backend.newSequence(64)) {
      assertEquals(format == null ? WeightFormat.of(dtype) : format, backend.weightFormat());
      ReferenceQwen2 ref = new ReferenceQwen2(oracle.weights(), config, false);
      int[] taps = {0, 1, config.numHiddenLayers()};
      Forward forward = sequence.forward(input, input.length, taps);
      for (int i = 0; i < input.length; i++) {
        double[][] expected = ref.step(input[i]);
        double error = maxRelativeError(expected[config.numHiddenLayers() + 1], forward.logits()[i]);
        assertTrue(error < TOLERANCE, "logits at position " + i + ": relative error " + error);
        for (int t = 0; t < taps.length; t++) {
          double tapError = maxRelativeError(expected[taps[t]], forward.taps()[t][i]);
          assertTrue(tapError < TOLERANCE, "tap " + taps[t] + " at position " + i + ": relative error " + tapError);
        }
      }
    }
  }

  /**
   * The checkpoint with every matrix rounded to {@code format} and written back as float32: q8_0 by an independent
   * transcription of llama.cpp's quantize_row_q8_0_ref (not the backend's Q8_0), bf16 by round-to-nearest-even.
   */
  static Path rounded(Path dir, WeightFormat format) {
    Path out = dir.resolveSibling(dir.getFileName() + "-as-" + format.label());
    if (Files.exists(out.resolve("config.json"))) {
      return out;
    }
    try (Checkpoint c = Checkpoint.open(dir)) {
      List<CheckpointWriter.Entry> entries = new ArrayList<>();
      for (Qwen2Tensors.Spec spec : Qwen2Tensors.all(c.config())) {
        float[] values = c.weights().get(spec.name()).toFloatArray();
        if (spec.shape().length == 2) {
          int cols = (int) spec.shape()[1];
          for (int r = 0; r < spec.shape()[0]; r++) {
            for (int b = 0; b < cols; b += 32) {
              roundBlock(values, r * cols + b, Math.min(32, cols - b), format);
            }
          }
        }
        entries.add(new CheckpointWriter.Entry(spec.name(), spec.shape(), CheckpointWriter.Values.of(values)));
      }
      CheckpointWriter.write(out, c.config(), entries, DType.F32, 0, List.of());
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void roundBlock(float[] v, int from, int n, WeightFormat format) {
    if (format == WeightFormat.BF16) {
      for (int i = from; i < from + n; i++) {
        v[i] = DType.bf16ToFloat(DType.floatToBf16(v[i]));
      }
      return;
    }
    // ggml-quants.c: d = amax / ((1 << 7) - 1); id = d ? 1.0f/d : 0.0f; y.d = GGML_FP32_TO_FP16(d); qs = roundf(x*id)
    float amax = 0;
    for (int i = from; i < from + n; i++) {
      amax = Math.max(amax, Math.abs(v[i]));
    }
    float d = amax / ((1 << 7) - 1);
    float id = d != 0 ? 1.0f / d : 0.0f;
    float stored = Float.float16ToFloat(Float.floatToFloat16(d));
    for (int i = from; i < from + n; i++) {
      float x0 = v[i] * id;
      double q = x0 < 0 ? Math.ceil(x0 - 0.5) : Math.floor(x0 + 0.5);
      v[i] = (byte) q * stored;
    }
  }

  @ParameterizedTest
  @EnumSource(value = WeightFormat.class)
  void aKTokenForwardEqualsKSingleStepsBitForBit(WeightFormat format) {
    Path dir = checkpoint(LANES, format == WeightFormat.Q8_0 ? DType.BF16 : DType.valueOf(format.name()));
    int[] prompt = tokens(9, LANES.vocabSize(), 3);
    int[] draft = tokens(6, LANES.vocabSize(), 4);
    try (Checkpoint checkpoint = Checkpoint.open(dir); JavaBackend backend = JavaBackend.load(checkpoint, format, 2);
        Sequence batched = backend.newSequence(32); Sequence single = backend.newSequence(32)) {
      batched.prefill(prompt);
      single.prefill(prompt);
      float[][] verified = batched.verify(draft);
      for (int i = 0; i < draft.length; i++) {
        assertArrayEquals(single.decode(draft[i]), verified[i], 0f, "draft position " + i);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = WeightFormat.class, names = {"BF16", "Q8_0"})
  void aLongPromptInChunksAndTilesEqualsTheSameTokensOneAtATime(WeightFormat format) {
    // 150 positions: three chunks of the forward (64, 64, 22) and three attention tiles (64, 64, 22)
    int n = JavaBackend.CHUNK * 2 + 22;
    Path dir = checkpoint(LANES, DType.BF16);
    int[] input = tokens(n, LANES.vocabSize(), 5);
    try (Checkpoint checkpoint = Checkpoint.open(dir); JavaBackend backend = JavaBackend.load(checkpoint, format, 2);
        Sequence whole = backend.newSequence(n); Sequence stepwise = backend.newSequence(n)) {
      float[][] all = whole.forward(input, n, LANES.numHiddenLayers()).logits();
      for (int i = 0; i < n; i++) {
        assertArrayEquals(all[i], stepwise.decode(input[i]), 0f, "position " + i);
      }
    }
  }

  @Test
  void aLongPromptAgreesWithTheReferenceAcrossTiles() {
    int n = 150;
    Path dir = checkpoint(LANES, DType.F32);
    int[] input = tokens(n, LANES.vocabSize(), 6);
    try (Checkpoint checkpoint = Checkpoint.open(dir); JavaBackend backend = JavaBackend.load(checkpoint, null, 2);
        Sequence s = backend.newSequence(n)) {
      ReferenceQwen2 ref = new ReferenceQwen2(checkpoint.weights(), LANES, false);
      float[][] logits = s.forward(input, n).logits();
      for (int i = 0; i < n; i++) {
        double[][] expected = ref.step(input[i]);
        double error = maxRelativeError(expected[LANES.numHiddenLayers() + 1], logits[i]);
        assertTrue(error < TOLERANCE, "position " + i + ": relative error " + error);
      }
    }
  }

  /** Large enough that every product of a prefill, and the lm_head and MLP of a decode step, run in parallel. */
  static final Qwen2Config WIDE = new Qwen2Config(512, 1536, 4, 8, 2, 64, 1e-6, 10000.0, 8192, 256, false, DType.BF16);

  @ParameterizedTest
  @EnumSource(value = WeightFormat.class, names = {"BF16", "Q8_0"})
  void theThreadCountChangesNoBit(WeightFormat format) {
    Path dir = TestCheckpoints.write("cpu-heap-bf16", WIDE, 9, 0.02, DType.BF16, 0, null);
    int[] input = tokens(70, WIDE.vocabSize(), 7);
    float[][][] logits = new float[2][][];
    int[] threads = {1, 3};
    for (int i = 0; i < 2; i++) {
      try (Checkpoint checkpoint = Checkpoint.open(dir);
          JavaBackend backend = JavaBackend.load(checkpoint, format, threads[i]);
          Sequence s = backend.newSequence(80)) {
        float[][] prefill = s.forward(input, input.length).logits();
        float[] decoded = s.decode(3);
        logits[i] = java.util.Arrays.copyOf(prefill, input.length + 1);
        logits[i][input.length] = decoded;
        assertEquals(threads[i], backend.threads());
      }
    }
    for (int t = 0; t <= input.length; t++) {
      assertArrayEquals(logits[0][t], logits[1][t], 0f, "position " + t);
    }
  }

  @Test
  void bf16WidenedToF32AtLoadGivesExactlyTheNativeResult() {
    Path dir = checkpoint(LANES, DType.BF16);
    int[] input = tokens(12, LANES.vocabSize(), 8);
    try (Checkpoint checkpoint = Checkpoint.open(dir); JavaBackend bf16 = JavaBackend.load(checkpoint, null, 2);
        JavaBackend f32 = JavaBackend.load(checkpoint, WeightFormat.F32, 2);
        Sequence a = bf16.newSequence(16); Sequence b = f32.newSequence(16)) {
      assertTrue(bf16.weightsInPlace());
      assertFalse(f32.weightsInPlace());
      assertEquals(2 * bf16.weightBytes(), f32.weightBytes());
      float[][] expected = a.verify(input);
      float[][] actual = b.verify(input);
      for (int t = 0; t < input.length; t++) {
        assertArrayEquals(expected[t], actual[t], 0f, "position " + t);
      }
    }
  }

  /**
   * The test: a BF16 checkpoint is not widened. Its matrices are the mapped file itself, and loading grows the
   * heap by a small fraction of the weights' bytes (widening to float32 would grow it by twice their bytes).
   */
  @Test
  void aBf16CheckpointIsComputedWithInPlaceNotWidenedIntoTheHeap() {
    Qwen2Config shape = WIDE;
    Path dir = TestCheckpoints.write("cpu-heap-bf16", shape, 9, 0.02, DType.BF16, 0, null);
    long weightBytes = 2 * shape.parameterCount();
    assertTrue(weightBytes > 30_000_000, "a checkpoint large enough to see in the heap: " + weightBytes);
    long before = heapAfterGc();
    try (Checkpoint checkpoint = Checkpoint.open(dir); JavaBackend backend = JavaBackend.load(checkpoint, null, 2)) {
      long grown = heapAfterGc() - before;
      assertTrue(backend.weightsInPlace(), "every matrix is the mapped file's bytes");
      assertEquals(WeightFormat.BF16, backend.weightFormat());
      assertTrue(grown < weightBytes / 10, "loading grew the heap by " + grown + " bytes for " + weightBytes
          + " bytes of BF16 weights");
      try (Sequence s = backend.newSequence(8)) {
        assertTrue(Float.isFinite(s.prefill(new int[] {1, 2, 3})[0]));
      }
    }
  }

  /**
   * --no-mmap: the matrices are a copy in the process's own memory, off the heap, and compute the same bits as the
   * mapped file's.
   */
  @Test
  void copiedWeightsComputeTheMappedResultsBitForBitOffTheHeap() {
    Path dir = TestCheckpoints.write("cpu-heap-bf16", WIDE, 9, 0.02, DType.BF16, 0, null);
    int[] input = tokens(20, WIDE.vocabSize(), 5);
    float[][][] logits = new float[2][][];
    long[] bytes = new long[2];
    for (WeightMemory memory : WeightMemory.values()) {
      long before = heapAfterGc();
      try (Checkpoint checkpoint = Checkpoint.open(dir);
          JavaBackend backend = JavaBackend.load(checkpoint, new JavaBackend.Options(null, memory, 2));
          Sequence s = backend.newSequence(32)) {
        long grown = heapAfterGc() - before;
        assertEquals(memory == WeightMemory.MAPPED, backend.weightsInPlace(), memory.name());
        assertEquals(WeightFormat.BF16, backend.weightFormat());
        bytes[memory.ordinal()] = backend.weightBytes();
        assertTrue(grown < backend.weightBytes() / 10, memory + ": loading grew the heap by " + grown + " bytes");
        logits[memory.ordinal()] = java.util.Arrays.copyOf(s.forward(input, input.length).logits(), input.length + 1);
        logits[memory.ordinal()][input.length] = s.decode(3);
      }
    }
    assertEquals(bytes[0], bytes[1], "the same matrices, in the same format");
    for (int t = 0; t <= input.length; t++) {
      assertArrayEquals(logits[0][t], logits[1][t], 0f, "position " + t);
    }
  }

  private static long heapAfterGc() {
    var memory = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  @Test
  void theBackendKeepsTheFileMappedAfterTheCheckpointIsClosed() {
    Path dir = checkpoint(LANES, DType.BF16);
    JavaBackend backend;
    float[] expected;
    try (Checkpoint checkpoint = Checkpoint.open(dir)) {
      backend = JavaBackend.load(checkpoint, null, 1);
      try (Sequence s = backend.newSequence(8)) {
        expected = s.prefill(new int[] {4, 5, 6});
      }
    }
    try (backend; Sequence s = backend.newSequence(8)) {
      assertArrayEquals(expected, s.prefill(new int[] {4, 5, 6}), 0f);
    }
  }

  @Test
  void aFloat16MatrixHoldingAnInfinityIsRefusedNamingTheTensor(@org.junit.jupiter.api.io.TempDir Path tmp)
      throws IOException {
    Qwen2Config config = ODD.withDtype(DType.F16);
    String bad = Qwen2Tensors.layer(config, 1).upProj().name();
    List<CheckpointWriter.Entry> entries = new ArrayList<>();
    for (var e : dev.candor.engine.checkpoint.RandomCheckpoint.entries(config, 3, 0.2)) {
      entries.add(!e.name().equals(bad) ? e : new CheckpointWriter.Entry(e.name(), e.shape(), (from, out, count) -> {
        e.values().fill(from, out, count);
        if (from == 0) {
          out[40] = Float.POSITIVE_INFINITY; // row 1, column 8 of [37, 32]
        }
      }));
    }
    CheckpointWriter.write(tmp, config, entries, DType.F16, 0, List.of());
    try (Checkpoint checkpoint = Checkpoint.open(tmp)) {
      var e = assertThrows(dev.candor.engine.checkpoint.CheckpointException.class,
          () -> JavaBackend.load(checkpoint, null, 1));
      assertTrue(e.getMessage().contains(bad) && e.getMessage().contains("[1, 8]"), e.getMessage());
    }
  }

  @Test
  void weightFormatsAndThreadsAreRefusedWhereTheyDoNotApply() {
    Path dir = checkpoint(ODD, DType.F32);
    var e = assertThrows(IllegalArgumentException.class, () -> LoadedModel.load(dir, "cpu", "djl", WeightFormat.Q8_0, 2));
    assertTrue(e.getMessage().contains("java backend"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> LoadedModel.load(dir, "cpu", "java", null, 0));
    var copied = assertThrows(IllegalArgumentException.class, () -> LoadedModel.load(dir, "cpu", "djl",
        new JavaBackend.Options(null, WeightMemory.COPIED, 2)));
    assertTrue(copied.getMessage().contains("--no-mmap"), copied.getMessage());
    var parse = assertThrows(IllegalArgumentException.class, () -> WeightFormat.parse("q4_0"));
    assertTrue(parse.getMessage().contains("q8_0"), parse.getMessage());
    assertEquals(WeightFormat.Q8_0, WeightFormat.parse("Q8_0"));
    assertEquals(null, WeightFormat.parse("native"));
  }
}
