package dev.candor.engine.sampling;

/**
 * All a greedy step needs of one position's logits: the argmax, the log partition function, the entropy and the
 * {@link #TOP} most likely tokens with their logits. A backend on a GPU computes it there (candor.cu's
 * logits_summary), so 44 numbers cross to the host per position instead of the vocabulary; {@link #of} computes
 * the same on the host.
 *
 * @param vocabSize the number of logits summarised
 * @param argmax the most likely token (the lowest id among equal logits)
 * @param logPartition log Σ exp(logits)
 * @param entropy of softmax(logits), in nats
 * @param topTokens the min(TOP, vocabSize) most likely tokens, best first
 * @param topLogits their logits
 */
public record LogitSummary(int vocabSize, int argmax, double logPartition, double entropy, int[] topTokens,
    float[] topLogits) {
  /** Alternatives kept: OpenAI's largest top_logprobs. */
  public static final int TOP = 20;

  public LogitSummary {
    if (topTokens.length != topLogits.length || topTokens.length != Math.min(TOP, vocabSize)) {
      throw new IllegalArgumentException("a summary keeps min(" + TOP + ", vocab) tokens, got " + topTokens.length);
    }
  }

  /** The summary of {@code logits}, computed on the host exactly as {@link TokenDistribution} does. */
  public static LogitSummary of(float[] logits) {
    TokenDistribution d = TokenDistribution.of(logits, SamplingParams.greedy());
    TokenDistribution.Alternative[] top = d.topRaw(Math.min(TOP, logits.length));
    int[] tokens = new int[top.length];
    float[] values = new float[top.length];
    for (int i = 0; i < top.length; i++) {
      tokens[i] = top[i].token();
      values[i] = logits[tokens[i]];
    }
    return new LogitSummary(logits.length, d.argmax(), d.logPartition(), d.entropy(), tokens, values);
  }
}
