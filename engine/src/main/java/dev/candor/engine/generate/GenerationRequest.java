package dev.candor.engine.generate;

import dev.candor.engine.sampling.SamplingParams;
import java.util.List;

/**
 * What to generate after a prompt.
 *
 * @param maxTokens at most this many generated tokens
 * @param sampling temperature, top-k, top-p and seed
 * @param stop stop sequences: generation ends before the first occurrence, which is not part of the output
 * @param topLogprobs how many alternatives each token record carries (any number offline; the API allows 0..20)
 * @param ignoreEos keep generating past end-of-sequence tokens (benchmarks)
 * @param cancelled polled between steps; a non-null reason ends the generation with it (a client gone: CANCELLED;
 *     a tripped confidence breaker: LOW_CONFIDENCE)
 * @param tap the target hidden state to attach to every record (Hugging Face index), for a probe; -1 for none
 * @param observer sees the target's full distribution for every emitted token (e.g. a {@link DistributionDump}); or
 *     null
 * @param rawLogprobs records report logprobs and alternatives of the raw distribution instead of the sampling one
 */
public record GenerationRequest(
    int maxTokens, SamplingParams sampling, List<String> stop, int topLogprobs, boolean ignoreEos,
    StopCheck cancelled, int tap, DistributionObserver observer, boolean rawLogprobs) {

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
    return new GenerationRequest(maxTokens, sampling, List.of(), 0, false, () -> null, -1, null, false);
  }

  public GenerationRequest withTopLogprobs(int topLogprobs) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer, rawLogprobs);
  }

  public GenerationRequest withStop(List<String> stop) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer, rawLogprobs);
  }

  public GenerationRequest withIgnoreEos(boolean ignoreEos) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer, rawLogprobs);
  }

  public GenerationRequest withCancelled(StopCheck cancelled) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer, rawLogprobs);
  }

  public GenerationRequest withTap(int tap) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer, rawLogprobs);
  }

  public GenerationRequest withObserver(DistributionObserver observer) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer, rawLogprobs);
  }

  public GenerationRequest withRawLogprobs(boolean rawLogprobs) {
    return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, tap, observer, rawLogprobs);
  }

  /** Asked between decode steps whether to stop early, and why. */
  @FunctionalInterface
  public interface StopCheck {
    /** null to go on; otherwise the reason to finish with. */
    FinishReason stopReason();
  }
}
