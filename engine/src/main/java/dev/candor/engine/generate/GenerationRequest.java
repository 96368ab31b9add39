package dev.candor.engine.generate;

import dev.candor.engine.sampling.SamplingParams;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * What to generate after a prompt.
 *
 * @param maxTokens at most this many generated tokens
 * @param sampling temperature, top-k, top-p and seed
 * @param stop stop sequences: generation ends before the first occurrence, which is not part of the output
 * @param topLogprobs how many alternatives each token record carries (any number offline; the API allows 0..20)
 * @param ignoreEos keep generating past end-of-sequence tokens (benchmarks)
 * @param cancelled polled between steps; true ends the generation with {@link FinishReason#CANCELLED}
 * @param tap the target hidden state to attach to every record (Hugging Face index), for a probe; -1 for none
 * @param observer sees the target's full distribution for every emitted token (e.g. a {@link DistributionDump}); or
 *     null
 */
public record GenerationRequest(
    int maxTokens, SamplingParams sampling, List<String> stop, int topLogprobs, boolean ignoreEos,
    BooleanSupplier cancelled, int tap, DistributionObserver observer) {

  public GenerationRequest {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
    }
    if (topLogprobs < 0) {
      throw new IllegalArgumentException("top_logprobs must be >= 0, got " + topLogprobs);
    }
    stop = List.copyOf(stop);
  }

  public static GenerationRequest of(int maxTokens, SamplingParams sampling) {
    return new GenerationRequest(maxTokens, sampling, List.of(), 0, false, () -> false, -1, null);
  }

  public GenerationRequest withTopLogprobs(int topLogprobs) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer);
  }

  public GenerationRequest withStop(List<String> stop) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer);
  }

  public GenerationRequest withIgnoreEos(boolean ignoreEos) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer);
  }

  public GenerationRequest withCancelled(BooleanSupplier cancelled) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer);
  }

  public GenerationRequest withTap(int tap) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer);
  }

  public GenerationRequest withObserver(DistributionObserver observer) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer);
  }
}
