package dev.candor.engine.grammar;

import dev.candor.engine.generate.Draft;
import dev.candor.engine.generate.RejectionSampler;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import java.util.Arrays;

/**
 * The core of a constrained decoding step, for the generator to call. Plain decoding is {@link #distribution}: the
 * target's logits with −∞ outside {@link TokenAutomaton#allowed}, then sampled as usual. Speculative decoding stays
 * exact for that constrained distribution when both sides are masked: {@link #draft} masks the drafter's logits at
 * every drafted position by the state reached along the draft (a copy of the state advances; the committed one does
 * not move), and {@link #verify} masks the target's k + 1 distributions by the same states before the
 * {@link RejectionSampler} compares them. Rejection sampling then returns tokens distributed exactly as the masked
 * target's (Leviathan et al. 2023, Theorem 1: it holds for any draft distribution, and the masked drafter's keeps
 * every drafted token inside the grammar, so the states along the draft exist).
 *
 * <p>Logit rows are masked in place, without a copy (a 151,936-float copy per row would cost more than the mask):
 * backends return fresh rows from every forward. A caller that also wants the unconstrained distribution (for
 * {@code logprobs_mode: "raw"}) passes a copy.
 *
 * <p>A draft ends early at an end-of-sequence token: nothing can follow it. It is still verified like any drafted
 * token (replacing it by a target draw would bias the output); if it is accepted, the generation ends there and the
 * verdict's next token is not part of the output ({@link Step#ended}).
 */
public final class ConstrainedDecoding {
  private ConstrainedDecoding() {}

  /** The drafting model, one token at a time. */
  @FunctionalInterface
  public interface DraftModel {
    /** Feeds {@code token} and returns the logits of the position after it, over the target's vocabulary. */
    float[] next(int token);
  }

  /**
   * A draft under the grammar.
   *
   * @param draft the drafted tokens (at most k; fewer when an end token was drafted) and the drafter's masked
   *     distributions
   * @param states {@code states[i]} is the automaton state before drafted token i; {@code states[size]} after all
   */
  public record ConstrainedDraft(Draft draft, TokenAutomaton.State[] states) {
    public int size() {
      return draft.size();
    }
  }

  /**
   * The outcome of one verified step.
   *
   * @param verdict what the rejection sampler kept: the accepted prefix and the resampled or bonus token
   * @param target the target's masked distributions at the k + 1 positions (for the tokens' records)
   * @param state the automaton state after the accepted prefix and the next token (ended if an end token was taken)
   * @param ended whether an accepted drafted token ended the text, so {@code verdict.next()} is to be dropped
   */
  public record Step(RejectionSampler.Verdict verdict, TokenDistribution[] target, TokenAutomaton.State state,
      boolean ended) {}

  /**
   * The distribution of {@code logits} under {@code params} with everything the grammar forbids at −∞ (set in
   * {@code logits} itself).
   */
  public static TokenDistribution distribution(TokenAutomaton automaton, TokenAutomaton.State state, float[] logits,
      SamplingParams params) {
    automaton.allowed(state).applyTo(logits);
    return TokenDistribution.of(logits, params);
  }

  /**
   * Drafts up to {@code k} tokens from {@code state}: each from the drafter's masked distribution, each advancing a
   * copy of the state; after an end token the draft stops.
   *
   * @param firstLogits the drafter's logits at the first drafted position
   */
  public static ConstrainedDraft draft(TokenAutomaton automaton, TokenAutomaton.State state, float[] firstLogits,
      DraftModel model, int k, SamplingParams params, Sampler sampler) {
    int[] tokens = new int[k];
    TokenDistribution[] distributions = new TokenDistribution[k];
    TokenAutomaton.State[] states = new TokenAutomaton.State[k + 1];
    states[0] = state;
    float[] logits = firstLogits;
    int n = 0;
    while (n < k && !automaton.isEnded(states[n])) {
      distributions[n] = distribution(automaton, states[n], logits, params);
      tokens[n] = sampler.sample(distributions[n]);
      states[n + 1] = automaton.advance(states[n], tokens[n]);
      n++;
      if (n < k && !automaton.isEnded(states[n])) {
        logits = model.next(tokens[n - 1]);
      }
    }
    return new ConstrainedDraft(new Draft(Arrays.copyOf(tokens, n), Arrays.copyOf(distributions, n)),
        Arrays.copyOf(states, n + 1));
  }

  /**
   * Verifies a constrained draft against the target's logits at its k + 1 positions (the pending token's and each
   * drafted token's), all masked by the states along the draft.
   */
  public static Step verify(TokenAutomaton automaton, ConstrainedDraft draft, float[][] targetLogits,
      SamplingParams params, Sampler sampler) {
    int k = draft.size();
    if (targetLogits.length != k + 1) {
      throw new IllegalArgumentException("a draft of " + k + " needs " + (k + 1) + " target rows, got "
          + targetLogits.length);
    }
    TokenDistribution[] target = new TokenDistribution[k + 1];
    for (int i = 0; i <= k; i++) {
      TokenAutomaton.State s = draft.states()[i];
      // after an end token nothing is allowed; that row only serves a bonus draw that is never emitted
      target[i] = automaton.isEnded(s) ? TokenDistribution.of(targetLogits[i], params)
          : distribution(automaton, s, targetLogits[i], params);
    }
    RejectionSampler.Verdict verdict = RejectionSampler.verify(draft.draft(), target, sampler);
    TokenAutomaton.State after = draft.states()[verdict.accepted()];
    if (automaton.isEnded(after)) {
      return new Step(verdict, target, after, true);
    }
    return new Step(verdict, target, automaton.advance(after, verdict.next()), false);
  }
}
