package dev.candor.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.djl.DjlBackend;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitAdjustments;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenCounts;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The invariants of speculative decoding: greedy with a drafter equals greedy without one, token for token; sampled
 * output is distributed as the target's (and a broken verifier is caught); every token's record is the target's
 * own; caches stay consistent after rejections.
 */
class SpeculativeDecodingTest {
  static final int VOCAB = 99;
  static Tokenizer tokenizer;
  static DjlBackend target;
  static DjlBackend unrelated; // another seed and a smaller shape: agrees rarely
  static DjlBackend close; // the target's weights scaled by 0.9: agrees often

  static DjlBackend load(String name, Qwen2Config config, long seed, double std) {
    try (Checkpoint c = Checkpoint.open(TestCheckpoints.write(name, config, seed, std, DType.F32, 0, null))) {
      return DjlBackend.load(c, "cpu");
    }
  }

  @BeforeAll
  static void setUp() {
    tokenizer = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
    target = load("spec-target", TestCheckpoints.tiny(VOCAB, false), 11, 0.2);
    unrelated = load("spec-unrelated", new Qwen2Config(16, 24, 2, 2, 1, 8, 1e-6, 10000, VOCAB, 512, true, DType.F32), 12, 0.2);
    close = load("spec-close", TestCheckpoints.tiny(VOCAB, false), 11, 0.18);
  }

  @AfterAll
  static void tearDown() {
    target.close();
    unrelated.close();
    close.close();
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

  static GenerationResult generate(DjlBackend drafter, int k, int[] prompt, GenerationRequest request) {
    return new Generator(target, drafter, tokenizer, Set.of(), k).generate(prompt, request, (r, o, t) -> {});
  }

  static int[] ids(GenerationResult result) {
    return result.tokens().stream().mapToInt(TokenRecord::token).toArray();
  }

  @Test
  void greedyWithADrafterEqualsGreedyWithoutOne() {
    GenerationRequest request = GenerationRequest.of(24, SamplingParams.greedy()).withIgnoreEos(true);
    int[] acceptedByDrafter = new int[3];
    for (int p = 0; p < 6; p++) {
      int[] prompt = prompt(100 + p, 3 + p * 2);
      int[] plain = ids(generate(null, 0, prompt, request));
      assertEquals(24, plain.length);
      DjlBackend[] drafters = {target, close, unrelated};
      for (int d = 0; d < drafters.length; d++) {
        for (int k = 1; k <= 8; k++) {
          GenerationResult speculative = generate(drafters[d], k, prompt, request);
          assertArrayEquals(plain, ids(speculative), "prompt " + p + ", drafter " + d + ", k " + k);
          acceptedByDrafter[d] += speculative.stats().nAccepted();
        }
      }
    }
    // the three drafters really span "agrees always" to "agrees rarely"
    assertTrue(acceptedByDrafter[0] > acceptedByDrafter[1] && acceptedByDrafter[1] > acceptedByDrafter[2],
        java.util.Arrays.toString(acceptedByDrafter));
  }

  @Test
  void everyTokenCarriesTheTargetsOwnDistribution() {
    int[] prompt = prompt(7, 6);
    GenerationRequest request = GenerationRequest.of(30, SamplingParams.greedy()).withIgnoreEos(true).withTopLogprobs(5);
    GenerationResult plain = generate(null, 0, prompt, request);
    for (DjlBackend drafter : List.of(target, close, unrelated)) {
      GenerationResult speculative = generate(drafter, 4, prompt, request);
      assertEquals(plain.tokens().size(), speculative.tokens().size());
      for (int i = 0; i < plain.tokens().size(); i++) {
        TokenRecord a = plain.tokens().get(i);
        TokenRecord b = speculative.tokens().get(i);
        assertEquals(a.logprob(), b.logprob(), 1e-4, "token " + i + " (" + b.source() + ")");
        assertEquals(a.entropy(), b.entropy(), 1e-4);
        assertEquals(5, b.top().length);
        assertEquals(a.top()[0].token(), b.top()[0].token());
        boolean drafted = b.source() == Source.ACCEPTED || b.source() == Source.RESAMPLED;
        assertEquals(drafted, Double.isFinite(b.draftProb()) && b.draftTop() >= 0, b.toString());
        assertEquals(drafted, Double.isFinite(b.acceptanceProb()), b.toString());
      }
      SpeculationStats s = speculative.stats();
      assertEquals(1.0, s.coverage());
      assertEquals(s.nTokens(), s.nAccepted() + s.nResampled() + s.nBonus() + s.nTarget());
      assertEquals(s.steps(), java.util.Arrays.stream(s.acceptedPerStep()).sum());
    }
    assertEquals(30, plain.stats().nTarget());
  }

  @Test
  void continuingAfterRejectionsMatchesAFreshRun() {
    int[] prompt = prompt(9, 5);
    GenerationRequest request = GenerationRequest.of(30, SamplingParams.greedy()).withIgnoreEos(true);
    GenerationResult speculative = generate(unrelated, 6, prompt, request);
    assertTrue(speculative.stats().nResampled() > 5, "the unrelated drafter must be rejected often");
    int[] out = ids(speculative);
    for (int split : new int[] {3, 11, 20}) {
      int[] extended = java.util.Arrays.copyOf(prompt, prompt.length + split);
      System.arraycopy(out, 0, extended, prompt.length, split);
      int[] rest = ids(generate(null, 0, extended, GenerationRequest.of(30 - split, SamplingParams.greedy())
          .withIgnoreEos(true)));
      assertArrayEquals(java.util.Arrays.copyOfRange(out, split, 30), rest, "split at " + split);
    }
  }

  @Test
  void hiddenStatesAreTheTokensOwnPosition() {
    int[] prompt = prompt(21, 4);
    int tap = 2;
    GenerationRequest request = GenerationRequest.of(12, SamplingParams.greedy()).withIgnoreEos(true).withTaps(tap);
    for (DjlBackend drafter : new DjlBackend[] {null, close, unrelated}) {
      GenerationResult result = generate(drafter, 3, prompt, request);
      int[] all = java.util.Arrays.copyOf(prompt, prompt.length + result.tokens().size());
      System.arraycopy(ids(result), 0, all, prompt.length, result.tokens().size());
      try (Sequence s = target.newSequence(64)) {
        float[][] expected = s.forward(all, 0, tap).taps()[0];
        for (TokenRecord r : result.tokens()) {
          assertNotNull(r.hidden(), "record " + r.index());
          assertArrayEquals(expected[prompt.length + r.index()], r.hidden(), 1e-4f, "record " + r.index());
        }
      }
    }
  }

  /** Several taps: each record holds their hidden states at its own position, concatenated in the request's order. */
  @Test
  void severalTapsAreConcatenatedInTheRequestsOrder() {
    int[] prompt = prompt(23, 4);
    int[] taps = {3, 0, 2};
    GenerationRequest request = GenerationRequest.of(12, SamplingParams.greedy()).withIgnoreEos(true).withTaps(taps);
    for (DjlBackend drafter : new DjlBackend[] {null, close, unrelated}) {
      GenerationResult result = generate(drafter, 3, prompt, request);
      int[] all = java.util.Arrays.copyOf(prompt, prompt.length + result.tokens().size());
      System.arraycopy(ids(result), 0, all, prompt.length, result.tokens().size());
      try (Sequence s = target.newSequence(64)) {
        float[][][] expected = s.forward(all, 0, taps).taps();
        int hidden = target.config().hiddenSize();
        for (TokenRecord r : result.tokens()) {
          assertEquals(taps.length * hidden, r.hidden().length, "record " + r.index());
          for (int k = 0; k < taps.length; k++) {
            assertArrayEquals(expected[k][prompt.length + r.index()],
                java.util.Arrays.copyOfRange(r.hidden(), k * hidden, (k + 1) * hidden), 1e-4f,
                "record " + r.index() + ", tap " + taps[k]);
          }
        }
      }
    }
  }

  /** Exact probabilities of the first two sampled tokens under the target alone: [VOCAB * VOCAB]. */
  static double[] exactPairs(DjlBackend model, int[] prompt, SamplingParams params) {
    return exactPairs(model, prompt, params, LogitAdjustments.NONE);
  }

  /** The same, the logits adjusted as the definitions say: the prompt's tokens, then the first token's too. */
  static double[] exactPairs(DjlBackend model, int[] prompt, SamplingParams params, LogitAdjustments adjust) {
    int v = model.config().vocabSize();
    double[] p = new double[v * v];
    try (Sequence s = model.newSequence(prompt.length + 2)) {
      float[] firstLogits = s.prefill(prompt);
      TokenDistribution first = TokenDistribution.of(firstLogits, adjust.apply(firstLogits,
          new TokenCounts(v, prompt)), params);
      for (int a = 0; a < v; a++) {
        double pa = first.samplingProb(a);
        if (pa == 0) {
          continue;
        }
        s.truncate(prompt.length);
        float[] secondLogits = s.decode(a);
        TokenCounts afterA = new TokenCounts(v, prompt);
        afterA.addOutput(a);
        TokenDistribution second = TokenDistribution.of(secondLogits, adjust.apply(secondLogits, afterA), params);
        for (int b = 0; b < v; b++) {
          p[a * v + b] = pa * second.samplingProb(b);
        }
      }
    }
    return p;
  }

  /** Pearson's chi-square, bins with expected count below 5 pooled; returns the Wilson-Hilferty z-score. */
  static double chiSquareZ(double[] expected, int[] counts, int n) {
    double chi = 0;
    int bins = 0;
    double pooledExpected = 0;
    int pooledCount = 0;
    for (int i = 0; i < expected.length; i++) {
      double e = expected[i] * n;
      if (e < 5) {
        pooledExpected += e;
        pooledCount += counts[i];
      } else {
        chi += (counts[i] - e) * (counts[i] - e) / e;
        bins++;
      }
    }
    if (pooledExpected > 0) {
      chi += (pooledCount - pooledExpected) * (pooledCount - pooledExpected) / Math.max(pooledExpected, 1e-9);
      bins++;
    }
    int df = bins - 1;
    return (Math.cbrt(chi / df) - (1 - 2.0 / (9 * df))) / Math.sqrt(2.0 / (9 * df));
  }

  @Test
  void sampledOutputIsDistributedAsTheTargetsAndABrokenVerifierIsCaught() {
    sampledOutputFollowsTheTarget(LogitAdjustments.NONE, 32, 0.6, 0.2, 1);
  }

  /**
   * With penalties and a logit bias the output follows the target's adjusted distribution: both models' logits are
   * adjusted with each drafted position's own history (the repetition penalty reads the prompt and the draft before
   * the position, presence and frequency the draft before it), or the verifier would be exact for the wrong one. The
   * drafter here is close to the target (its weights scaled), so most second tokens come from a drafted position:
   * a history that forgot the draft before a position is caught (z above 10, measured). The draws run eight at a
   * time as one batch (prefilled two tokens per step), so this is also the test that batching stays lossless.
   */
  @Test
  void withPenaltiesAndABiasSampledOutputIsDistributedAsTheAdjustedTargets() {
    sampledOutputFollowsTheTarget(new LogitAdjustments(1.6, 3.0, 2.0, java.util.Map.of(3, 1.5f, 6, -100f)), 31, 0.5,
        0.02, 8);
  }

  void sampledOutputFollowsTheTarget(LogitAdjustments adjust, long drafterSeed, double drafterStd, double minTv,
      int inFlight) {
    int v = 8;
    Qwen2Config small = new Qwen2Config(16, 20, 2, 2, 1, 8, 1e-6, 10000, v, 64, false, DType.F32);
    try (DjlBackend smallTarget = load("stat-target", small, 31, 0.6);
        DjlBackend smallDrafter = load("stat-drafter-" + drafterSeed + "-" + drafterStd, small, drafterSeed,
            drafterStd)) {
      int[] prompt = {1, 5, 2};
      for (SamplingParams params : List.of(new SamplingParams(1.0, 0, 1.0, 0), new SamplingParams(0.8, 6, 0.9, 0))) {
        double[] exact = exactPairs(smallTarget, prompt, params, adjust);
        double[] draftOnly = exactPairs(smallDrafter, prompt, params, adjust);
        if (!adjust.isNone()) {
          double[] unadjusted = exactPairs(smallTarget, prompt, params);
          double moved = 0;
          for (int i = 0; i < exact.length; i++) {
            moved += Math.abs(exact[i] - unadjusted[i]) / 2;
          }
          assertTrue(moved > 0.1, "the adjustments must move the distribution for the test to mean anything: TV "
              + moved);
        }
        double tv = 0;
        for (int i = 0; i < exact.length; i++) {
          tv += Math.abs(exact[i] - draftOnly[i]) / 2;
        }
        assertTrue(tv > minTv, "target and drafter must differ for the test to mean anything: TV " + tv);

        int n = 2000;
        int brokenN = 500; // a verifier that ignores the target is far off: a few hundred draws show it
        int[] counts = new int[v * v];
        int[] brokenCounts = new int[v * v];
        Generator good = new Generator(smallTarget, smallDrafter, tokenizer, Set.of(), 3);
        Generator broken = new Generator(smallTarget, smallDrafter, tokenizer, Set.of(), 3,
            (draft, targets, sampler) -> new RejectionSampler.Verdict(draft.size(), sampler.sample(targets[draft.size()]),
                Source.BONUS, new double[draft.size()]));
        for (int seed = 0; seed < n; seed += inFlight) {
          for (int[] out : inFlight(good, prompt, params, adjust, seed, Math.min(n, seed + inFlight))) {
            counts[out[0] * v + out[1]]++;
          }
          GenerationRequest request = GenerationRequest.builder(4, new SamplingParams(params.temperature(),
              params.topK(), params.topP(), seed)).ignoreEos(true).adjustments(adjust).build();
          if (seed < brokenN && tv > 0.5) {
            int[] bad = ids(broken.generate(prompt, request, (r, o, t) -> {}));
            brokenCounts[bad[0] * v + bad[1]]++;
          }
        }
        double z = chiSquareZ(exact, counts, n);
        double brokenZ = chiSquareZ(exact, brokenCounts, brokenN);
        assertTrue(z < 4.5, "speculative sampling departs from the target distribution: z = " + z + " " + params);
        if (tv > 0.5) { // against a close drafter a verifier that accepts everything is less wrong: tested far apart
          assertTrue(brokenZ > 10, "a verifier that accepts everything must be caught: z = " + brokenZ + " " + params);
        }
      }
    }
  }

  /** Seeds {@code from..to} generated as one batch of sessions stepped together: each one's output tokens. */
  static List<int[]> inFlight(Generator generator, int[] prompt, SamplingParams params, LogitAdjustments adjust,
      int from, int to) {
    List<Generator.Session> sessions = new java.util.ArrayList<>();
    for (int seed = from; seed < to; seed++) {
      sessions.add(generator.open(prompt, GenerationRequest.builder(4, new SamplingParams(params.temperature(),
          params.topK(), params.topP(), seed)).ignoreEos(true).adjustments(adjust).build(), (r, o, t) -> { }));
    }
    while (sessions.stream().anyMatch(s -> !s.finished())) {
      generator.step(sessions, 2);
    }
    List<int[]> out = new java.util.ArrayList<>();
    for (Generator.Session s : sessions) {
      out.add(ids(s.result()));
      s.close();
    }
    return out;
  }

  @Test
  void theRejectionSamplerAloneReproducesTheTarget() {
    // one position, many draws: the emitted token must follow the target whatever the draft distribution
    int v = 12;
    SplittableRandom r = new SplittableRandom(3);
    float[] targetLogits = new float[v];
    float[] draftLogits = new float[v];
    for (int i = 0; i < v; i++) {
      targetLogits[i] = (float) r.nextGaussian() * 1.5f;
      draftLogits[i] = (float) r.nextGaussian() * 1.5f;
    }
    SamplingParams params = new SamplingParams(1, 0, 1, 0);
    TokenDistribution t = TokenDistribution.of(targetLogits, params);
    TokenDistribution d = TokenDistribution.of(draftLogits, params);
    Sampler sampler = new Sampler(5);
    int n = 200_000;
    int[] counts = new int[v];
    for (int i = 0; i < n; i++) {
      int x = sampler.sample(d);
      var draft = new Draft(new int[] {x}, new TokenDistribution[] {d});
      var verdict = RejectionSampler.verify(draft, new TokenDistribution[] {t, t}, sampler);
      counts[verdict.accepted() == 1 ? x : verdict.next()]++;
    }
    double[] expected = new double[v];
    for (int i = 0; i < v; i++) {
      expected[i] = t.samplingProb(i);
    }
    assertTrue(chiSquareZ(expected, counts, n) < 4.5);
  }
}
