package dev.candor.engine.model;

import dev.candor.engine.checkpoint.Qwen2Config;
import java.util.ArrayList;
import java.util.List;

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

  /**
   * One forward over several sequences of this backend, each with its own cache and position, mixing decode steps,
   * verification chunks and prefill chunks: a backend that can reads the weights once for all of their rows. The
   * results come back in entry order, and each equals what that entry would give alone ({@link BatchEntry#runAlone}):
   * the batch a sequence shares must not change what it computes. This default runs them in turn.
   */
  default List<Forward> forward(List<BatchEntry> batch) {
    List<Forward> out = new ArrayList<>(batch.size());
    for (BatchEntry entry : batch) {
      out.add(entry.runAlone());
    }
    return out;
  }

  @Override
  void close();
}
