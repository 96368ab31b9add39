package dev.candor.engine.model;

import dev.candor.engine.checkpoint.Qwen2Config;
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

  /**
   * The checks every backend makes before a forward: at least one token, 0..n logit rows, room in the cache, token
   * ids in the vocabulary, taps between 0 and the number of layers. Each failure says what was asked.
   */
  static void checkForward(Qwen2Config config, int length, int capacity, int[] tokens, int numLogits, int[] taps) {
    int n = tokens.length;
    if (n == 0 || numLogits < 0 || numLogits > n) {
      throw new IllegalArgumentException("forward of " + n + " tokens with " + numLogits + " logits");
    }
    if (length + n > capacity) {
      throw new IllegalArgumentException("sequence of " + (length + n) + " positions exceeds its capacity " + capacity);
    }
    for (int t : tokens) {
      if (t < 0 || t >= config.vocabSize()) {
        throw new IllegalArgumentException("token id " + t + " outside the vocabulary 0.." + (config.vocabSize() - 1));
      }
    }
    for (int tap : taps) {
      if (tap < 0 || tap > config.numHiddenLayers()) {
        throw new IllegalArgumentException("tap " + tap + " outside 0.." + config.numHiddenLayers());
      }
    }
  }

  /** The check every backend makes before a truncate: the new length lies in 0..length. */
  static void checkTruncate(int length, int newLength) {
    if (newLength < 0 || newLength > length) {
      throw new IllegalArgumentException("cannot truncate a sequence of " + length + " to " + newLength);
    }
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

  /** Whether {@link #copyOut} and {@link #append} work on this backend's sequences (prefix caching). */
  default boolean copiesKv() {
    return false;
  }

  /**
   * A copy of the cache at positions [from, to): every layer's keys and values there. Appending it to a sequence of
   * the same backend whose cache holds the same first {@code from} positions gives that sequence exactly the cache it
   * would have computed itself for the same tokens.
   */
  default KvBlock copyOut(int from, int to) {
    throw new UnsupportedOperationException("this backend does not copy KV caches");
  }

  /** Appends a block's positions to the cache, at positions length() .. length() + block.positions() - 1. */
  default void append(KvBlock block) {
    throw new UnsupportedOperationException("this backend does not copy KV caches");
  }

  /** Forgets every position from {@code length} on, so decoding continues as if they had never been seen. */
  void truncate(int length);

  @Override
  void close();
}
