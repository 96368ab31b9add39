package dev.candor.engine.generate;

import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitSummary;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import java.util.Arrays;

/**
 * The proposer of speculative decoding: a small model with its own KV cache that drafts k tokens, one forward each,
 * sampling from its distribution under the same temperature, top-k and top-p as the target. Its logits are cut or
 * padded (with −∞) to the target's vocabulary size, so both distributions live on the same ids (Qwen2.5 checkpoints
 * of one tokenizer have vocab_size 151,936 or 152,064).
 */
final class Drafter implements AutoCloseable {
  private final Sequence sequence;
  private final int vocab;
  private final int targetVocab;

  Drafter(Backend drafter, int capacity, int targetVocab) {
    this.sequence = drafter.newSequence(capacity);
    this.vocab = drafter.config().vocabSize();
    this.targetVocab = targetVocab;
  }

  int length() {
    return sequence.length();
  }

  /** Feeds tokens without asking for logits (the prompt, minus its last token). */
  void prefill(int[] tokens) {
    if (tokens.length > 0) {
      sequence.forward(tokens, 0);
    }
  }

  /**
   * Drafts {@code k} tokens after {@code committed}. The cache first catches up on committed tokens it has not seen
   * (one, or two after a step where every draft was accepted), then grows by k − 1 drafted tokens.
   */
  Draft propose(IntList committed, int k, SamplingParams params, Sampler sampler) {
    return propose(committed, k, params, sampler, null);
  }

  /**
   * As {@link #propose(IntList, int, SamplingParams, Sampler)}, each drafted position's distribution made by
   * {@code adjusted} (the request's penalties and bias with that position's history) when it is not null.
   */
  Draft propose(IntList committed, int k, SamplingParams params, Sampler sampler, Adjusted adjusted) {
    int[] catchUp = committed.slice(sequence.length(), committed.size());
    if (params.isGreedy() && vocab <= targetVocab && adjusted == null) {
      return proposeGreedy(catchUp, k);
    }
    float[] logits = sequence.forward(catchUp, 1).logits()[0];
    int[] tokens = new int[k];
    TokenDistribution[] distributions = new TokenDistribution[k];
    for (int i = 0; i < k; i++) {
      distributions[i] = adjusted == null ? TokenDistribution.of(fit(logits), params)
          : adjusted.distribution(fit(logits), tokens, i);
      tokens[i] = sampler.sample(distributions[i]);
      if (adjusted != null && adjusted.ends(tokens, i + 1)) {
        return new Draft(Arrays.copyOf(tokens, i + 1), Arrays.copyOf(distributions, i + 1));
      }
      if (i + 1 < k) {
        logits = sequence.decode(tokens[i]);
      }
    }
    return new Draft(tokens, distributions);
  }

  /**
   * Greedy drafting needs only each position's argmax: from summaries, which a GPU backend computes on the device.
   * (A drafter with a larger vocabulary than the target's drafts through the logits, which are cut to the target's.)
   */
  private Draft proposeGreedy(int[] catchUp, int k) {
    LogitSummary summary = sequence.forwardSummaries(catchUp, 1).summaries()[0];
    int[] tokens = new int[k];
    TokenDistribution[] distributions = new TokenDistribution[k];
    for (int i = 0; i < k; i++) {
      distributions[i] = TokenDistribution.of(summary);
      tokens[i] = distributions[i].argmax();
      if (i + 1 < k) {
        summary = sequence.forwardSummaries(new int[] {tokens[i]}, 1).summaries()[0];
      }
    }
    return new Draft(tokens, distributions);
  }

  /** A position's distribution from its logits, given the tokens drafted before it (draft[0..drafted)). */
  interface Adjusted {
    TokenDistribution distribution(float[] logits, int[] draft, int drafted);

    /** Whether draft[0..drafted) has ended the output (a grammar's end), so nothing can be drafted after it. */
    boolean ends(int[] draft, int drafted);
  }

  /** Drops cached positions past {@code length} (rejected drafts). */
  void truncate(int length) {
    if (sequence.length() > length) {
      sequence.truncate(length);
    }
  }

  private float[] fit(float[] logits) {
    if (logits.length == targetVocab) {
      return logits;
    }
    float[] out = Arrays.copyOf(logits, targetVocab);
    if (targetVocab > logits.length) {
      Arrays.fill(out, logits.length, targetVocab, Float.NEGATIVE_INFINITY);
    }
    return out;
  }

  @Override
  public void close() {
    sequence.close();
  }
}
