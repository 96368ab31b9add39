package dev.candor.engine.generate;

import dev.candor.engine.sampling.TokenDistribution;
import java.util.Arrays;

/**
 * The full story of one emitted token. Every token has one, whatever produced it: the target's logprob, its top
 * alternatives and entropy come from the target's distribution at that position, which exists for drafter-accepted
 * tokens too (verification computed it).
 *
 * @param index position in the output, from 0
 * @param token the token id
 * @param bytes the exact bytes it stands for (may be part of a multi-byte character)
 * @param logprob the target's logprob of the token in the distribution it was sampled from (raw under greedy, or
 *     when raw logprobs were asked for; see {@link TokenDistribution})
 * @param rawLogprob the target's logprob under softmax(logits), untouched by sampling settings
 * @param entropy entropy of the target's raw distribution, nats
 * @param top the target's most likely alternatives, best first (reported logprobs)
 * @param source which path produced it
 * @param draftProb the drafter's sampling probability of this token, NaN without a drafter
 * @param draftTop the drafter's own most likely token at this position, -1 without a drafter
 * @param acceptanceProb for a drafted position, min(1, target(x) / draft(x)) of the drafted token x (the chance it had
 *     to be accepted); NaN for a bonus or plain token
 * @param hidden the target's hidden states at this token's position at the requested taps, concatenated in the
 *     request's order [taps * hidden], when a probe asked for them; else null
 * @param pCorrect the confidence model's p(correct) of this token, computed once when the record is complete; NaN
 *     when none was asked for or it could not be measured
 */
public record TokenRecord(
    int index,
    int token,
    byte[] bytes,
    double logprob,
    double rawLogprob,
    double entropy,
    TokenDistribution.Alternative[] top,
    Source source,
    double draftProb,
    int draftTop,
    double acceptanceProb,
    float[] hidden,
    double pCorrect) {

  /** A record not (yet) scored by a confidence model. */
  public TokenRecord(int index, int token, byte[] bytes, double logprob, double rawLogprob, double entropy,
      TokenDistribution.Alternative[] top, Source source, double draftProb, int draftTop, double acceptanceProb,
      float[] hidden) {
    this(index, token, bytes, logprob, rawLogprob, entropy, top, source, draftProb, draftTop, acceptanceProb, hidden,
        Double.NaN);
  }

  /** A record for a token drawn from {@code target} by {@code source}, without drafter information. */
  public static TokenRecord of(int index, int token, byte[] bytes, TokenDistribution target, int topN, Source source) {
    return of(index, token, bytes, target, topN, source, false);
  }

  /** As {@link #of}, reporting the raw distribution's logprob and alternatives when {@code raw}. */
  public static TokenRecord of(int index, int token, byte[] bytes, TokenDistribution target, int topN, Source source,
      boolean raw) {
    return new TokenRecord(index, token, bytes, raw ? target.rawLogprob(token) : target.logprob(token),
        target.rawLogprob(token), target.entropy(), raw ? target.topRaw(topN) : target.top(topN), source, Double.NaN,
        -1, Double.NaN, null);
  }

  public TokenRecord withDrafter(double draftProb, int draftTop, double acceptanceProb) {
    return new TokenRecord(index, token, bytes, logprob, rawLogprob, entropy, top, source, draftProb, draftTop,
        acceptanceProb, hidden, pCorrect);
  }

  public TokenRecord withHidden(float[] hidden) {
    return new TokenRecord(index, token, bytes, logprob, rawLogprob, entropy, top, source, draftProb, draftTop,
        acceptanceProb, hidden, pCorrect);
  }

  public TokenRecord withIndex(int index) {
    return new TokenRecord(index, token, bytes, logprob, rawLogprob, entropy, top, source, draftProb, draftTop,
        acceptanceProb, hidden, pCorrect);
  }

  public TokenRecord withPCorrect(double pCorrect) {
    return new TokenRecord(index, token, bytes, logprob, rawLogprob, entropy, top, source, draftProb, draftTop,
        acceptanceProb, hidden, pCorrect);
  }

  public String text() {
    return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "TokenRecord[" + index + ": " + token + " " + Arrays.toString(bytes) + " logprob=" + logprob + " " + source + "]";
  }
}
