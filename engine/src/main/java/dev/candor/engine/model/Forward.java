package dev.candor.engine.model;

import dev.candor.engine.sampling.LogitSummary;

/**
 * What one forward pass hands back to the host.
 *
 * @param logits raw next-token logits, [numLogits][vocabSize]: row r predicts the token after new position
 *     (n - numLogits + r)
 * @param taps hidden states, [taps.length][n][hiddenSize], in the order the taps were asked for
 * @param summaries instead of logits (which are then null), each row's summary: see
 *     {@link Sequence#forwardSummaries}; null otherwise
 */
public record Forward(float[][] logits, float[][][] taps, LogitSummary[] summaries) {
  public Forward(float[][] logits, float[][][] taps) {
    this(logits, taps, null);
  }
}
