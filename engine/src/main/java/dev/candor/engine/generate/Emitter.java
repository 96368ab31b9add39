package dev.candor.engine.generate;

import dev.candor.engine.tokenizer.StreamDecoder;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Turns generated tokens into released output: text in whole UTF-8 characters, with end-of-sequence tokens, stop
 * sequences and max_tokens applied, and each token's record released together with the text it produced.
 *
 * <p>Text that could be the beginning of a stop sequence is held back (with its records) until it either completes
 * the stop sequence (then it is cut, as OpenAI cuts it) or cannot any more. So the records a client receives always
 * spell exactly the text it receives, and streaming and non-streaming responses agree.
 */
public final class Emitter {
  /** Receives output as it is released: the records and the text they spell (which may be ""). */
  public interface Listener {
    void released(List<TokenRecord> records, List<Integer> textOffsets, String text);
  }

  private final StreamDecoder decoder;
  private final Tokenizer tokenizer;
  private final boolean skipSpecial;
  private final Set<Integer> stopTokens;
  private final List<String> stopStrings;
  private final int maxTokens;
  private final Listener listener;

  private final StringBuilder text = new StringBuilder(); // everything decoded, released or held
  private int released; // chars of text released
  private final List<TokenRecord> pending = new ArrayList<>();
  private final List<Integer> pendingOffsets = new ArrayList<>();
  private final List<TokenRecord> tokens = new ArrayList<>();
  private final List<Integer> offsets = new ArrayList<>();
  private int generated;
  private FinishReason finishReason;

  public Emitter(Tokenizer tokenizer, Set<Integer> stopTokens, List<String> stopStrings, int maxTokens, Listener listener) {
    this(tokenizer, stopTokens, stopStrings, maxTokens, false, listener);
  }

  /** With {@code skipSpecial}, a special token adds nothing to the text (its record is released as usual). */
  public Emitter(Tokenizer tokenizer, Set<Integer> stopTokens, List<String> stopStrings, int maxTokens,
      boolean skipSpecial, Listener listener) {
    this.decoder = new StreamDecoder(tokenizer);
    this.tokenizer = tokenizer;
    this.skipSpecial = skipSpecial;
    this.stopTokens = stopTokens;
    this.stopStrings = stopStrings.stream().filter(s -> !s.isEmpty()).toList();
    this.maxTokens = maxTokens;
    this.listener = listener;
  }

  /**
   * Offers the next generated token. Returns true while generation should go on; false once it has finished (this
   * token may then be part of the output, or not: an end-of-sequence token never is).
   */
  public boolean offer(TokenRecord record) {
    return offer(record, null);
  }

  /**
   * As {@link #offer(TokenRecord)}, and when {@code stopAfter} is not null the generation ends right after this token
   * with that reason (the confidence breaker's), unless an end-of-sequence token or a stop sequence ends it first.
   */
  public boolean offer(TokenRecord record, FinishReason stopAfter) {
    if (finishReason != null) {
      throw new IllegalStateException("generation already finished: " + finishReason);
    }
    generated++;
    if (stopTokens.contains(record.token())) {
      finish(FinishReason.STOP);
      return false;
    }
    int start = text.length();
    if (!(skipSpecial && tokenizer.isSpecial(record.token()))) {
      text.append(decoder.push(record.token()));
    }
    pending.add(record.withIndex(tokens.size() + pending.size()));
    pendingOffsets.add(start);

    int stopAt = firstStop();
    if (stopAt >= 0) {
      text.setLength(stopAt);
      releaseUpTo(stopAt, false);
      dropPending();
      finishReason = FinishReason.STOP;
      return false;
    }
    int hold = heldSuffix();
    releaseUpTo(text.length() - hold, hold == 0);
    if (stopAfter != null) {
      finish(stopAfter);
      return false;
    }
    if (generated >= maxTokens) {
      finish(FinishReason.LENGTH);
      return false;
    }
    return true;
  }

  /** Ends the generation for {@code reason}, releasing everything still held (an unfinished character as U+FFFD). */
  public void finish(FinishReason reason) {
    if (finishReason != null) {
      return;
    }
    text.append(decoder.flush());
    releaseUpTo(text.length(), true);
    finishReason = reason;
  }

  private int firstStop() {
    int best = -1;
    for (String stop : stopStrings) {
      int at = text.indexOf(stop, Math.max(0, released));
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
      }
    }
    return best;
  }

  /** Length of the longest unreleased suffix that is a proper prefix of some stop string. */
  private int heldSuffix() {
    int unreleased = text.length() - released;
    int hold = 0;
    for (String stop : stopStrings) {
      for (int k = Math.min(unreleased, stop.length() - 1); k > hold; k--) {
        if (endsWith(text, stop, k)) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }

  /** Whether the last k chars of text are the first k of stop. */
  private static boolean endsWith(StringBuilder text, String stop, int k) {
    int from = text.length() - k;
    for (int i = 0; i < k; i++) {
      if (text.charAt(from + i) != stop.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Releases text up to {@code end} and the records that start before it (all of them when {@code all}). */
  private void releaseUpTo(int end, boolean all) {
    List<TokenRecord> out = new ArrayList<>();
    List<Integer> outOffsets = new ArrayList<>();
    while (!pending.isEmpty() && (all || pendingOffsets.getFirst() < end)) {
      out.add(pending.removeFirst());
      outOffsets.add(Math.min(pendingOffsets.removeFirst(), end));
    }
    String delta = end > released ? text.substring(released, end) : "";
    released = Math.max(released, end);
    if (!out.isEmpty() || !delta.isEmpty()) {
      tokens.addAll(out);
      offsets.addAll(outOffsets);
      listener.released(out, outOffsets, delta);
    }
  }

  private void dropPending() {
    pending.clear();
    pendingOffsets.clear();
  }

  /** Whether {@code token} ends the generation (an end-of-sequence id). */
  public boolean isStop(int token) {
    return stopTokens.contains(token);
  }

  public boolean finished() {
    return finishReason != null;
  }

  public FinishReason finishReason() {
    return finishReason;
  }

  /** The released text. */
  public String text() {
    return text.substring(0, released);
  }

  /** The released records, in order. */
  public List<TokenRecord> tokens() {
    return tokens;
  }

  /** Character offset of each released record's text in {@link #text()}. */
  public List<Integer> textOffsets() {
    return offsets;
  }

  /** Tokens the model generated, including an end-of-sequence token and tokens cut by a stop sequence. */
  public int generated() {
    return generated;
  }
}
