package dev.candor.engine.server;

import dev.candor.engine.confidence.ConfidenceBreaker;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.tokenizer.StreamDecoder;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * A thinking model's reply split as it streams into its reasoning (a {@code <think>…</think>} block at the start) and
 * its answer, as vLLM's reasoning parsers return them ({@code reasoning_content} and {@code content}), with each
 * token's {@link Phase}.
 *
 * <p>Where reasoning starts is decided from the rendered prompt ({@link #start}): a prompt that ends inside an open
 * block (DeepSeek-R1's template, Qwen3's thinking-only variants) starts the reply in its reasoning; one that ends with
 * a closed block (Qwen3's {@code enable_thinking: false} writes an empty one) starts it in the answer; otherwise the
 * reply reasons if it opens with {@code <think>}, after any whitespace. The block ends at the first {@code </think>};
 * a reply that never closes it is all reasoning. Newlines around the reasoning and at the start of the answer are
 * dropped, as Qwen's templates drop them when they render a reply back, so a client that sends
 * {@code reasoning_content} and {@code content} back gets the prompt the model saw.
 *
 * <p>A token is in the reasoning if it starts before the end of {@code </think>} (the markers, and whitespace before an
 * opening {@code <think>}, included), in the answer otherwise. Only the start of a reply can be undecided (whitespace,
 * or a prefix of {@code <think>}); its tokens wait until it is decided, or the reply ends.
 */
final class ThinkingSplitter {
  static final String OPEN = "<think>";
  static final String CLOSE = "</think>";

  /** Where a reply starts, from its prompt. */
  enum Start {
    /** The reply reasons if it opens with {@code <think>}. */
    MAYBE,
    /** The prompt opened the block: the reply starts in its reasoning. */
    REASONING,
    /** The prompt closed the block (or there is none to open): the reply is all answer. */
    ANSWER
  }

  /** A token and the phase it belongs to. */
  record Phased(TokenRecord record, Phase phase) {}

  /** What one push decided: tokens with their phases, in order, and the reasoning and answer text that followed. */
  record Step(List<Phased> tokens, String reasoning, String answer) {}

  private final StringBuilder text = new StringBuilder(); // the reply so far
  private boolean decided;
  private int reasoningFrom = -1; // first offset of the reasoning's text; -1 while (or when) there is none
  private int closeAt = -1; // offset of </think>, once seen
  private int answerFrom = -1; // first offset of the answer's text, once known
  private boolean answerAfterBlock; // the answer follows a closed block: its leading newlines are dropped
  private int searchFrom; // where to look for </think> next
  private int reasoningSent; // reasoning text sent up to here
  private int answerSent;
  private boolean reasoningStarted;
  private boolean answerStarted;
  private final List<TokenRecord> waiting = new ArrayList<>();
  private final List<Integer> waitingOffsets = new ArrayList<>();

  ThinkingSplitter(Start start) {
    if (start == Start.REASONING) {
      decided = true;
      reasoningFrom = 0;
    } else if (start == Start.ANSWER) {
      decided = true;
      answerFrom = 0;
    }
  }

  /**
   * Where the reply to {@code prompt} starts: in its reasoning when the prompt ends with {@code <think>} (and
   * whitespace), in its answer when it ends with {@code </think>}, undecided otherwise.
   */
  static Start start(String prompt) {
    int end = prompt.length();
    while (end > 0 && isSpace(prompt.charAt(end - 1))) {
      end--;
    }
    if (prompt.startsWith(CLOSE, end - CLOSE.length())) {
      return Start.ANSWER;
    }
    return prompt.startsWith(OPEN, end - OPEN.length()) ? Start.REASONING : Start.MAYBE;
  }

  /**
   * The confidence breaker's view of one phase: inside the decode loop, each emitted token is decoded as the reply's
   * text will hold it (special tokens add nothing when {@code skipSpecial}) and split as the response will be, so the
   * breaker measures exactly the tokens the response reports in {@code phase}.
   *
   * @param start where the reply starts; null for a model that does not think (all its tokens are the answer)
   */
  static ConfidenceBreaker.Selection watching(Phase phase, Start start, Tokenizer tokenizer, boolean skipSpecial) {
    if (start == null) {
      return phase == Phase.ANSWER ? ConfidenceBreaker.Selection.ALL : record -> List.of();
    }
    ThinkingSplitter splitter = new ThinkingSplitter(start);
    StreamDecoder decoder = new StreamDecoder(tokenizer);
    int[] length = {0};
    return record -> {
      String text = skipSpecial && tokenizer.isSpecial(record.token()) ? "" : decoder.push(record.token());
      Step step = splitter.push(List.of(record), List.of(length[0]), text);
      length[0] += text.length();
      return step.tokens().stream().filter(t -> t.phase() == phase).map(Phased::record).toList();
    };
  }

  /**
   * The next released piece of the reply: its tokens, each token's offset in the whole reply's text, and the text
   * they added.
   */
  Step push(List<TokenRecord> records, List<Integer> offsets, String delta) {
    text.append(delta);
    waiting.addAll(records);
    waitingOffsets.addAll(offsets);
    decide(false);
    return step(false);
  }

  /** The reply has ended: everything is decided. */
  Step finish() {
    decide(true);
    return step(true);
  }

  private Step step(boolean end) {
    List<Phased> tokens = new ArrayList<>();
    if (decided) {
      for (int i = 0; i < waiting.size(); i++) {
        tokens.add(new Phased(waiting.get(i), phaseAt(waitingOffsets.get(i))));
      }
      waiting.clear();
      waitingOffsets.clear();
    }
    String reasoning = reasoning(end);
    return new Step(tokens, reasoning, answer(end));
  }

  /** Opens the reasoning or the answer at the start of the reply, and finds the end of the reasoning. */
  private void decide(boolean end) {
    if (!decided) {
      int i = 0;
      while (i < text.length() && isSpace(text.charAt(i))) {
        i++;
      }
      if (text.indexOf(OPEN, i) == i) {
        reasoningFrom = i + OPEN.length();
      } else if (!end && text.length() - i < OPEN.length() && OPEN.startsWith(text.substring(i))) {
        return; // whitespace, or the first characters of <think>: not decided yet
      } else {
        answerFrom = 0;
      }
      decided = true;
    }
    if (reasoningFrom >= 0 && closeAt < 0) {
      int at = text.indexOf(CLOSE, Math.max(reasoningFrom, searchFrom));
      if (at >= 0) {
        closeAt = at;
        answerFrom = at + CLOSE.length();
        answerAfterBlock = true;
      } else {
        searchFrom = Math.max(reasoningFrom, text.length() - CLOSE.length() + 1);
      }
    }
  }

  private Phase phaseAt(int offset) {
    if (reasoningFrom < 0) {
      return Phase.ANSWER;
    }
    return closeAt < 0 || offset < closeAt + CLOSE.length() ? Phase.REASONING : Phase.ANSWER;
  }

  /** New reasoning text: a possible start of {@code </think>} and trailing newlines wait for what follows them. */
  private String reasoning(boolean end) {
    if (reasoningFrom < 0) {
      return "";
    }
    reasoningSent = Math.max(reasoningSent, reasoningFrom);
    int limit = closeAt >= 0 ? closeAt : end ? text.length() : text.length() - partialSuffix(CLOSE);
    if (!reasoningStarted) {
      while (reasoningSent < limit && text.charAt(reasoningSent) == '\n') {
        reasoningSent++; // leading newlines are dropped
      }
    }
    int upTo = limit;
    while (upTo > reasoningSent && text.charAt(upTo - 1) == '\n') {
      upTo--; // trailing newlines: sent when more reasoning follows, dropped when it ends here
    }
    if (upTo <= reasoningSent) {
      return "";
    }
    String out = text.substring(reasoningSent, upTo);
    reasoningSent = upTo;
    reasoningStarted = true;
    return out;
  }

  /** New answer text (after a closed block, its leading newlines dropped). */
  private String answer(boolean end) {
    if (answerFrom < 0) {
      return "";
    }
    answerSent = Math.max(answerSent, answerFrom);
    if (answerAfterBlock && !answerStarted) {
      while (answerSent < text.length() && text.charAt(answerSent) == '\n') {
        answerSent++;
      }
    }
    if (answerSent >= text.length()) {
      return "";
    }
    String out = text.substring(answerSent);
    answerSent = text.length();
    answerStarted = true;
    return out;
  }

  /** The length of the longest suffix of the text that is a proper prefix of {@code tag}. */
  private int partialSuffix(String tag) {
    for (int n = Math.min(tag.length() - 1, text.length()); n > 0; n--) {
      if (text.indexOf(tag.substring(0, n), text.length() - n) == text.length() - n) {
        return n;
      }
    }
    return 0;
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
  }
}
