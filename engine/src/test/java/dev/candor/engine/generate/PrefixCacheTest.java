package dev.candor.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.djl.DjlBackend;
import dev.candor.engine.model.Backend;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Prefix caching: a prompt that starts with cached blocks copies their KV instead of computing it, and generates what
 * it would have generated without the cache (on the Java backend bit for bit; on DJL's to float rounding, as its
 * matrix products differ in the last bits between chunk shapes); a shared system prompt is reused by a different
 * question; the drafter's cache is reused alike; a small budget evicts the least recently used blocks.
 */
class PrefixCacheTest {
  static final int VOCAB = 99;
  static Tokenizer tokenizer;
  static Backend djlTarget;
  static Backend djlDrafter;
  static Backend javaTarget;
  static Backend javaDrafter;

  static Backend load(String name, long seed, double std, BiFunction<Checkpoint, String, Backend> loader) {
    try (Checkpoint c = Checkpoint.open(TestCheckpoints.write(name, TestCheckpoints.tiny(VOCAB, false), seed, std,
        DType.F32, 0, null))) {
      return loader.apply(c, "cpu");
    }
  }

  @BeforeAll
  static void setUp() {
    tokenizer = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
    djlTarget = load("prefix-target", 31, 0.3, DjlBackend::load);
    djlDrafter = load("prefix-drafter", 31, 0.27, DjlBackend::load);
    javaTarget = load("prefix-target", 31, 0.3, (c, device) -> JavaBackend.load(c));
    javaDrafter = load("prefix-drafter", 31, 0.27, (c, device) -> JavaBackend.load(c));
  }

  @AfterAll
  static void tearDown() {
    djlTarget.close();
    djlDrafter.close();
    javaTarget.close();
    javaDrafter.close();
    tokenizer.close();
  }

  static int[] prompt(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = r.nextInt(VOCAB);
    }
    return p;
  }

  static GenerationResult run(Generator g, int[] prompt) {
    return g.generate(prompt, GenerationRequest.builder(16, SamplingParams.greedy()).ignoreEos(true).topLogprobs(2)
        .build(), (a, b, c) -> { });
  }

  static void assertClose(GenerationResult expected, GenerationResult actual, double tolerance) {
    assertArrayEquals(expected.tokens().stream().mapToInt(TokenRecord::token).toArray(),
        actual.tokens().stream().mapToInt(TokenRecord::token).toArray());
    for (int i = 0; i < expected.tokens().size(); i++) {
      double e = expected.tokens().get(i).rawLogprob();
      double a = actual.tokens().get(i).rawLogprob();
      assertTrue(tolerance == 0 ? Double.doubleToLongBits(e) == Double.doubleToLongBits(a)
          : Math.abs(e - a) <= tolerance, "token " + i + ": " + e + " vs " + a);
    }
  }

  /** A repeated prompt and a shared system prompt, with and without a drafter, against the same without a cache. */
  static void reusesPrefixes(Backend target, Backend drafter, double tolerance) {
    int[] system = prompt(1, 70);
    int[] first = concat(system, prompt(2, 30));
    int[] other = concat(system, prompt(3, 12));
    for (Backend draft : Arrays.asList(null, drafter)) {
      Generator cold = new Generator(target, draft, tokenizer, Set.of(), 3);
      Generator warm = new Generator(target, draft, tokenizer, Set.of(), 3);
      warm.cachePrefixes(64L << 20);
      GenerationResult a = run(warm, first);
      assertEquals(0, a.cachedPromptTokens(), "nothing is cached yet");
      GenerationResult again = run(warm, first);
      assertEquals(96, again.cachedPromptTokens(), "three whole blocks of the 99-token head");
      assertClose(run(cold, first), again, tolerance);
      GenerationResult shared = run(warm, other);
      assertEquals(64, shared.cachedPromptTokens(), "the blocks the system prompt fills");
      assertClose(run(cold, other), shared, tolerance);
      assertTrue(warm.prefixStats().hits() >= 2);
    }
  }

  @Test
  void javaReusesPrefixesBitForBit() {
    reusesPrefixes(javaTarget, javaDrafter, 0);
  }

  @Test
  void aBlockOfAnotherModelIsRefused() {
    try (var a = javaTarget.newSequence(64); var b = javaDrafter.newSequence(64)) {
      a.prefill(prompt(4, 40));
      var block = a.copyOut(0, 32);
      assertEquals(32, block.positions());
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> b.append(block));
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> a.copyOut(30, 41));
      assertEquals(0, b.length(), "a refused block leaves the sequence as it was");
    }
  }

  @Test
  void djlReusesPrefixesToFloatRounding() {
    reusesPrefixes(djlTarget, djlDrafter, 1e-4);
  }

  @Test
  void aSmallBudgetKeepsTheMostRecentlyUsedBlocks() {
    Generator g = new Generator(djlTarget, null, tokenizer, Set.of(), 0);
    long block = 2L * djlTarget.config().numHiddenLayers() * djlTarget.config().numKeyValueHeads()
        * djlTarget.config().headDim() * PrefixCache.BLOCK * Float.BYTES;
    g.cachePrefixes(3 * block); // room for three blocks
    int[] a = prompt(7, 70);
    int[] b = prompt(8, 70);
    run(g, a); // a's two blocks
    run(g, b); // b's two: one of a's leaves
    assertEquals(3, g.prefixStats().blocks());
    assertEquals(64, run(g, b).cachedPromptTokens(), "the most recent prompt is whole");
    assertTrue(g.prefixStats().bytes() <= 3 * block);
  }

  static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
