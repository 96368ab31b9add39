package dev.candor.engine.generate;

import dev.candor.engine.model.Backend;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import java.util.Arrays;

/**
 * The proposer of speculative decoding: a small model with its own KV cache that drafts k tokens, one forward each,
 * sampling from its distribution under the same temperature, top-k and top-p as the target. Its logits are cut or
 * padded (with −∞) to the target's vocabulary size, so both distributions live on the same ids (Qwen2.5 checkpoints
 * of one tokenizer have vocab_size 151,936 or 152,064).
 *
 * <p>A draft is built one forward at a time ({@link #begin}, then {@link #absorb} for each drafted position), so the
 * generator can run the drafter forwards of many sequences as one batch; each sequence draws from its own sampler in
 * the same order as alone, so the batch it shares changes nothing it drafts.
 */
final class Drafter implements AutoCloseable {
  private static final int[] NO_TAPS = new int[0];

  private final Sequence sequence;
  private final int vocab;
  private final int targetVocab;
  // the draft being built
  private int k;
  private int drafted;
  private int[] tokens = new int[0];
  private TokenDistribution[] distributions = new TokenDistribution[0];
  private boolean summaries;

  Drafter(Backend drafter, int capacity, int targetVocab) {
    this.sequence = drafter.newSequence(capacity);
    this.vocab = drafter.config().vocabSize();
    this.targetVocab = targetVocab;
  }

  int length() {
    return sequence.length();
  }

  /** The next at most {@code maxChunk} committed tokens before {@code upTo} the cache lacks, no rows; or null. */
  BatchEntry prefillEntry(IntList committed, int upTo, int maxChunk) {
    int from = sequence.length();
    if (from >= upTo) {
      return null;
    }
    return new BatchEntry(sequence, committed.slice(from, (int) Math.min(upTo, (long) from + maxChunk)), 0, false, NO_TAPS);
  }

  /**
   * Starts a draft of {@code k} tokens after {@code committed}: the entry that feeds the committed tokens the cache has
   * not seen (one, or two after a step where every draft was accepted) and asks for the first drafted position. A
   * greedy draft needs only each position's argmax: {@code summaries} asks for summaries, which a GPU backend
   * computes on the device (not when the drafter's vocabulary is larger than the target's: its logits are cut).
   */
  BatchEntry begin(IntList committed, int k, boolean summaries) {
    this.k = k;
    this.drafted = 0;
    this.tokens = new int[k];
    this.distributions = new TokenDistribution[k];
    this.summaries = summaries && vocab <= targetVocab;
    return new BatchEntry(sequence, committed.slice(sequence.length(), committed.size()), 1, this.summaries, NO_TAPS);
  }

  /**
   * The drafted position's row came back: its distribution (made by {@code adjusted}, the request's penalties, bias
   * and grammar with that position's history, when not null), its token drawn; the entry that feeds that token for
   * the next position, or null when the draft is complete (k tokens, or a grammar's end).
   */
  BatchEntry absorb(Forward forward, SamplingParams params, Sampler sampler, Adjusted adjusted) {
    TokenDistribution d;
    if (summaries) {
      d = TokenDistribution.of(forward.summaries()[0]);
    } else {
      float[] logits = fit(forward.logits()[0]);
      d = adjusted == null ? TokenDistribution.of(logits, params) : adjusted.distribution(logits, tokens, drafted);
    }
    distributions[drafted] = d;
    tokens[drafted] = sampler.sample(d);
    drafted++;
    if (drafted == k || (adjusted != null && adjusted.ends(tokens, drafted))) {
      return null;
    }
    return new BatchEntry(sequence, new int[] {tokens[drafted - 1]}, 1, summaries, NO_TAPS);
  }

  /** The draft built since {@link #begin}. */
  Draft draft() {
    return new Draft(Arrays.copyOf(tokens, drafted), Arrays.copyOf(distributions, drafted));
  }

  /** A position's distribution from its logits, given the tokens drafted before it (draft[0..drafted)). */
  interface Adjusted {
    TokenDistribution distribution(float[] logits, int[] draft, int drafted);

    /** Whether draft[0..drafted) has ended the output (a grammar's end), so nothing can be drafted after it. */
    boolean ends(int[] draft, int drafted);
  }

  /** Restores the longest cached prefix of {@code prompt} (at most {@code maxPositions}) into the empty cache. */
  void restorePrefix(PrefixCache cache, int[] prompt, int maxPositions) {
    cache.restore(sequence, prompt, maxPositions);
  }

  /** Keeps the blocks of {@code head} this cache holds. */
  void storePrefix(PrefixCache cache, int[] head) {
    cache.store(sequence, head, head.length);
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
