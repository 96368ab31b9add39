package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.server.ThinkingSplitter.Start;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The reasoning/answer split against a slow whole-text oracle written from its definition, fed in every way a stream
 * can cut it (one piece, character by character, random pieces): the same reasoning, answer and token phases.
 */
class ThinkingSplitterTest {
  static final List<String> REPLIES = List.of(
      "<think>\nLet me see: 2 + 2.\n</think>\n\nIt is 4.",
      "  \n<think>a</think>b",
      "<think>\n\n</think>\n\n",
      "<think>never closed\n",
      "<think>a < b and </thin are text</think></think>x",
      "No thinking here, </think> is text.",
      "<thinking> is not the tag",
      "<thi",
      "\n\n",
      "",
      "<think>line 1\n\nline 2\n</think>answer\n\n with\nnewlines\n",
      "Just an answer\n");

  /** What the definition says a reply splits into. */
  record Split(String reasoning, String answer, int reasoningEnd) {}

  /** The definition, on the whole text at once. */
  static Split oracle(Start start, String text) {
    int from = -1;
    if (start == Start.REASONING) {
      from = 0;
    } else if (start == Start.MAYBE) {
      String trimmed = text.replaceFirst("^[ \\t\\r\\n]*", "");
      if (trimmed.startsWith(ThinkingSplitter.OPEN)) {
        from = text.length() - trimmed.length() + ThinkingSplitter.OPEN.length();
      }
    }
    if (from < 0) {
      return new Split("", text, 0);
    }
    int close = text.indexOf(ThinkingSplitter.CLOSE, from);
    String reasoning = close < 0 ? text.substring(from) : text.substring(from, close);
    String answer = close < 0 ? "" : text.substring(close + ThinkingSplitter.CLOSE.length()).replaceFirst("^\n+", "");
    return new Split(reasoning.replaceFirst("^\n+", "").replaceFirst("\n+\\z", ""), answer,
        close < 0 ? Integer.MAX_VALUE : close + ThinkingSplitter.CLOSE.length());
  }

  static TokenRecord record(int index, String text) {
    return new TokenRecord(index, index, text.getBytes(StandardCharsets.UTF_8), -1, -1, 0,
        new TokenDistribution.Alternative[0], Source.TARGET, Double.NaN, -1, Double.NaN, null);
  }

  /** Feeds the reply cut at {@code cuts} (one token per piece, several tokens per push) and checks every output. */
  static void check(Start start, String text, List<Integer> cuts, int tokensPerPush) {
    Split expected = oracle(start, text);
    ThinkingSplitter splitter = new ThinkingSplitter(start);
    StringBuilder reasoning = new StringBuilder();
    StringBuilder answer = new StringBuilder();
    List<ThinkingSplitter.Phased> phased = new ArrayList<>();
    List<Integer> offsets = new ArrayList<>();
    List<TokenRecord> records = new ArrayList<>();
    List<Integer> pushOffsets = new ArrayList<>();
    StringBuilder pushText = new StringBuilder();
    int from = 0;
    for (int i = 0; i <= cuts.size(); i++) {
      int to = i < cuts.size() ? cuts.get(i) : text.length();
      records.add(record(offsets.size(), text.substring(from, to)));
      pushOffsets.add(from);
      offsets.add(from);
      pushText.append(text, from, to);
      from = to;
      if (records.size() == tokensPerPush || i == cuts.size()) {
        collect(splitter.push(records, pushOffsets, pushText.toString()), reasoning, answer, phased);
        records = new ArrayList<>();
        pushOffsets = new ArrayList<>();
        pushText.setLength(0);
      }
    }
    collect(splitter.finish(), reasoning, answer, phased);
    String how = start + " " + text + " cut at " + cuts;
    assertEquals(expected.reasoning(), reasoning.toString(), "reasoning of " + how);
    assertEquals(expected.answer(), answer.toString(), "answer of " + how);
    assertEquals(offsets.size(), phased.size(), "every token gets a phase: " + how);
    boolean reasons = !(start == Start.ANSWER || (start == Start.MAYBE && oracle(start, text).reasoningEnd() == 0));
    for (int i = 0; i < phased.size(); i++) {
      assertEquals(i, phased.get(i).record().index(), "in order: " + how);
      Phase want = reasons && offsets.get(i) < expected.reasoningEnd() ? Phase.REASONING : Phase.ANSWER;
      assertEquals(want, phased.get(i).phase(), "token " + i + " of " + how);
    }
  }

  static void collect(ThinkingSplitter.Step step, StringBuilder reasoning, StringBuilder answer,
      List<ThinkingSplitter.Phased> phased) {
    reasoning.append(step.reasoning());
    answer.append(step.answer());
    phased.addAll(step.tokens());
  }

  @Test
  void everyCutGivesTheDefinitionsSplit() {
    SplittableRandom random = new SplittableRandom(7);
    for (Start start : Start.values()) {
      for (String text : REPLIES) {
        check(start, text, List.of(), 1);
        List<Integer> each = new ArrayList<>();
        for (int i = 1; i < text.length(); i++) {
          each.add(i);
        }
        check(start, text, each, 1);
        check(start, text, each, 3);
        for (int trial = 0; trial < 20; trial++) {
          List<Integer> cuts = new ArrayList<>();
          for (int i = 1; i < text.length(); i++) {
            if (random.nextInt(3) == 0) {
              cuts.add(i);
            }
          }
          check(start, text, cuts, 1 + random.nextInt(3));
        }
      }
    }
  }

  @Test
  void theStartIsReadFromThePromptsEnd() {
    assertEquals(Start.MAYBE, ThinkingSplitter.start("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
    assertEquals(Start.ANSWER, ThinkingSplitter.start("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    assertEquals(Start.REASONING, ThinkingSplitter.start("<｜Assistant｜><think>\n"));
    // a think block earlier in the conversation does not count: only how the prompt ends
    assertEquals(Start.MAYBE, ThinkingSplitter.start("<think>x</think>y<|im_end|>\n<|im_start|>assistant\n"));
  }

  @Test
  void theUndecidedStartWaitsForTheTextThatDecidesIt() {
    ThinkingSplitter s = new ThinkingSplitter(Start.MAYBE);
    ThinkingSplitter.Step first = s.push(List.of(record(0, "\n")), List.of(0), "\n");
    assertEquals(List.of(), first.tokens(), "a newline could precede <think>");
    ThinkingSplitter.Step second = s.push(List.of(record(1, "<th")), List.of(1), "<th");
    assertEquals(List.of(), second.tokens());
    ThinkingSplitter.Step third = s.push(List.of(record(2, "ink>")), List.of(4), "ink>");
    assertEquals(3, third.tokens().size());
    third.tokens().forEach(t -> assertEquals(Phase.REASONING, t.phase()));
  }
}
