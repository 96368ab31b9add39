package dev.candor.engine.generate;

import java.util.List;

/**
 * A finished generation.
 *
 * @param text the output text (stop sequence excluded)
 * @param tokens one record per emitted token; their text spells {@code text}
 * @param textOffsets character offset in {@code text} where each token's text starts
 * @param finishReason why it ended
 * @param promptTokens tokens in the prompt
 * @param cachedPromptTokens of them, how many came from the prefix cache instead of being computed
 * @param generatedTokens tokens the model generated (an end-of-sequence token and tokens cut by a stop sequence too)
 * @param stats speculative-decoding counts and coverage
 * @param timings where the time went
 */
public record GenerationResult(
    String text, List<TokenRecord> tokens, List<Integer> textOffsets, FinishReason finishReason, int promptTokens,
    int cachedPromptTokens, int generatedTokens, SpeculationStats stats, Timings timings) {

  /**
   * Nanosecond timings of one generation.
   *
   * @param prefillNanos the prompt's forward pass(es)
   * @param firstTokenNanos from the start to the first released output
   * @param totalNanos from the start to the end
   * @param draftNanos time in the drafter
   * @param verifyNanos time in the target's forwards after prefill
   */
  public record Timings(long prefillNanos, long firstTokenNanos, long totalNanos, long draftNanos, long verifyNanos) {}
}
