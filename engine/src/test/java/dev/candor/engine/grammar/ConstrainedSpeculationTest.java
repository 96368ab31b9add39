package dev.candor.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.generate.Draft;
import dev.candor.engine.generate.RejectionSampler;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Speculative decoding under a grammar stays exact: with the drafter's and the target's distributions both masked by
 * the states along the draft, the emitted token sequences follow the masked target's distribution (chi-square
 * against the exact distribution, enumerated), every emitted token lies inside its mask, and a verifier that sees
 * the target unmasked is caught.
 */
class ConstrainedSpeculationTest {
  // a toy vocabulary in which one text has several spellings, so drafts and targets disagree in interesting ways
  static final String[] TOKENS = {"\"", "a", "b", "ab", "ba", "\"a", "b\"", "x", "<end>"};
  static final int END = TOKENS.length - 1;
  static final Vocabulary VOCABULARY = toyVocabulary();
  // the language: one of four strings
  static final TokenAutomaton AUTOMATON = TokenAutomaton.compile(
      Grammar.jsonSchema(GrammarTesting.json("{\"enum\":[\"a\",\"ab\",\"ba\",\"bab\"]}")), VOCABULARY);
  static final SamplingParams PARAMS = new SamplingParams(1.0, 0, 1.0, 0);

  static Vocabulary toyVocabulary() {
    byte[][] bytes = new byte[TOKENS.length][];
    for (int i = 0; i < TOKENS.length; i++) {
      bytes[i] = TOKENS[i].getBytes(StandardCharsets.UTF_8);
    }
    return Vocabulary.of(bytes, Set.of(END), Set.of(END));
  }

  /** A "model": logits that depend on the whole prefix, deterministic in (prefix, salt). */
  static float[] logits(List<Integer> prefix, long salt) {
    SplittableRandom r = new SplittableRandom(prefix.hashCode() * 0x9E3779B97F4A7C15L + salt);
    float[] l = new float[TOKENS.length];
    for (int i = 0; i < l.length; i++) {
      l[i] = (float) r.nextGaussian() * 1.5f;
    }
    return l;
  }

  static final long TARGET = 1;
  static final long DRAFTER = 2;

  /** The exact probability of every complete token sequence under plain masked sampling from the target. */
  static Map<List<Integer>, Double> exact() {
    Map<List<Integer>, Double> out = new HashMap<>();
    enumerate(new ArrayList<>(), AUTOMATON.start(), 1.0, out);
    return out;
  }

  static void enumerate(List<Integer> prefix, TokenAutomaton.State s, double p, Map<List<Integer>, Double> out) {
    if (AUTOMATON.isEnded(s)) {
      out.put(List.copyOf(prefix), p);
      return;
    }
    TokenDistribution d = ConstrainedDecoding.distribution(AUTOMATON, s, logits(prefix, TARGET), PARAMS);
    for (int t : AUTOMATON.allowed(s).ids()) {
      prefix.add(t);
      enumerate(prefix, AUTOMATON.advance(s, t), p * d.samplingProb(t), out);
      prefix.removeLast();
    }
  }

  /** One generation by constrained speculative decoding with drafts of k; the verifier is the real one unless broken. */
  static List<Integer> speculate(long seed, int k, boolean brokenVerifier) {
    Sampler sampler = new Sampler(seed);
    List<Integer> out = new ArrayList<>();
    TokenAutomaton.State state = AUTOMATON.start();
    while (!AUTOMATON.isEnded(state)) {
      List<Integer> draftPrefix = new ArrayList<>(out);
      ConstrainedDecoding.ConstrainedDraft draft = ConstrainedDecoding.draft(AUTOMATON, state,
          logits(draftPrefix, DRAFTER), token -> {
            draftPrefix.add(token);
            return logits(draftPrefix, DRAFTER);
          }, k, PARAMS, sampler);
      float[][] target = new float[draft.size() + 1][];
      List<Integer> targetPrefix = new ArrayList<>(out);
      for (int i = 0; i <= draft.size(); i++) {
        target[i] = logits(targetPrefix, TARGET);
        if (i < draft.size()) {
          targetPrefix.add(draft.draft().tokens()[i]);
        }
      }
      if (brokenVerifier) {
        // the mistake to catch: the target's distributions left unmasked
        TokenDistribution[] raw = Arrays.stream(target).map(l -> TokenDistribution.of(l, PARAMS))
            .toArray(TokenDistribution[]::new);
        RejectionSampler.Verdict v = RejectionSampler.verify(draft.draft(), raw, sampler);
        for (int i = 0; i < v.accepted(); i++) {
          out.add(draft.draft().tokens()[i]);
        }
        TokenAutomaton.State after = draft.states()[v.accepted()];
        if (AUTOMATON.isEnded(after)) {
          return out;
        }
        if (!AUTOMATON.allows(after, v.next())) {
          out.add(-1); // left the grammar
          return out;
        }
        out.add(v.next());
        state = AUTOMATON.advance(after, v.next());
        continue;
      }
      ConstrainedDecoding.Step step = ConstrainedDecoding.verify(AUTOMATON, draft, target, PARAMS, sampler);
      for (int i = 0; i < step.verdict().accepted(); i++) {
        out.add(draft.draft().tokens()[i]);
      }
      if (!step.ended()) {
        out.add(step.verdict().next());
      }
      state = step.state();
    }
    return out;
  }

  @Test
  void speculativeOutputFollowsTheMaskedTargetExactly() {
    Map<List<Integer>, Double> exact = exact();
    assertEquals(1.0, exact.values().stream().mapToDouble(Double::doubleValue).sum(), 1e-6);
    assertTrue(exact.size() >= 8, "several spellings of the four strings: " + exact.size());
    List<List<Integer>> outcomes = new ArrayList<>(exact.keySet());
    double[] expected = outcomes.stream().mapToDouble(exact::get).toArray();
    for (int k : new int[] {1, 3}) {
      int n = 4000;
      int[] counts = new int[outcomes.size()];
      for (int seed = 0; seed < n; seed++) {
        List<Integer> out = speculate(seed, k, false);
        int i = outcomes.indexOf(out);
        assertTrue(i >= 0, "an output outside the language: " + out);
        counts[i]++;
      }
      double z = chiSquareZ(expected, counts, n);
      assertTrue(z < 4.5, "k = " + k + ": constrained speculation departs from the masked target: z = " + z);
    }
  }

  @Test
  void aVerifierThatIgnoresTheMaskIsCaught() {
    Map<List<Integer>, Double> exact = exact();
    List<List<Integer>> outcomes = new ArrayList<>(exact.keySet());
    double[] expected = new double[outcomes.size() + 1];
    for (int i = 0; i < outcomes.size(); i++) {
      expected[i] = exact.get(outcomes.get(i));
    }
    int n = 1000;
    int[] counts = new int[outcomes.size() + 1]; // the last bin: outputs that left the grammar
    for (int seed = 0; seed < n; seed++) {
      int i = outcomes.indexOf(speculate(seed, 3, true));
      counts[i >= 0 ? i : outcomes.size()]++;
    }
    assertTrue(counts[outcomes.size()] > 0 || chiSquareZ(expected, counts, n) > 10,
        "an unmasked verifier must leave the grammar or bias the output: " + Arrays.toString(counts));
  }

  @Test
  void onRandomLogitsEveryVerifiedTokenIsInsideItsMask() {
    // the Qwen vocabulary, a schema with several kinds of position, random logits for drafter and target
    Vocabulary qwen = GrammarTesting.qwenVocabulary();
    TokenAutomaton a = TokenAutomaton.compile(Grammar.jsonSchema(GrammarTesting.json("""
        {"type":"object","properties":{"id":{"type":"integer"},"tag":{"enum":["alpha","beta"]},
         "note":{"type":"string","maxLength":12}},"required":["id","tag","note"],"additionalProperties":false}""")), qwen);
    GrammarTesting.RandomLogits r = new GrammarTesting.RandomLogits(qwen.size(), 5);
    for (SamplingParams params : List.of(new SamplingParams(1.0, 0, 1.0, 7), SamplingParams.greedy())) {
      Sampler sampler = new Sampler(params.seed());
      TokenAutomaton.State state = a.start();
      int steps = 0;
      while (!a.isEnded(state) && steps++ < 400) {
        ConstrainedDecoding.ConstrainedDraft draft = ConstrainedDecoding.draft(a, state, r.next(),
            token -> r.next(), 4, params, sampler);
        float[][] target = new float[draft.size() + 1][];
        for (int i = 0; i < target.length; i++) {
          target[i] = r.next();
        }
        ConstrainedDecoding.Step step = ConstrainedDecoding.verify(a, draft, target, params, sampler);
        Draft d = draft.draft();
        for (int i = 0; i < step.verdict().accepted(); i++) {
          assertTrue(a.allowed(draft.states()[i]).allows(d.tokens()[i]), "accepted draft " + i);
          assertEquals(0.0, step.target()[i].samplingProb(firstOutside(a, draft.states()[i])), "target mass outside");
        }
        if (!step.ended()) {
          assertTrue(a.allowed(draft.states()[step.verdict().accepted()]).allows(step.verdict().next()), "next token");
        }
        state = step.state();
      }
      assertTrue(a.isEnded(state), "the bounded schema must end within 400 steps");
    }
  }

  static int firstOutside(TokenAutomaton a, TokenAutomaton.State s) {
    TokenMask m = a.allowed(s);
    for (int i = 0; i < m.size(); i++) {
      if (!m.allows(i)) {
        return i;
      }
    }
    throw new AssertionError("a mask that allows everything");
  }

  /** Pearson's chi-square with bins of expected count below 5 pooled; the Wilson-Hilferty z-score. */
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
    if (pooledExpected > 0 || pooledCount > 0) {
      chi += (pooledCount - pooledExpected) * (pooledCount - pooledExpected) / Math.max(pooledExpected, 1e-9);
      bins++;
    }
    int df = Math.max(1, bins - 1);
    return (Math.cbrt(chi / df) - (1 - 2.0 / (9 * df))) / Math.sqrt(2.0 / (9 * df));
  }
}
