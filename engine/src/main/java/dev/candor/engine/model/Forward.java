package dev.candor.engine.model;

/**
 * What one forward pass hands back to the host.
 *
 * @param logits raw next-token logits, [numLogits][vocabSize]: row r predicts the token after new position
 *     (n - numLogits + r)
 * @param taps hidden states, [taps.length][n][hiddenSize], in the order the taps were asked for
 */
public record Forward(float[][] logits, float[][][] taps) {}
