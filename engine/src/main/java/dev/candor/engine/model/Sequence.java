package dev.candor.engine.model;

import dev.candor.engine.sampling.LogitSummary;

/**
 * One sequence and its KV cache. Every entry point appends tokens at positions {@code length()..} and returns what
 * the caller asked for, so prefill, decode and speculative verification are one operation with different sizes.
 */
public interface Sequence extends AutoCloseable {
  /** Positions held in the cache. */
  int length();

  /** Positions the cache can hold. */
  int capacity();

  /**
   * Runs {@code tokens} through the model on top of the cache and appends them to it.
   *
   * @param tokens the new tokens, at positions length() .. length() + tokens.length - 1
   * @param numLogits how many of the last new positions to return logits for (1 for prefill and decode, all of them
   *     for verification; 0 for none)
   * @param taps hidden states to return, by Hugging Face index (0 = embedding output, i = output of layer i, L = the
   *     final-normed output), for every new position
   */
  Forward forward(int[] tokens, int numLogits, int... taps);

  /**
   * As {@link #forward}, but each of the last {@code numRows} positions comes back as a {@link LogitSummary}
   * (argmax, log partition, entropy, top 20) instead of its logits: all a greedy step needs. A backend on a GPU
   * computes the summaries there, so a few numbers cross to the host instead of the vocabulary; this default
   * computes them from the logits.
   */
  default Forward forwardSummaries(int[] tokens, int numRows, int... taps) {
    Forward forward = forward(tokens, numRows, taps);
    LogitSummary[] summaries = new LogitSummary[numRows];
    for (int i = 0; i < numRows; i++) {
      summaries[i] = LogitSummary.of(forward.logits()[i]);
    }
    return new Forward(null, forward.taps(), summaries);
  }

  /** Prefill: the prompt, logits of its last position. */
  default float[] prefill(int[] tokens) {
    return forward(tokens, 1).logits()[0];
  }

  /** One-token decode. */
  default float[] decode(int token) {
    return forward(new int[] {token}, 1).logits()[0];
  }

  /** Verification: logits for every one of {@code tokens}, as speculative decoding needs. */
  default float[][] verify(int[] tokens) {
    return forward(tokens, tokens.length).logits();
  }

  /** Forgets every position from {@code length} on, so decoding continues as if they had never been seen. */
  void truncate(int length);

  @Override
  void close();
}
