package dev.candor.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Forward;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.ReferenceQwen2;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitSummary;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend, kernels included, on the kernel emulator: against the double-precision reference on the same BF16
 * weights with its KV cache rounded to BF16 as the backend's is, and the cache invariants the decoder relies on. What
 * this cannot show is speed, and what a GPU does differently from the emulator's rules (memory ordering between warps
 * without a barrier, real BF16 hardware paths): that is the device run's job (bench/gpu/).
 */
class CudaBackendTest {
  /**
   * Odd sizes so no dimension can stand in for another: hidden 96 (16-byte weight loads, a partial last step), three
   * query heads on one key/value head (GQA), intermediate 212 (not a multiple of 8: the scalar gemv path), 640
   * positions (attention split over blocks of 256).
   */
  static final Qwen2Config SHAPE = new Qwen2Config(96, 212, 3, 3, 1, 32, 1e-6, 10000.0, 301, 640, false, DType.BF16);

  static EmulatedGpu gpu;
  static Checkpoint checkpoint;
  static CudaBackend cuda;

  @BeforeAll
  static void load() {
    String why = EmulatedGpu.why();
    Assumptions.assumeTrue(why == null, why);
    gpu = EmulatedGpu.open().withGemm(false); // the kernels alone; the GEMM prefill has its own tests below
    Path dir = TestCheckpoints.write("cuda-bf16", SHAPE, 11, DType.BF16, 0, null);
    checkpoint = Checkpoint.open(dir);
    cuda = CudaBackend.load(checkpoint, gpu);
  }

  @AfterAll
  static void close() {
    if (cuda != null) {
      cuda.close();
      assertEquals(0, gpu.liveAllocations(), "device memory left allocated after the backend closed");
      checkpoint.close();
    }
  }

  static int[] tokens(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    return random.ints(n, 0, SHAPE.vocabSize()).toArray();
  }

  /** The reference's hidden states [numHiddenLayers + 1] and logits (last row) for every token, one step at a time. */
  static double[][][] reference(int[] input) {
    ReferenceQwen2 reference = new ReferenceQwen2(checkpoint.weights(), SHAPE, true);
    double[][][] out = new double[input.length][][];
    for (int i = 0; i < input.length; i++) {
      out[i] = reference.step(input[i]);
    }
    return out;
  }

  static double[] logits(double[][] step) {
    return step[SHAPE.numHiddenLayers() + 1];
  }

  /** |a - e| relative to the largest |e| of the row. */
  static double error(double[] expected, float[] actual) {
    double scale = 0, worst = 0;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    }
    return worst / Math.max(scale, 1e-6);
  }

  /**
   * FP32 sums against double ones, and now and then a cache element rounded to the neighbouring BF16 value. A wrong
   * index, head or position gives errors of the order of the logits themselves.
   */
  static final double TOLERANCE = 1e-3;

  @Test
  void logitsAndEveryTapAgreeWithTheJavaBackend() {
    int[] input = tokens(13, 1); // two chunks: 8 + 5
    int[] taps = {0, 1, 2, 3};
    double[][][] e = reference(input);
    try (Sequence actual = cuda.newSequence(64)) {
      Forward a = actual.forward(input, input.length, taps);
      for (int i = 0; i < input.length; i++) {
        double logitError = error(logits(e[i]), a.logits()[i]);
        assertTrue(logitError < TOLERANCE, "logits at " + i + ": relative error " + logitError);
        for (int t = 0; t < taps.length; t++) {
          double tapError = error(e[i][taps[t]], a.taps()[t][i]);
          assertTrue(tapError < TOLERANCE, "tap " + taps[t] + " at " + i + ": relative error " + tapError);
        }
      }
      assertEquals(input.length, actual.length());
    }
  }

  @Test
  void aLongContextIsSplitOverAttentionBlocksAndStillAgrees() {
    int[] input = tokens(301, 2); // positions 0..300: two splits of 256, combined
    double[][][] e = reference(input);
    try (Sequence actual = cuda.newSequence(320)) {
      float[][] a = actual.forward(Arrays.copyOf(input, 300), 3).logits();
      for (int i = 0; i < 3; i++) {
        double logitError = error(logits(e[297 + i]), a[i]);
        assertTrue(logitError < TOLERANCE, "logits " + i + " of the last three: relative error " + logitError);
      }
      double decodeError = error(logits(e[300]), actual.decode(input[300]));
      assertTrue(decodeError < TOLERANCE, "decode after 300 positions: relative error " + decodeError);
    }
    // one attention block per head: it takes both chunks itself
    try (CudaBackend oneSplit = CudaBackend.load(checkpoint, gpu, 1, CudaBackend.PREFILL_TOKENS);
        Sequence actual = oneSplit.newSequence(320)) {
      float[] last = actual.forward(input, 1).logits()[0];
      double logitError = error(logits(e[300]), last);
      assertTrue(logitError < TOLERANCE, "one split over two chunks: relative error " + logitError);
    }
  }

  @Test
  void aKTokenVerifyEqualsKSingleDecodeSteps() {
    int[] prompt = tokens(9, 3);
    int[] draft = tokens(5, 4);
    try (Sequence batched = cuda.newSequence(64); Sequence single = cuda.newSequence(64)) {
      batched.prefill(prompt);
      single.prefill(prompt);
      float[][] verified = batched.verify(draft);
      for (int i = 0; i < draft.length; i++) {
        assertArrayEquals(single.decode(draft[i]), verified[i], 1e-5f, "draft position " + i);
      }
    }
  }

  @Test
  void cachedDecodingEqualsOneForwardOverTheWholeSequence() {
    int[] input = tokens(20, 5);
    float[][] whole;
    try (Sequence s = cuda.newSequence(32)) {
      whole = s.verify(input);
    }
    try (Sequence s = cuda.newSequence(32)) {
      assertArrayEquals(whole[4], s.prefill(Arrays.copyOf(input, 5)), 1e-5f);
      for (int i = 5; i < input.length; i++) {
        assertArrayEquals(whole[i], s.decode(input[i]), 1e-5f, "position " + i);
      }
    }
  }

  @Test
  void truncateThenDecodeEqualsDecodingFresh() {
    int[] prompt = tokens(8, 6);
    int[] rejected = tokens(4, 7);
    int[] next = tokens(3, 8);
    try (Sequence rolledBack = cuda.newSequence(32); Sequence fresh = cuda.newSequence(32)) {
      rolledBack.prefill(prompt);
      rolledBack.verify(rejected);
      rolledBack.truncate(prompt.length + 1);
      fresh.prefill(prompt);
      fresh.decode(rejected[0]);
      for (int token : next) {
        assertArrayEquals(fresh.decode(token), rolledBack.decode(token), 1e-6f);
      }
    }
  }

  @Test
  void eachForwardShapeIsCapturedOnceThenReplayed() {
    try (Sequence s = cuda.newSequence(32)) {
      s.prefill(tokens(3, 9));
      s.decode(1); // captured here, unless this memory served a decode before
      int before = gpu.captures();
      for (int token : tokens(10, 10)) {
        s.decode(token);
      }
      assertEquals(before, gpu.captures(), "ten more decode steps replay the same graph");
    }
  }

  @Test
  void badInputIsRefusedWithTheReasonAndLeavesTheSequenceUsable() {
    try (Sequence s = cuda.newSequence(16)) {
      s.prefill(tokens(4, 11));
      assertThrows(IllegalArgumentException.class, () -> s.decode(SHAPE.vocabSize()));
      assertThrows(IllegalArgumentException.class, () -> s.forward(tokens(13, 12), 1));
      assertThrows(IllegalArgumentException.class, () -> s.forward(tokens(2, 13), 1, SHAPE.numHiddenLayers() + 1));
      assertEquals(4, s.length());
      s.decode(1);
      assertEquals(5, s.length());
    }
    assertThrows(IllegalArgumentException.class, () -> cuda.newSequence(SHAPE.maxPositionEmbeddings() + 1));
  }

  @Test
  void summariesOnTheDeviceMatchTheHostsOfTheSameLogits() {
    int[] input = tokens(11, 14);
    try (Sequence full = cuda.newSequence(32); Sequence summarised = cuda.newSequence(32)) {
      float[][] logits = full.forward(input, 4).logits();
      LogitSummary[] summaries = summarised.forwardSummaries(input, 4).summaries();
      for (int i = 0; i < 4; i++) {
        assertSummary(LogitSummary.of(logits[i]), summaries[i], "row " + i);
      }
      assertEquals(input.length, summarised.length());
    }
  }

  /** The kernel alone, on rows a model does not produce: ties, -inf, fewer tokens than the top list. */
  @Test
  void theSummaryKernelBreaksTiesToTheLowerIdAndHandlesTinyAndMaskedRows() {
    SplittableRandom random = new SplittableRandom(15);
    float[] ties = new float[3000];
    for (int i = 0; i < ties.length; i++) {
      ties[i] = (float) Math.floor(random.nextDouble() * 8); // eight values: many ties, at the top too
    }
    float[] masked = new float[1500];
    for (int i = 0; i < masked.length; i++) {
      masked[i] = i % 3 == 0 ? Float.NEGATIVE_INFINITY : (float) random.nextGaussian() * 4;
    }
    float[] tiny = {0.5f, -1f, 2f, 2f, Float.NEGATIVE_INFINITY, 0f, 1f};
    for (float[] row : new float[][] {ties, masked, tiny}) {
      assertSummary(LogitSummary.of(row), summariseOnDevice(row), "row of " + row.length);
    }
  }

  static LogitSummary summariseOnDevice(float[] row) {
    long logits = gpu.alloc(4L * row.length);
    long out = gpu.alloc(4L * 44);
    try {
      gpu.upload(logits, java.lang.foreign.MemorySegment.ofArray(row));
      gpu.launch(gpu.kernel("logits_summary"), Gpu.Grid.of(1), 1024, logits, row.length, out);
      float[] result = new float[44];
      gpu.download(java.lang.foreign.MemorySegment.ofArray(result), out);
      int top = Math.min(LogitSummary.TOP, row.length);
      int[] ids = new int[top];
      float[] values = new float[top];
      for (int i = 0; i < top; i++) {
        ids[i] = Float.floatToRawIntBits(result[4 + i]);
        values[i] = result[4 + LogitSummary.TOP + i];
      }
      return new LogitSummary(row.length, Float.floatToRawIntBits(result[3]), result[1], result[2], ids, values);
    } finally {
      gpu.free(logits);
      gpu.free(out);
    }
  }

  static void assertSummary(LogitSummary expected, LogitSummary actual, String where) {
    assertEquals(expected.argmax(), actual.argmax(), where + ": argmax");
    assertArrayEquals(expected.topTokens(), actual.topTokens(), where + ": top tokens");
    assertArrayEquals(expected.topLogits(), actual.topLogits(), where + ": top logits");
    // float sums on the device, double on the host
    assertEquals(expected.logPartition(), actual.logPartition(), 1e-5 * Math.max(1, Math.abs(expected.logPartition())),
        where + ": log partition");
    assertEquals(expected.entropy(), actual.entropy(), 1e-4, where + ": entropy");
  }

  /**
   * The generator on the device's summaries (greedy, the default path) against the same generator on full logits
   * (an observer asks for them): the same tokens and records; and speculative decoding with a self-draft emits the
   * same tokens with every draft accepted.
   */
  @Test
  void greedyGenerationOnSummariesEqualsGenerationOnLogits() {
    try (Tokenizer tokenizer = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"))) {
      int[] prompt = tokens(6, 16);
      GenerationRequest request = GenerationRequest.of(12, SamplingParams.greedy()).withIgnoreEos(true)
          .withTopLogprobs(5);
      Generator plain = new Generator(cuda, null, tokenizer, Set.of(), 4);
      GenerationResult summarised = plain.generate(prompt, request, (r, o, t) -> {});
      GenerationResult onLogits = plain.generate(prompt, request.withObserver((record, distribution) -> {}),
          (r, o, t) -> {});
      GenerationResult speculative = new Generator(cuda, cuda, tokenizer, Set.of(), 3).generate(prompt, request,
          (r, o, t) -> {});
      assertEquals(12, summarised.tokens().size());
      for (int i = 0; i < 12; i++) {
        TokenRecord a = summarised.tokens().get(i);
        TokenRecord b = onLogits.tokens().get(i);
        assertEquals(b.token(), a.token(), "token " + i);
        assertEquals(b.token(), speculative.tokens().get(i).token(), "speculative token " + i);
        assertEquals(b.logprob(), a.logprob(), 1e-5, "logprob " + i);
        assertEquals(b.entropy(), a.entropy(), 1e-4, "entropy " + i);
        assertEquals(b.top().length, a.top().length);
        for (int j = 0; j < a.top().length; j++) {
          assertEquals(b.top()[j].token(), a.top()[j].token(), "alternative " + j + " of token " + i);
        }
      }
      assertEquals(1.0, speculative.stats().drafterAcceptance(), "a self-draft is always accepted at T=0");
      assertEquals(1.0, speculative.stats().coverage());
    }
  }

  @Test
  void aClosedSequencesMemoryAndGraphsServeTheNextOne() {
    int[] prompt = tokens(5, 17);
    float[] expected;
    try (Sequence first = cuda.newSequence(41)) { // no other test asks for 41..63: this one is reused below
      first.prefill(prompt);
      expected = first.decode(3);
    }
    int captures = gpu.captures();
    try (Sequence second = cuda.newSequence(40)) {
      assertEquals(0, second.length());
      assertEquals(40, second.capacity());
      second.prefill(prompt);
      assertArrayEquals(expected, second.decode(3), 0f, "the reused cache starts clean");
      assertThrows(IllegalArgumentException.class, () -> second.forward(tokens(35, 18), 1), "35 more than 40 holds");
    }
    assertEquals(captures, gpu.captures(), "nothing captured again");
    Sequence closed = cuda.newSequence(8);
    closed.close();
    assertThrows(IllegalStateException.class, () -> closed.decode(1));
    closed.close(); // twice is harmless
  }

  @Test
  void replayingTheLastStepForTimingLeavesTheSequenceAsItWas() {
    int[] prompt = tokens(7, 19);
    try (Sequence timed = cuda.newSequence(24); Sequence plain = cuda.newSequence(24)) {
      timed.prefill(prompt);
      plain.prefill(prompt);
      timed.decode(5);
      plain.decode(5);
      assertTrue(cuda.replayMillis(timed, 3) > 0);
      assertArrayEquals(plain.decode(6), timed.decode(6), 0f);
      assertEquals(plain.length(), timed.length());
      try (Sequence fresh = cuda.newSequence(8)) {
        assertThrows(IllegalStateException.class, () -> cuda.replayMillis(fresh, 1));
      }
    }
  }

  /**
   * A long prompt through the GEMM (cuBLAS on a GPU; here the emulator's plain GEMM), in chunks of 16, then the last
   * positions through the kernels, then decoding. The GEMMs take BF16 inputs, so the reference rounds the same inputs
   * for those positions (without that: 2.5e-2). What is left (measured 2.6e-3) is inputs on either side of a BF16
   * rounding boundary rounding apart, amplified by the test model's sharp attention; a wrong index, position or
   * rotation is of order 1e-1 to 1.
   */
  @Test
  void aLongPromptPrefilledThroughTheGemmAgreesWithTheReference() {
    int[] input = tokens(61, 20);
    ReferenceQwen2 reference = new ReferenceQwen2(checkpoint.weights(), SHAPE, true);
    double[][][] e = new double[input.length][][];
    for (int i = 0; i < input.length; i++) {
      e[i] = reference.step(input[i], i < 52); // 16 + 16 + 16 + 4 through the GEMM, then the kernels
    }
    try (EmulatedGpu withGemm = EmulatedGpu.open();
        CudaBackend backend = CudaBackend.load(checkpoint, withGemm, CudaBackend.ATTENTION_SPLITS, 16);
        Sequence s = backend.newSequence(96)) {
      assertTrue(backend.gemmPrefill(), "the emulator's GEMM agrees with the kernels");
      float[] last = s.prefill(Arrays.copyOf(input, 60)); // 16 + 16 + 16 + 4 through the GEMM, 8 through the kernels
      assertEquals(60, s.length());
      double prefillError = error(logits(e[59]), last);
      assertTrue(prefillError < 1e-2, "prefill: relative error " + prefillError);
      double decodeError = error(logits(e[60]), s.decode(input[60]));
      assertTrue(decodeError < 1e-2, "decode after it: relative error " + decodeError);
    }
  }

  /** The check at load: a GEMM that disagrees with the kernels is not used, and prefill still works. */
  @Test
  void aGemmThatDisagreesWithTheKernelsIsNotUsed() {
    int[] input = tokens(30, 21);
    double[][][] e = reference(input);
    try (EmulatedGpu broken = EmulatedGpu.open().withBrokenGemm();
        CudaBackend backend = CudaBackend.load(checkpoint, broken, CudaBackend.ATTENTION_SPLITS, 16);
        Sequence s = backend.newSequence(32)) {
      assertTrue(!backend.gemmPrefill());
      double error = error(logits(e[29]), s.prefill(input));
      assertTrue(error < TOLERANCE, "prefill on the kernels: relative error " + error);
    }
  }

  /**
   * Head dimensions of 64, 128 (Qwen2.5's) and 256: a lane then holds 2, 4 or 8 values of a head and the attention
   * kernel reads them in one 4-, 8- or 16-byte load (the main shape's 32 takes the one-value path).
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(ints = {64, 128, 256})
  void everyHeadDimensionAgreesWithTheReference(int headDim) {
    Qwen2Config shape = new Qwen2Config(128, 96, 2, 512 / headDim, 256 / headDim, headDim, 1e-6, 10000.0, 101, 64,
        true, DType.BF16);
    Path dir = TestCheckpoints.write("cuda-bf16-hd" + headDim, shape, 12, DType.BF16, 0, null);
    int[] input = new SplittableRandom(headDim).ints(21, 0, shape.vocabSize()).toArray();
    try (Checkpoint small = Checkpoint.open(dir); CudaBackend backend = CudaBackend.load(small, gpu);
        Sequence s = backend.newSequence(32)) {
      ReferenceQwen2 reference = new ReferenceQwen2(small.weights(), shape, true);
      double[][] expected = null;
      for (int token : java.util.Arrays.copyOf(input, 20)) {
        expected = reference.step(token);
      }
      double prefillError = error(expected[shape.numHiddenLayers() + 1], s.prefill(Arrays.copyOf(input, 20)));
      assertTrue(prefillError < TOLERANCE, "head_dim " + headDim + ", prefill: relative error " + prefillError);
      expected = reference.step(input[20]);
      double decodeError = error(expected[shape.numHiddenLayers() + 1], s.decode(input[20]));
      assertTrue(decodeError < TOLERANCE, "head_dim " + headDim + ", decode: relative error " + decodeError);
    }
  }

  /**
   * The families beside Qwen2 and the head dimensions whose lane slices are not 1, 2, 4 or 8 values: Qwen3 (q/k norms
   * in qkv_finish after a plain q|k|v gemv, no biases) at head_dim 128, as Qwen3 ships, and at 96 (three values a
   * lane, loaded one by one); Qwen2 at 96; Llama (the fused qkv kernel without a bias). Heads × head_dim is not the
   * hidden size. Each through the kernels (prefill in chunks of 8, then a decode step) and through the GEMM prefill;
   * the bounds are this class's, as for Qwen2.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"QWEN3, 128", "QWEN3, 96", "QWEN2, 96", "LLAMA, 64"})
  void everyFamilyAndHeadDimAgreesWithTheReference(Qwen2Config.Architecture architecture, int headDim) {
    Qwen2Config shape = Qwen2Config.of(architecture, 128, 96, 2, 3, 1, headDim, 1e-6, 10000.0, 101, 64, true,
        DType.BF16);
    Path dir = TestCheckpoints.write("cuda-" + architecture + "-hd" + headDim, shape, 14, DType.BF16, 0, null);
    int[] input = new SplittableRandom(headDim).ints(21, 0, shape.vocabSize()).toArray();
    int logitsRow = shape.numHiddenLayers() + 1;
    try (Checkpoint small = Checkpoint.open(dir); CudaBackend backend = CudaBackend.load(small, gpu);
        Sequence s = backend.newSequence(32)) {
      ReferenceQwen2 reference = new ReferenceQwen2(small.weights(), shape, true);
      double[][] expected = null;
      for (int token : Arrays.copyOf(input, 20)) {
        expected = reference.step(token);
      }
      double prefillError = error(expected[logitsRow], s.prefill(Arrays.copyOf(input, 20)));
      assertTrue(prefillError < TOLERANCE, architecture + " " + headDim + ", prefill: relative error " + prefillError);
      double decodeError = error(reference.step(input[20])[logitsRow], s.decode(input[20]));
      assertTrue(decodeError < TOLERANCE, architecture + " " + headDim + ", decode: relative error " + decodeError);
    }
    try (Checkpoint small = Checkpoint.open(dir); EmulatedGpu withGemm = EmulatedGpu.open();
        CudaBackend backend = CudaBackend.load(small, withGemm, CudaBackend.ATTENTION_SPLITS, 16);
        Sequence s = backend.newSequence(32)) {
      assertTrue(backend.gemmPrefill());
      ReferenceQwen2 reference = new ReferenceQwen2(small.weights(), shape, true);
      double[][] expected = null;
      for (int i = 0; i < 20; i++) {
        expected = reference.step(input[i], i < 16); // 16 through the GEMM, 4 through the kernels
      }
      double error = error(expected[logitsRow], s.prefill(Arrays.copyOf(input, 20)));
      assertTrue(error < 1e-2, architecture + " " + headDim + ", GEMM prefill: relative error " + error);
    }
  }

  /**
   * The prefix cache's contract on this backend: a sequence given another's first 32 positions by copyOut/append
   * (host copies of the BF16 cache) then computes exactly what the other computes, bit for bit (same kernels, same
   * chunk shapes, the same cache bits); a block of another backend or past the capacity is refused.
   */
  @Test
  void aCopiedPrefixGivesExactlyTheLogitsOfComputingIt() {
    int[] input = tokens(42, 30);
    try (Sequence cold = cuda.newSequence(64); Sequence warm = cuda.newSequence(64)) {
      assertTrue(warm.copiesKv());
      float[] coldLast = cold.prefill(Arrays.copyOf(input, 40));
      var block = cold.copyOut(0, 32);
      assertEquals(32, block.positions());
      warm.append(block);
      assertEquals(32, warm.length());
      assertArrayEquals(coldLast, warm.prefill(Arrays.copyOfRange(input, 32, 40)));
      assertArrayEquals(cold.decode(input[40]), warm.decode(input[40]));
      assertEquals(33, cold.copyOut(8, 41).positions());
      assertArrayEquals(cold.decode(input[41]), warm.decode(input[41]));
      try (Sequence small = cuda.newSequence(16)) {
        assertThrows(IllegalArgumentException.class, () -> small.append(block));
        assertEquals(0, small.length());
      }
      dev.candor.engine.model.KvBlock foreign = new dev.candor.engine.model.KvBlock() {
        @Override
        public int positions() {
          return 1;
        }

        @Override
        public long bytes() {
          return 0;
        }
      };
      assertThrows(IllegalArgumentException.class, () -> warm.append(foreign));
      assertThrows(IllegalArgumentException.class, () -> warm.copyOut(0, 99));
    }
  }

  @Test
  void aHeadDimTheKernelsCannotHoldIsRefusedAtLoad() {
    Qwen2Config odd = TestCheckpoints.tiny(99, false); // head_dim 8
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaBackend.check(odd));
    assertTrue(e.getMessage().contains("head_dim"), e.getMessage());
  }
}
