package dev.candor.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.ReferenceQwen2;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.testing.Forwards;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CUDA backend's batched forward on the kernel emulator: each entry of a batch gets what it gets alone
 * ({@link BatchEntry#runAlone}), bit for bit (the same kernels with the same per-lane sums in the same order, whatever
 * rows share a launch, and each row with its own sequence's attention splits), and the double-precision reference
 * within CudaBackendTest's bound; the caches it leaves are the ones the entries leave alone; a bad entry is refused
 * before anything runs. Bit for bit holds on the emulator (g++ -O2 for x86-64, no fused multiply-add); on a GPU nvcc
 * may contract the 1-row and 8-row kernels differently, so there the bound is the reference's (bench/gpu measures it).
 */
class CudaBatchedForwardTest {
  static EmulatedGpu gpu;

  @BeforeAll
  static void open() {
    String why = EmulatedGpu.why();
    Assumptions.assumeTrue(why == null, why);
    gpu = EmulatedGpu.open().withGemm(false);
  }

  @AfterAll
  static void close() {
    if (gpu != null) {
      assertEquals(0, gpu.liveAllocations(), "device memory left allocated after the backends closed");
      gpu.close();
    }
  }

  /** Qwen2 (CudaBackendTest's shape: biases, GQA, 640 positions) and Qwen3 (q/k norms, head_dim 128, no biases). */
  static Qwen2Config shape(String family) {
    return family.equals("qwen2") ? CudaBackendTest.SHAPE
        : Qwen2Config.of(Qwen2Config.Architecture.QWEN3, 128, 96, 2, 3, 1, 128, 1e-6, 10000.0, 101, 640, true,
            DType.BF16);
  }

  static Path checkpoint(String family) {
    return TestCheckpoints.write("cuda-batch-" + family, shape(family), 21, DType.BF16, 0, null);
  }

  /** One entry of the mix: a prefix already in the cache, then {@code tokens} new ones with {@code rows} rows back. */
  record Spec(int prefix, int tokens, int rows, boolean summaries, int[] taps, int capacity) {
    static final int COPIED_BLOCK = 20;

    /** A prefix built from copies of one block, not computed: longer than one attention chunk. */
    boolean copied() {
      return prefix > 256;
    }
  }

  /**
   * 22 rows, three passes: decode steps (one summarised), a 5-token verify with its five rows and taps, an 11-token
   * prefill chunk with no rows, cut across passes at other places than alone, and 3 tokens with their last 2 rows
   * summarised and a probe's tap; and a decode step after 260 positions, whose sequence splits attention
   * over two blocks beside rows that split over one. Its prefix is 13 copies of one computed 20-position block
   * ({@link Sequence#append}): the emulator would take ten seconds and more to compute 260, and a batch must give what
   * alone gives on any cache; the reference, which cannot hold such a cache, is not asked for that entry.
   */
  static List<Spec> mix(int layers) {
    List<Spec> mix = new ArrayList<>(List.of(new Spec(9, 1, 1, false, new int[0], 32),
        new Spec(3, 1, 1, true, new int[0], 32), new Spec(6, 5, 5, false, new int[] {0, layers}, 32),
        new Spec(2, 11, 0, false, new int[0], 32), new Spec(12, 3, 2, true, new int[] {1}, 32)));
    mix.add(4, new Spec(13 * Spec.COPIED_BLOCK, 1, 1, false, new int[0], 300));
    return mix;
  }

  @ParameterizedTest
  @ValueSource(strings = {"qwen2", "qwen3"})
  void eachEntryGetsWhatItGetsAloneAndTheReferencesLogits(String family) {
    Qwen2Config c = shape(family);
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint(family));
        CudaBackend backend = CudaBackend.load(checkpoint, gpu)) {
      List<Spec> specs = mix(c.numHiddenLayers());
      SplittableRandom random = new SplittableRandom(5);
      List<Sequence> batched = new ArrayList<>(), alone = new ArrayList<>();
      List<BatchEntry> batch = new ArrayList<>(), singles = new ArrayList<>();
      List<int[]> inputs = new ArrayList<>();
      for (Spec spec : specs) {
        int[] prefix = random.ints(spec.prefix(), 0, c.vocabSize()).toArray();
        int[] tokens = random.ints(spec.tokens(), 0, c.vocabSize()).toArray();
        Sequence a = backend.newSequence(spec.capacity()), b = backend.newSequence(spec.capacity());
        if (spec.copied()) {
          a.forward(java.util.Arrays.copyOf(prefix, Spec.COPIED_BLOCK), 0);
          var block = a.copyOut(0, Spec.COPIED_BLOCK);
          while (a.length() < spec.prefix()) {
            a.append(block);
          }
        } else {
          a.forward(prefix, 0);
        }
        inputs.add(concat(prefix, tokens));
        batched.add(a);
        alone.add(b);
        b.append(a.copyOut(0, prefix.length)); // the same cache bits, without computing the prefix twice
        batch.add(new BatchEntry(a, tokens, spec.rows(), spec.summaries(), spec.taps()));
        singles.add(new BatchEntry(b, tokens, spec.rows(), spec.summaries(), spec.taps()));
      }
      List<Forward> together = backend.forward(batch);
      for (int e = 0; e < specs.size(); e++) {
        String what = family + " entry " + e + " " + specs.get(e);
        Forwards.assertIdentical(singles.get(e).runAlone(), together.get(e), what);
        assertEquals(alone.get(e).length(), batched.get(e).length(), what);
        if (!specs.get(e).copied()) {
          againstTheReference(checkpoint, c, specs.get(e), inputs.get(e), together.get(e), what);
        }
      }
      // the caches the batch left are the ones the entries left alone: the next step agrees, in a batch and alone
      int captures = gpu.captures();
      List<BatchEntry> next = new ArrayList<>();
      for (int e = 0; e < specs.size(); e++) {
        next.add(new BatchEntry(batched.get(e), new int[] {e + 1}, 1, false, new int[0]));
      }
      List<Forward> after = backend.forward(next);
      for (int e = 0; e < specs.size(); e++) {
        assertArrayEquals(alone.get(e).decode(e + 1), after.get(e).logits()[0], 0f, "the step after, entry " + e);
        assertArrayEquals(alone.get(e).decode(7), batched.get(e).decode(7), 0f, "a step alone after, entry " + e);
      }
      assertTrue(gpu.captures() > captures, "a new batch shape is captured");
      captures = gpu.captures();
      backend.forward(next.stream().map(n -> new BatchEntry(n.sequence(), new int[] {3}, 1, false, new int[0]))
          .toList());
      assertEquals(captures, gpu.captures(), "the same batch shape at other positions replays its graph");
      batched.forEach(Sequence::close);
      alone.forEach(Sequence::close);
    }
  }

  static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** The rows with logits and every tap of an entry against ReferenceQwen2 (BF16 cache), within CudaBackendTest's. */
  static void againstTheReference(Checkpoint checkpoint, Qwen2Config c, Spec spec, int[] input, Forward actual,
      String what) {
    ReferenceQwen2 reference = new ReferenceQwen2(checkpoint.weights(), c, true);
    for (int i = 0; i < input.length; i++) {
      double[][] step = reference.step(input[i]);
      int p = i - spec.prefix(); // index among the entry's new tokens
      if (p < 0) {
        continue;
      }
      for (int t = 0; t < spec.taps().length; t++) {
        double error = CudaBackendTest.error(step[spec.taps()[t]], actual.taps()[t][p]);
        assertTrue(error < CudaBackendTest.TOLERANCE, what + ", tap " + spec.taps()[t] + " at " + p + ": " + error);
      }
      int row = p - (spec.tokens() - spec.rows());
      if (row >= 0 && !spec.summaries()) {
        double error = CudaBackendTest.error(step[c.numHiddenLayers() + 1], actual.logits()[row]);
        assertTrue(error < CudaBackendTest.TOLERANCE, what + ", logits of row " + row + ": relative error " + error);
      }
    }
  }

  /**
   * A prompt long enough for the GEMM (chunks of 16 here) beside decode steps: its leading stretch goes through the
   * GEMM as alone (16 + 16), the rest (6 rows) through the batched kernels in one pass with the decode step, and
   * every entry gets its bits alone.
   */
  @Test
  void aLongPromptBesideDecodeStepsTakesTheGemmAsAlone() {
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint("qwen2")); EmulatedGpu withGemm = EmulatedGpu.open();
        CudaBackend backend = CudaBackend.load(checkpoint, withGemm, CudaBackend.ATTENTION_SPLITS, 16)) {
      assertTrue(backend.gemmPrefill());
      int vocab = backend.config().vocabSize();
      SplittableRandom random = new SplittableRandom(8);
      int[] prompt = random.ints(38, 0, vocab).toArray();
      int[] head = random.ints(4, 0, vocab).toArray();
      List<Forward> expected = new ArrayList<>();
      List<Forward> actual;
      try (Sequence a = backend.newSequence(64); Sequence b = backend.newSequence(64);
          Sequence c = backend.newSequence(64); Sequence d = backend.newSequence(64)) {
        c.forward(head, 0);
        d.forward(head, 0);
        expected.add(new BatchEntry(b, prompt, 1, false, new int[0]).runAlone());
        expected.add(new BatchEntry(d, new int[] {5}, 1, true, new int[0]).runAlone());
        actual = backend.forward(List.of(new BatchEntry(a, prompt, 1, false, new int[0]),
            new BatchEntry(c, new int[] {5}, 1, true, new int[0])));
        assertEquals(b.length(), a.length());
        assertArrayEquals(b.decode(9), a.decode(9), 0f, "the step after the prompt");
      }
      for (int e = 0; e < 2; e++) {
        Forwards.assertIdentical(expected.get(e), actual.get(e), "entry " + e);
      }
    }
  }

  /**
   * One pass for the whole batch: four decode steps launch exactly what one step alone launches (embed, eight kernels
   * a layer, the final norm, lm_head), so each projection is one launch for all four rows and reads its weights once;
   * and a sequence alone launches what it launched before the batched path (eight a layer, README).
   */
  @Test
  void fourDecodeStepsInABatchAreOnePassOfTheKernels() {
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint("qwen2"));
        CudaBackend backend = CudaBackend.load(checkpoint, gpu)) {
      int layers = backend.config().numHiddenLayers();
      List<Sequence> sequences = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        sequences.add(backend.newSequence(16));
        sequences.get(i).forward(new int[] {i + 1, i + 2}, 0);
      }
      Sequence alone = sequences.getLast();
      List<Sequence> batched = sequences.subList(0, 4);
      for (int round = 0; round < 2; round++) { // the first captures both shapes
        long before = gpu.launches();
        alone.decode(3 + round);
        long one = gpu.launches() - before;
        before = gpu.launches();
        int token = 5 + round;
        List<Forward> out = backend.forward(batched.stream()
            .map(s -> new BatchEntry(s, new int[] {token}, 1, false, new int[0])).toList());
        long four = gpu.launches() - before;
        assertEquals(4, out.size());
        if (round == 1) {
          assertEquals(1 + 8L * layers + 2, one, "a decode step alone");
          assertEquals(one, four, "four decode steps in one batch");
        }
      }
      sequences.forEach(Sequence::close);
    }
  }

  /**
   * The serving engine's step on this backend: three sessions (greedy, sampled with a seed and a tap, top-k),
   * speculative with a self-draft (so the batches hold the drafter's decode steps, the target's verify chunks and
   * prefill chunks of 3 tokens), joining at different steps, generate token for token and bit for bit in every
   * reported number what each generates alone. (Plain decoding's batches are the forward tests' above; the emulator
   * takes about a second a hundred launches on a shared machine, so once.)
   */
  @Test
  void sessionsSteppedTogetherGenerateWhatEachGeneratesAlone() {
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint("qwen2"));
        CudaBackend backend = CudaBackend.load(checkpoint, gpu);
        Tokenizer tokenizer = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"))) {
      int vocab = backend.config().vocabSize();
      SplittableRandom random = new SplittableRandom(3);
      List<int[]> prompts = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        prompts.add(random.ints(2 + 3 * i, 0, vocab).toArray());
      }
      List<GenerationRequest> requests = List.of(
          GenerationRequest.builder(4, SamplingParams.greedy()).ignoreEos(true).topLogprobs(3).build(),
          GenerationRequest.builder(4, new SamplingParams(0.8, 0, 1.0, 42)).ignoreEos(true).taps(2).build(),
          GenerationRequest.builder(5, new SamplingParams(1.2, 20, 0.9, 7)).ignoreEos(true).build());
      {
        Generator g = new Generator(backend, backend, tokenizer, Set.of(), 2);
        List<Generator.Session> sessions = new ArrayList<>();
        for (int step = 0; sessions.size() < prompts.size() || sessions.stream().anyMatch(x -> !x.finished());
            step++) {
          if (step < prompts.size()) { // one joins each step
            sessions.add(g.open(prompts.get(step), requests.get(step), (a, b, c) -> {}));
          }
          g.step(sessions, 3);
          assertTrue(step < 200, "the batch must finish");
        }
        for (int i = 0; i < prompts.size(); i++) {
          GenerationResult alone = g.generate(prompts.get(i), requests.get(i), (a, b, c) -> {});
          GenerationResult together = sessions.get(i).result();
          sessions.get(i).close();
          String what = "session " + i;
          assertEquals(alone.tokens().size(), together.tokens().size(), what);
          for (int t = 0; t < alone.tokens().size(); t++) {
            TokenRecord e = alone.tokens().get(t), a = together.tokens().get(t);
            assertEquals(e.token(), a.token(), what + ", token " + t);
            assertEquals(e.source(), a.source(), what + ", token " + t);
            assertEquals(Double.doubleToLongBits(e.logprob()), Double.doubleToLongBits(a.logprob()), what);
            assertEquals(Double.doubleToLongBits(e.entropy()), Double.doubleToLongBits(a.entropy()), what);
            assertArrayEquals(e.hidden(), a.hidden(), what + ", token " + t);
          }
        }
      }
    }
  }

  @Test
  void aBadEntryIsRefusedBeforeAnythingRunsAndNoCacheChanges() {
    try (Checkpoint checkpoint = Checkpoint.open(checkpoint("qwen2"));
        CudaBackend backend = CudaBackend.load(checkpoint, gpu); CudaBackend other = CudaBackend.load(checkpoint, gpu);
        Sequence a = backend.newSequence(16); Sequence b = backend.newSequence(4); Sequence c = other.newSequence(8);
        Sequence twin = backend.newSequence(16)) {
      a.forward(new int[] {1, 2}, 0);
      twin.forward(new int[] {1, 2}, 0);
      int vocab = backend.config().vocabSize();
      BatchEntry good = new BatchEntry(a, new int[] {3}, 1, false, new int[0]);
      List<List<BatchEntry>> bad = List.of(
          List.of(good, new BatchEntry(b, new int[] {vocab}, 1, false, new int[0])), // a token outside the vocabulary
          List.of(good, new BatchEntry(b, new int[] {1, 2, 3, 4, 5}, 1, false, new int[0])), // past b's capacity
          List.of(good, new BatchEntry(b, new int[] {1}, 2, false, new int[0])), // more rows than tokens
          List.of(good, new BatchEntry(b, new int[] {1}, 1, false, new int[] {99})), // a tap past the layers
          List.of(good, new BatchEntry(a, new int[] {4}, 1, false, new int[0])), // one sequence twice
          List.of(good, new BatchEntry(c, new int[] {4}, 1, false, new int[0])), // another backend's sequence
          List.of(new BatchEntry(c, new int[] {4}, 1, false, new int[0])), // alone, too
          List.of(good, new BatchEntry(b, null, 1, false, new int[0]))); // no tokens
      for (List<BatchEntry> batch : bad) {
        var e = assertThrows(IllegalArgumentException.class, () -> backend.forward(batch));
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        assertEquals(2, a.length(), e.getMessage());
        assertEquals(0, b.length(), e.getMessage());
        assertEquals(0, c.length(), e.getMessage());
      }
      assertArrayEquals(twin.decode(3), a.decode(3), 0f, "the refused batches changed nothing");
      assertEquals(List.of(), backend.forward(List.of()));
    }
  }
}
