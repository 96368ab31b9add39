package dev.candor.engine.generate;

import dev.candor.engine.grammar.TokenAutomaton;
import dev.candor.engine.sampling.LogitAdjustments;
import dev.candor.engine.sampling.SamplingParams;
import java.util.List;

/**
 * What to generate after a prompt. Built with {@link #builder} (or {@link #of} and the {@code with*} copies).
 *
 * @param maxTokens at most this many generated tokens
 * @param sampling temperature, top-k, top-p and seed
 * @param stop stop sequences: generation ends before the first occurrence, which is not part of the output
 * @param topLogprobs how many alternatives each token record carries (any number offline; the API allows 0..20)
 * @param ignoreEos keep generating past end-of-sequence tokens (benchmarks)
 * @param cancelled polled between steps; a non-null reason ends the generation with it (a client gone: CANCELLED;
 *     the deadline: LENGTH)
 * @param taps the target hidden states to attach to every record (Hugging Face indices), for a probe: a record's
 *     {@code hidden} is theirs concatenated in this order; empty for none
 * @param observer sees the target's full distribution for every emitted token (e.g. a {@link DistributionDump}); or
 *     null
 * @param rawLogprobs records report logprobs and alternatives of the raw distribution instead of the sampling one
 * @param scorer gives every emitted record its p_correct once it is complete (hidden state attached), or null
 * @param watcher sees every emitted record in order, right after it is emitted, and may end the generation there
 *     (the confidence breaker); or null
 * @param adjustments penalties and a logit bias applied before sampling, to the target and the drafter alike
 * @param skipSpecialTokens special tokens add nothing to the text (their records still carry their bytes)
 * @param minTokens end-of-sequence tokens cannot be drawn before this many tokens were generated (vLLM's min_tokens)
 * @param constraint a grammar the output must follow (structured outputs, forced tool calls): every position's
 *     distribution, the target's and the drafter's, is masked to what the automaton allows there; or null
 */
public record GenerationRequest(
    int maxTokens, SamplingParams sampling, List<String> stop, int topLogprobs, boolean ignoreEos,
    StopCheck cancelled, int[] taps, DistributionObserver observer, boolean rawLogprobs, TokenScorer scorer,
    TokenWatcher watcher, LogitAdjustments adjustments, boolean skipSpecialTokens, int minTokens,
    TokenAutomaton constraint) {

  public GenerationRequest {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
    }
    if (topLogprobs < 0) {
      throw new IllegalArgumentException("top_logprobs must be >= 0, got " + topLogprobs);
    }
    if (minTokens < 0 || minTokens > maxTokens) {
      throw new IllegalArgumentException("min_tokens must lie in 0..max_tokens (" + maxTokens + "), got " + minTokens);
    }
    stop = List.copyOf(stop);
    taps = taps.clone();
    for (int t : taps) {
      if (t < 0) {
        throw new IllegalArgumentException("a tap is a hidden-state index >= 0, got " + t);
      }
    }
  }

  /** The taps, a copy (a record component's array would be shared). */
  @Override
  public int[] taps() {
    return taps.clone();
  }

  public static Builder builder(int maxTokens, SamplingParams sampling) {
    return new Builder(maxTokens, sampling);
  }

  public static GenerationRequest of(int maxTokens, SamplingParams sampling) {
    return builder(maxTokens, sampling).build();
  }

  /** A builder holding this request's values, to change some of them. */
  public Builder toBuilder() {
    Builder b = new Builder(maxTokens, sampling);
    b.stop = stop;
    b.topLogprobs = topLogprobs;
    b.ignoreEos = ignoreEos;
    b.cancelled = cancelled;
    b.taps = taps;
    b.observer = observer;
    b.rawLogprobs = rawLogprobs;
    b.scorer = scorer;
    b.watcher = watcher;
    b.adjustments = adjustments;
    b.skipSpecialTokens = skipSpecialTokens;
    b.constraint = constraint;
    b.minTokens = minTokens;
    return b;
  }

  public GenerationRequest withTopLogprobs(int topLogprobs) {
    return toBuilder().topLogprobs(topLogprobs).build();
  }

  public GenerationRequest withStop(List<String> stop) {
    return toBuilder().stop(stop).build();
  }

  public GenerationRequest withIgnoreEos(boolean ignoreEos) {
    return toBuilder().ignoreEos(ignoreEos).build();
  }

  public GenerationRequest withCancelled(StopCheck cancelled) {
    return toBuilder().cancelled(cancelled).build();
  }

  public GenerationRequest withTaps(int... taps) {
    return toBuilder().taps(taps).build();
  }

  public GenerationRequest withObserver(DistributionObserver observer) {
    return toBuilder().observer(observer).build();
  }

  public GenerationRequest withRawLogprobs(boolean rawLogprobs) {
    return toBuilder().rawLogprobs(rawLogprobs).build();
  }

  /** Asked between decode steps whether to stop early, and why. */
  @FunctionalInterface
  public interface StopCheck {
    /** null to go on; otherwise the reason to finish with. */
    FinishReason stopReason();
  }

  /** p(correct) of one complete record (NaN when it cannot be measured). */
  @FunctionalInterface
  public interface TokenScorer {
    double pCorrect(TokenRecord record);
  }

  /** Sees each emitted record, scored, in output order. */
  @FunctionalInterface
  public interface TokenWatcher {
    /** null to go on; otherwise the generation ends right after {@code record}, with this reason. */
    FinishReason afterToken(TokenRecord record);
  }

  /** The optional parts of a request, each with its default. */
  public static final class Builder {
    private final int maxTokens;
    private final SamplingParams sampling;
    private List<String> stop = List.of();
    private int topLogprobs;
    private boolean ignoreEos;
    private StopCheck cancelled = () -> null;
    private int[] taps = {};
    private DistributionObserver observer;
    private boolean rawLogprobs;
    private TokenScorer scorer;
    private TokenWatcher watcher;
    private LogitAdjustments adjustments = LogitAdjustments.NONE;
    private boolean skipSpecialTokens;
    private TokenAutomaton constraint;
    private int minTokens;

    private Builder(int maxTokens, SamplingParams sampling) {
      this.maxTokens = maxTokens;
      this.sampling = sampling;
    }

    public Builder stop(List<String> stop) {
      this.stop = stop;
      return this;
    }

    public Builder topLogprobs(int topLogprobs) {
      this.topLogprobs = topLogprobs;
      return this;
    }

    public Builder ignoreEos(boolean ignoreEos) {
      this.ignoreEos = ignoreEos;
      return this;
    }

    public Builder cancelled(StopCheck cancelled) {
      this.cancelled = cancelled;
      return this;
    }

    public Builder taps(int... taps) {
      this.taps = taps.clone();
      return this;
    }

    public Builder observer(DistributionObserver observer) {
      this.observer = observer;
      return this;
    }

    public Builder rawLogprobs(boolean rawLogprobs) {
      this.rawLogprobs = rawLogprobs;
      return this;
    }

    public Builder scorer(TokenScorer scorer) {
      this.scorer = scorer;
      return this;
    }

    public Builder watcher(TokenWatcher watcher) {
      this.watcher = watcher;
      return this;
    }

    public Builder adjustments(LogitAdjustments adjustments) {
      this.adjustments = adjustments;
      return this;
    }

    public Builder skipSpecialTokens(boolean skip) {
      this.skipSpecialTokens = skip;
      return this;
    }

    public Builder minTokens(int minTokens) {
      this.minTokens = minTokens;
      return this;
    }

    public Builder constraint(TokenAutomaton constraint) {
      this.constraint = constraint;
      return this;
    }

    public GenerationRequest build() {
      return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, ignoreEos, cancelled, taps, observer,
          rawLogprobs, scorer, watcher, adjustments, skipSpecialTokens, minTokens, constraint);
    }
  }
}
