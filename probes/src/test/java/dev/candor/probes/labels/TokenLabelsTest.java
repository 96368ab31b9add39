package dev.candor.probes.labels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** Token labels on crafted diffs: which completion tokens the fix keeps. */
class TokenLabelsTest {
  static final boolean T = true;
  static final boolean F = false;

  @Test
  void identicalIsAllCorrect() {
    assertArrayEquals(new boolean[] {T, T, T}, TokenLabels.label(new int[] {1, 2, 3}, new int[] {1, 2, 3}));
  }

  @Test
  void substitutedTokenIsWrong() {
    assertArrayEquals(
        new boolean[] {T, T, F, T, T}, TokenLabels.label(new int[] {1, 2, 3, 4, 5}, new int[] {1, 2, 9, 4, 5}));
  }

  @Test
  void tokenAfterAnInsertionIsWrong() {
    // the fix inserts 5 before completion token 2
    assertArrayEquals(new boolean[] {T, T, F, T}, TokenLabels.label(new int[] {1, 2, 3, 4}, new int[] {1, 2, 5, 3, 4}));
    assertArrayEquals(new boolean[] {F, T}, TokenLabels.label(new int[] {1, 2}, new int[] {0, 1, 2}));
  }

  @Test
  void deletedTokenIsWrong() {
    assertArrayEquals(new boolean[] {T, F, T, T}, TokenLabels.label(new int[] {1, 2, 3, 4}, new int[] {1, 3, 4}));
    assertArrayEquals(new boolean[] {T, T, F, F}, TokenLabels.label(new int[] {1, 2, 3, 4}, new int[] {1, 2}));
  }

  @Test
  void stoppingTooEarlyMarksTheLastToken() {
    assertArrayEquals(new boolean[] {T, T, F}, TokenLabels.label(new int[] {1, 2, 3}, new int[] {1, 2, 3, 4, 5}));
    // replace at 2 and insert at the end (difflib: equal, replace, equal, insert)
    assertArrayEquals(
        new boolean[] {T, T, F, T, F}, TokenLabels.label(new int[] {1, 2, 3, 4, 5}, new int[] {1, 2, 9, 4, 5, 6}));
  }

  @Test
  void emptyCompletionHasNoLabels() {
    assertArrayEquals(new boolean[0], TokenLabels.label(new int[0], new int[] {1, 2}));
    assertArrayEquals(new boolean[0], TokenLabels.label(new int[0], new int[0]));
  }

  @Test
  void completelyDifferentIsAllWrong() {
    assertArrayEquals(new boolean[] {F, F, F}, TokenLabels.label(new int[] {1, 2, 3}, new int[] {4, 5, 6}));
    assertArrayEquals(new boolean[] {F, F}, TokenLabels.label(new int[] {1, 2}, new int[0]));
  }

  @Test
  void aLongerEdit() {
    // difflib: equal 0-5, replace 5-6, equal 6-10, delete 10-11, equal 11-16, insert at 16, equal 16-22, delete 22-24
    int[] completion = {1, 4, 4, 1, 2, 4, 3, 4, 0, 4, 0, 3, 2, 4, 1, 1, 3, 4, 4, 3, 3, 1, 1, 1};
    int[] fixed = {1, 4, 4, 1, 2, 9, 3, 4, 0, 4, 3, 2, 4, 1, 1, 7, 7, 3, 4, 4, 3, 3, 1};
    assertArrayEquals(
        new boolean[] {T, T, T, T, T, F, T, T, T, T, F, T, T, T, T, T, F, T, T, T, T, T, F, F},
        TokenLabels.label(completion, fixed));
  }
}
