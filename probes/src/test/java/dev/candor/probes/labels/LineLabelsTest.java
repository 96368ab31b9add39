package dev.candor.probes.labels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.confidence.Lines;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Line and problem labels from token labels, over the engine's line rule. */
class LineLabelsTest {
  static final boolean T = true;
  static final boolean F = false;

  /** The character offset each token starts at, when the tokens spell the text. */
  static List<Integer> offsets(String... tokens) {
    List<Integer> offsets = new ArrayList<>();
    int at = 0;
    for (String token : tokens) {
      offsets.add(at);
      at += token.length();
    }
    return offsets;
  }

  @Test
  void aWrongTokenMakesItsLineWrong() {
    String[] tokens = {"def", " f", "(x", "):\n", "    return", " x", " +", " 1", "\n"};
    String text = String.join("", tokens);
    List<Lines.Line> lines = LineLabels.codeLines(text, offsets(tokens));
    assertEquals(List.of(new Lines.Line(0, 4, 0, 10), new Lines.Line(4, 9, 10, 27)), lines);
    boolean[] tokenLabels = {T, T, T, T, T, T, F, T, T}; // " +" should have been " -"
    assertArrayEquals(new boolean[] {T, F}, LineLabels.lineLabels(tokenLabels, lines));
    assertFalse(LineLabels.problemLabel(tokenLabels));
    boolean[] allRight = {T, T, T, T, T, T, T, T, T};
    assertArrayEquals(new boolean[] {T, T}, LineLabels.lineLabels(allRight, lines));
    assertTrue(LineLabels.problemLabel(allRight));
  }

  @Test
  void whitespaceOnlyLinesAreNotLinesOfCode() {
    String[] tokens = {"a", " =", " 1", "\n", "\n", "   \n", "b", " =", " 2", "\n"};
    String text = String.join("", tokens);
    List<Lines.Line> all = Lines.of(text, offsets(tokens));
    assertEquals(4, all.size());
    List<Lines.Line> code = LineLabels.codeLines(text, offsets(tokens));
    assertEquals(List.of(new Lines.Line(0, 4, 0, 6), new Lines.Line(6, 10, 11, 17)), code);
    // the blank line's token is wrong (the fix has no blank line there): no code line is wrong, the problem is
    boolean[] tokenLabels = {T, T, T, T, T, F, T, T, T, T};
    assertArrayEquals(new boolean[] {T, T}, LineLabels.lineLabels(tokenLabels, code));
    assertFalse(LineLabels.problemLabel(tokenLabels));
  }

  @Test
  void singleLineWithoutNewline() {
    String[] tokens = {"return", " 1"};
    String text = String.join("", tokens);
    List<Lines.Line> lines = LineLabels.codeLines(text, offsets(tokens));
    assertEquals(List.of(new Lines.Line(0, 2, 0, 8)), lines);
    assertArrayEquals(new boolean[] {F}, LineLabels.lineLabels(new boolean[] {T, F}, lines));
    assertArrayEquals(new boolean[] {T}, LineLabels.lineLabels(new boolean[] {T, T}, lines));
  }

  @Test
  void anEmptyCompletionIsAWrongProblem() {
    assertFalse(LineLabels.problemLabel(new boolean[0]));
    assertEquals(List.of(), LineLabels.codeLines("", List.of()));
  }

  @Test
  void aLineIsBlankByTheTextOfItsTokens() {
    // a token that starts on a blank line and runs into the next: that line's tokens are not blank
    String[] tokens = {"a = 1\n", "\nb", " = 2\n"};
    String text = String.join("", tokens);
    List<Lines.Line> all = Lines.of(text, offsets(tokens));
    assertEquals(List.of(new Lines.Line(0, 1, 0, 6), new Lines.Line(1, 2, 6, 7), new Lines.Line(2, 3, 7, 13)), all);
    assertEquals(all, LineLabels.codeLines(text, offsets(tokens)));
    assertTrue(Lines.isBlank(List.of("\n".getBytes(), " \t".getBytes())));
    assertFalse(Lines.isBlank(List.of("\n".getBytes(), "x".getBytes())));
  }

  @Test
  void linesOutsideTheTokensAreRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> LineLabels.lineLabels(new boolean[] {T}, List.of(new Lines.Line(0, 2, 0, 5))));
  }
}
