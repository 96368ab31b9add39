package dev.candor.engine.confidence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Whole-line agreement after alignment, against a slow, obviously correct oracle: the longest common subsequence by
 * exhaustive search over subsets on small random inputs.
 */
class ConsistencyTest {
  static final String ANSWER = "a = 3\nb = a * 2 = 3 * 2 = 6\n\noutput: 6\n";

  @Test
  void agreementPerLineAndPerResponse() {
    List<String> samples = List.of(
        ANSWER, // identical
        "a = 3\nb = a * 2 = 3 * 2 = 7\noutput: 7\n", // the computation differs
        "a = 3\nextra line\nb = a * 2 = 3 * 2 = 6\noutput: 6", // an inserted line, no final newline
        "a = 3   \n\n\nb = a * 2 = 3 * 2 = 6\noutput: 6\n"); // trailing spaces and blank lines: the same lines
    Consistency.Result r = Consistency.of(ANSWER, samples);
    assertEquals(3, r.lines().size(), "the blank line is not measured");
    assertEquals(1.0, r.lines().get(0).agreement());
    assertEquals(0.75, r.lines().get(1).agreement());
    assertEquals(0.75, r.lines().get(2).agreement());
    assertEquals(0.5, r.response(), "two samples have exactly the answer's lines");
    assertEquals(0, r.lines().get(0).charStart());
    assertEquals(6, r.lines().get(0).charEnd());
    assertEquals(0.75, r.lineAt(ANSWER.indexOf("output")));
    assertTrue(Double.isNaN(r.lineAt(ANSWER.indexOf("\n\n") + 1)), "the blank line has no agreement");
  }

  @Test
  void noSamplesMeasureNothing() {
    Consistency.Result r = Consistency.of(ANSWER, List.of());
    assertTrue(Double.isNaN(r.response()));
    assertTrue(r.lines().stream().allMatch(l -> Double.isNaN(l.agreement())));
    assertEquals(0, Consistency.of("\n \n", List.of(ANSWER)).lines().size());
  }

  @Test
  void alignmentMatchesALongestCommonSubsequence() {
    SplittableRandom random = new SplittableRandom(7);
    for (int trial = 0; trial < 300; trial++) {
      List<String> a = randomLines(random, 1 + random.nextInt(7));
      List<String> b = randomLines(random, random.nextInt(8));
      boolean[] matched = Consistency.align(a, b);
      int count = 0;
      List<String> picked = new ArrayList<>();
      for (int i = 0; i < matched.length; i++) {
        if (matched[i]) {
          count++;
          picked.add(a.get(i));
        }
      }
      assertEquals(lcsLength(a, b), count, a + " vs " + b);
      assertTrue(isSubsequence(picked, b), "the matched lines occur in b in order: " + picked + " in " + b);
    }
  }

  @Test
  void deterministicOnTies() {
    boolean[] matched = Consistency.align(List.of("x", "y"), List.of("y", "x"));
    assertArrayEquals(new boolean[] {true, false}, matched, "skipping a line of b first on a tie keeps a's first");
  }

  private static List<String> randomLines(SplittableRandom random, int n) {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      lines.add(String.valueOf((char) ('a' + random.nextInt(3))));
    }
    return lines;
  }

  /** The oracle: the largest subset of a (by bitmask) that is a subsequence of b. */
  private static int lcsLength(List<String> a, List<String> b) {
    int best = 0;
    for (int mask = 0; mask < 1 << a.size(); mask++) {
      List<String> picked = new ArrayList<>();
      for (int i = 0; i < a.size(); i++) {
        if ((mask >> i & 1) == 1) {
          picked.add(a.get(i));
        }
      }
      if (picked.size() > best && isSubsequence(picked, b)) {
        best = picked.size();
      }
    }
    return best;
  }

  private static boolean isSubsequence(List<String> s, List<String> b) {
    int j = 0;
    for (String x : b) {
      if (j < s.size() && s.get(j).equals(x)) {
        j++;
      }
    }
    return j == s.size();
  }
}
