package dev.candor.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.model.Backend;
import dev.candor.engine.sampling.LogitAdjustments;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sessions stepped together give exactly what each gives alone, whatever company they keep: joining at different
 * steps, prefilling in small chunks while others decode, finishing at different times, with and without a drafter,
 * greedy and seeded sampling, penalties, a probe tap and a breaker. On the Java backend "exactly" means every token and
 * every reported number, bit for bit.
 */
class BatchedGenerationTest {
  static final int VOCAB = 99;
  static Tokenizer tokenizer;
  static Backend target;
  static Backend drafter;

  @BeforeAll
  static void setUp() {
    tokenizer = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
    try (Checkpoint t = Checkpoint.open(TestCheckpoints.write("batch-target", TestCheckpoints.tiny(VOCAB, false), 21,
        0.3, DType.F32, 0, null));
        Checkpoint d = Checkpoint.open(TestCheckpoints.write("batch-drafter", TestCheckpoints.tiny(VOCAB, false), 21,
            0.27, DType.F32, 0, null))) {
      target = JavaBackend.load(t);
      drafter = JavaBackend.load(d);
    }
  }

  @AfterAll
  static void tearDown() {
    tokenizer.close();
  }

  /** A request of the mix: its prompt, settings, and the step at which it joins the batch. */
  record Spec(int[] prompt, GenerationRequest request, int joinsAt) {}

  static List<Spec> mix(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<Spec> specs = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      int[] prompt = new int[1 + r.nextInt(40)];
      for (int j = 0; j < prompt.length; j++) {
        prompt[j] = r.nextInt(VOCAB);
      }
      SamplingParams params = i % 3 == 0 ? SamplingParams.greedy()
          : new SamplingParams(0.5 + r.nextDouble(), i % 2 == 0 ? 0 : 20, i == 4 ? 0.9 : 1.0, r.nextLong());
      GenerationRequest.Builder b = GenerationRequest.builder(5 + r.nextInt(30), params).ignoreEos(true)
          .topLogprobs(3);
      if (i == 2) {
        b.adjustments(new LogitAdjustments(1.3, 0.4, 0.2, Map.of(7, 2f)));
      }
      if (i == 5) {
        b.taps(2);
      }
      specs.add(new Spec(prompt, b.build(), r.nextInt(6)));
    }
    return specs;
  }

  static GenerationResult alone(Generator g, Spec s) {
    return g.generate(s.prompt(), s.request(), (a, b, c) -> { });
  }

  /** Steps every spec in one batch, each joining at its step, prefill chunks of {@code chunk} tokens. */
  static List<GenerationResult> together(Generator g, List<Spec> specs, int chunk) {
    List<Generator.Session> sessions = new ArrayList<>();
    Generator.Session[] bySpec = new Generator.Session[specs.size()];
    for (int step = 0; sessions.isEmpty() || sessions.stream().anyMatch(s -> !s.finished())
        || sessions.size() < specs.size(); step++) {
      for (int i = 0; i < specs.size(); i++) {
        if (specs.get(i).joinsAt() == step) {
          bySpec[i] = g.open(specs.get(i).prompt(), specs.get(i).request(), (a, b, c) -> { });
          sessions.add(bySpec[i]);
        }
      }
      g.step(sessions, chunk);
      assertTrue(step < 10_000, "the batch must finish");
    }
    List<GenerationResult> out = new ArrayList<>();
    for (Generator.Session s : bySpec) {
      out.add(s.result());
      s.close();
    }
    return out;
  }

  static void assertSame(GenerationResult expected, GenerationResult actual, String what) {
    assertEquals(expected.text(), actual.text(), what);
    assertEquals(expected.finishReason(), actual.finishReason(), what);
    assertEquals(expected.tokens().size(), actual.tokens().size(), what);
    for (int i = 0; i < expected.tokens().size(); i++) {
      TokenRecord e = expected.tokens().get(i);
      TokenRecord a = actual.tokens().get(i);
      String at = what + ", token " + i;
      assertEquals(e.token(), a.token(), at);
      assertEquals(e.source(), a.source(), at);
      assertEquals(Double.doubleToLongBits(e.logprob()), Double.doubleToLongBits(a.logprob()), at);
      assertEquals(Double.doubleToLongBits(e.rawLogprob()), Double.doubleToLongBits(a.rawLogprob()), at);
      assertEquals(Double.doubleToLongBits(e.entropy()), Double.doubleToLongBits(a.entropy()), at);
      assertEquals(Double.doubleToLongBits(e.draftProb()), Double.doubleToLongBits(a.draftProb()), at);
      assertArrayEquals(e.hidden(), a.hidden(), at);
    }
  }

  @Test
  void aBatchGivesEachSessionExactlyWhatItGetsAlone() {
    for (boolean speculative : new boolean[] {false, true}) {
      Generator g = new Generator(target, speculative ? drafter : null, tokenizer, Set.of(), 3);
      List<Spec> specs = mix(speculative ? 2 : 1);
      List<GenerationResult> batched = together(g, specs, 4);
      for (int i = 0; i < specs.size(); i++) {
        assertSame(alone(g, specs.get(i)), batched.get(i), (speculative ? "speculative" : "plain") + " spec " + i);
      }
    }
  }

  @Test
  void theBreakerAndEndsWorkPerSession() {
    Generator g = new Generator(target, drafter, tokenizer, Set.of(5), 4);
    List<Spec> specs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      GenerationRequest request = GenerationRequest.builder(25, new SamplingParams(1.0, 0, 1.0, i))
          .scorer(new dev.candor.engine.confidence.TokenProbability()::token)
          .watcher(i == 1 ? new dev.candor.engine.confidence.ConfidenceBreaker(2, 0.99) : null).build();
      specs.add(new Spec(new int[] {1 + i, 2, 3}, request, i));
    }
    List<GenerationResult> batched = together(g, specs, 64);
    assertEquals(FinishReason.LOW_CONFIDENCE, batched.get(1).finishReason(), "the breaker stops its own session");
    for (int i = 0; i < specs.size(); i++) {
      GenerationRequest r = specs.get(i).request();
      GenerationRequest fresh = i == 1 ? r.toBuilder().watcher(new dev.candor.engine.confidence.ConfidenceBreaker(2,
          0.99)).build() : r;
      assertSame(alone(g, new Spec(specs.get(i).prompt(), fresh, 0)), batched.get(i), "session " + i);
    }
  }
}
