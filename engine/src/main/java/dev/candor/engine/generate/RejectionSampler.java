package dev.candor.engine.generate;

import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.TokenDistribution;

/**
 * Verification of drafted tokens (Leviathan et al. 2023, arXiv 2211.17192; Chen et al. 2023, arXiv 2302.01318):
 * accept drafted token x with probability min(1, target(x) / draft(x)); at the first rejection draw from
 * normalize(max(0, target − draft)); if all k are accepted draw a bonus token from the target's next position. The
 * tokens that come out are distributed exactly as the target's sampling distribution, whatever the drafter proposes.
 *
 * <p>Under greedy decoding both distributions are point masses at their argmax, so a draft is accepted exactly when
 * it is the target's argmax, the residual is the target's argmax, and no randomness is used.
 */
public final class RejectionSampler {
  /** Decides how much of a draft to keep and the token after it; the one real implementation is {@link #verify}. */
  @FunctionalInterface
  interface Verifier {
    Verdict verify(Draft draft, TokenDistribution[] target, Sampler sampler);
  }

  /**
   * The outcome of verifying one draft.
   *
   * @param accepted how many drafted tokens were accepted (a prefix of the draft)
   * @param next the token after them: resampled at the first rejection, or the bonus token
   * @param nextSource {@link Source#RESAMPLED} or {@link Source#BONUS}
   * @param acceptanceProbs min(1, target(x)/draft(x)) for each drafted position examined (accepted ones, then the
   *     rejected one)
   */
  public record Verdict(int accepted, int next, Source nextSource, double[] acceptanceProbs) {}

  private RejectionSampler() {}

  /**
   * @param draft the drafted tokens and the drafter's distributions, k of them
   * @param target the target's distributions at the k + 1 positions: target[i] is for the token after draft[i - 1]
   */
  public static Verdict verify(Draft draft, TokenDistribution[] target, Sampler sampler) {
    int k = draft.size();
    double[] acceptance = new double[k];
    for (int i = 0; i < k; i++) {
      int x = draft.tokens()[i];
      double pTarget = target[i].samplingProb(x);
      double pDraft = draft.distributions()[i].samplingProb(x);
      acceptance[i] = pDraft > 0 ? Math.min(1, pTarget / pDraft) : 0;
      boolean accept = target[i].params().isGreedy() ? acceptance[i] == 1 : sampler.uniform() < acceptance[i];
      if (!accept) {
        int next = residual(target[i], draft.distributions()[i], sampler);
        return new Verdict(i, next, Source.RESAMPLED, java.util.Arrays.copyOf(acceptance, i + 1));
      }
    }
    return new Verdict(k, sampler.sample(target[k]), Source.BONUS, acceptance);
  }

  /** A draw from normalize(max(0, target − draft)); the target itself if rounding left no mass there. */
  static int residual(TokenDistribution target, TokenDistribution draft, Sampler sampler) {
    if (target.params().isGreedy()) {
      return target.argmax();
    }
    float[] weights = target.samplingProbs();
    double mass = 0;
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (float) Math.max(0, weights[i] - draft.samplingProb(i));
      mass += weights[i];
    }
    return mass > 0 ? sampler.sample(weights) : sampler.sample(target);
  }
}
