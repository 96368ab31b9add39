package dev.candor.engine.model;

import dev.candor.engine.checkpoint.Qwen2Config;

/**
 * The contract between a model implementation and everything above it (decoder, speculative verifier, probes,
 * server). A backend holds the weights; a {@link Sequence} holds one KV cache. The DJL backend implements it on
 * PyTorch through DJL; a native GPU backend can slot in without the layers above changing.
 */
public interface Backend extends AutoCloseable {
  Qwen2Config config();

  /** Where and in what precision it computes, e.g. "djl-pytorch cpu float32". */
  String description();

  /** A new, empty sequence whose cache holds up to {@code capacity} positions. */
  Sequence newSequence(int capacity);

  @Override
  void close();
}
