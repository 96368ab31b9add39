package dev.candor.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.confidence.ConfidenceBreaker;
import dev.candor.engine.confidence.TokenProbability;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.model.Backend;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The confidence breaker stops at the same token with a drafter as without one, for every k: the step that settles
 * several tokens at once emits none past the trip, the window mean it reports is below the threshold, and greedy
 * output is identical (issue 20, row 1: with a drafter four tokens came out past the trip, window mean 0.988).
 */
class BreakerTest {
  static final int VOCAB = 99;
  static final int WINDOW = 4;
  static Tokenizer tokenizer;
  static Backend target;
  static Backend drafter; // the target's weights scaled: it agrees often, so steps accept several drafts

  @BeforeAll
  static void setUp() {
    tokenizer = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
    try (Checkpoint t = Checkpoint.open(TestCheckpoints.write("breaker-target", TestCheckpoints.tiny(VOCAB, false), 11,
        0.2, DType.F32, 0, null));
        Checkpoint d = Checkpoint.open(TestCheckpoints.write("breaker-drafter", TestCheckpoints.tiny(VOCAB, false), 11,
            0.18, DType.F32, 0, null))) {
      target = JavaBackend.load(t);
      drafter = JavaBackend.load(d);
    }
  }

  @AfterAll
  static void tearDown() {
    tokenizer.close();
  }

  static GenerationResult run(Backend draft, int k, ConfidenceBreaker breaker) {
    GenerationRequest request = GenerationRequest.builder(40, SamplingParams.greedy()).ignoreEos(true)
        .scorer(new TokenProbability()::token).watcher(breaker).build();
    return new Generator(target, draft, tokenizer, Set.of(), k).generate(new int[] {3, 1, 4, 1, 5}, request,
        (r, o, t) -> { });
  }

  static int[] ids(GenerationResult r) {
    return r.tokens().stream().mapToInt(TokenRecord::token).toArray();
  }

  /** A threshold that trips exactly at token {@code at}: just above its window's mean, below every earlier one. */
  static double thresholdTrippingAt(double[] p, int at) {
    double lowestBefore = Double.POSITIVE_INFINITY;
    for (int end = WINDOW - 1; end < at; end++) {
      lowestBefore = Math.min(lowestBefore, mean(p, end));
    }
    double target = mean(p, at);
    assertTrue(target < lowestBefore, "token " + at + " must be the first with so low a window");
    return (target + Math.min(lowestBefore, 1)) / 2;
  }

  static double mean(double[] p, int end) {
    double sum = 0;
    for (int i = end - WINDOW + 1; i <= end; i++) {
      sum += p[i];
    }
    return sum / WINDOW;
  }

  @Test
  void withADrafterTheBreakerStopsAtTheSameTokenAsWithout() {
    GenerationResult free = run(null, 0, null);
    double[] p = free.tokens().stream().mapToDouble(TokenRecord::pCorrect).toArray();
    int at = firstNewLow(p, 10); // late enough that several speculative steps come first
    double threshold = thresholdTrippingAt(p, at);

    ConfidenceBreaker plainBreaker = new ConfidenceBreaker(WINDOW, threshold);
    GenerationResult plain = run(null, 0, plainBreaker);
    assertEquals(at + 1, plain.tokens().size(), "plain decoding stops right after the trip");
    assertEquals(FinishReason.LOW_CONFIDENCE, plain.finishReason());
    int acceptedSomewhere = 0;
    for (int k = 1; k <= 5; k++) {
      ConfidenceBreaker breaker = new ConfidenceBreaker(WINDOW, threshold);
      GenerationResult speculative = run(drafter, k, breaker);
      assertArrayEquals(ids(plain), ids(speculative), "k = " + k);
      ConfidenceBreaker.Report report = breaker.report();
      assertTrue(report.tripped());
      assertEquals(at, report.trippedAt(), "k = " + k);
      assertTrue(report.windowMean() < threshold, "the reported window is the one that tripped: " + report);
      assertEquals(plainBreaker.report(), report);
      acceptedSomewhere += speculative.stats().nAccepted();
    }
    assertTrue(acceptedSomewhere > 0, "the drafter's tokens were accepted, so steps settled several at once");
  }

  /** The first index from {@code from} whose window mean is below every earlier window's. */
  static int firstNewLow(double[] p, int from) {
    for (int end = Math.max(from, WINDOW); end < p.length; end++) {
      boolean low = true;
      for (int e = WINDOW - 1; e < end; e++) {
        low &= mean(p, end) < mean(p, e);
      }
      if (low) {
        return end;
      }
    }
    return WINDOW - 1;
  }

  @Test
  void tooFewMeasuredTokensIsNothingMeasuredNotLow() {
    ConfidenceBreaker breaker = new ConfidenceBreaker(8, 0.99);
    GenerationRequest request = GenerationRequest.builder(5, SamplingParams.greedy()).ignoreEos(true)
        .scorer(new TokenProbability()::token).watcher(breaker).build();
    GenerationResult r = new Generator(target, null, tokenizer, Set.of(), 0).generate(new int[] {2, 7}, request,
        (a, b, c) -> { });
    assertEquals(5, r.tokens().size());
    assertEquals(FinishReason.LENGTH, r.finishReason());
    assertTrue(Double.isNaN(breaker.report().windowMean()), "fewer than window tokens: nothing to judge");
    assertEquals(5, breaker.report().measured());
  }
}
