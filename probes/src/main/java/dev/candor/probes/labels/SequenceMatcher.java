package dev.candor.probes.labels;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A port of Python's {@code difflib.SequenceMatcher} (Ratcliff–Obershelp "gestalt pattern matching") to token id
 * sequences, so that Candor's token labels are the ones the Python pipeline of Gros &amp; Devanbu would produce from
 * the same diff. The port is of {@code SequenceMatcher(None, a, b, autojunk=False)}: no junk elements and no autojunk
 * heuristic, which would otherwise treat any token occurring in over 1% of a long b (≥ 200 items) as "popular" and
 * refuse to anchor matches on it. Code is full of such tokens (indentation, brackets, newlines), and pruning them
 * would make the labels depend on the length of the fix; without the heuristic the result is a deterministic
 * function of the two sequences.
 */
public final class SequenceMatcher {
  /** A matching block: a[a, a + size) == b[b, b + size). */
  public record Match(int a, int b, int size) {}

  /** One edit step, as difflib's get_opcodes: a[i1, i2) becomes b[j1, j2). */
  public record Opcode(Tag tag, int i1, int i2, int j1, int j2) {
    /** difflib's opcode tags. */
    public enum Tag {
      /** a[i1, i2) == b[j1, j2). */
      EQUAL,
      /** a[i1, i2) is replaced by b[j1, j2). */
      REPLACE,
      /** a[i1, i2) is deleted (j1 == j2). */
      DELETE,
      /** b[j1, j2) is inserted before a[i1] (i1 == i2). */
      INSERT
    }
  }

  private final int[] a; // [len a]
  private final int[] b; // [len b]
  private final Map<Integer, int[]> b2j; // token -> its indices in b, ascending (difflib's b2j)

  /** A matcher of {@code a} against {@code b}; both arrays are copied. */
  public SequenceMatcher(int[] a, int[] b) {
    this.a = a.clone();
    this.b = b.clone();
    Map<Integer, List<Integer>> positions = new HashMap<>();
    for (int j = 0; j < b.length; j++) {
      positions.computeIfAbsent(b[j], token -> new ArrayList<>()).add(j);
    }
    this.b2j = new HashMap<>();
    positions.forEach((token, js) -> b2j.put(token, js.stream().mapToInt(Integer::intValue).toArray()));
  }

  /**
   * The longest block with a[i, i + size) == b[j, j + size) inside a[alo, ahi) and b[blo, bhi); among the longest,
   * the one that starts earliest in a, then earliest in b (difflib's tie-breaking). Size 0 at (alo, blo) when nothing
   * matches.
   */
  public Match findLongestMatch(int alo, int ahi, int blo, int bhi) {
    // lengthEndingAt[j + 1] = length of the longest match ending at (i, j), for the previous row i − 1 and this one
    int[] previous = new int[b.length + 1];
    int[] current = new int[b.length + 1];
    int[] touched = new int[b.length]; // the j set in previous, to clear it cheaply
    int touchedCount = 0;
    int[] touchedNow = new int[b.length];
    int bestI = alo;
    int bestJ = blo;
    int bestSize = 0;
    for (int i = alo; i < ahi; i++) {
      int nowCount = 0;
      int[] js = b2j.get(a[i]);
      if (js != null) {
        for (int j : js) {
          if (j < blo) {
            continue;
          }
          if (j >= bhi) {
            break;
          }
          int k = previous[j] + 1;
          current[j + 1] = k;
          touchedNow[nowCount++] = j;
          if (k > bestSize) {
            bestI = i - k + 1;
            bestJ = j - k + 1;
            bestSize = k;
          }
        }
      }
      for (int t = 0; t < touchedCount; t++) {
        previous[touched[t] + 1] = 0;
      }
      int[] swapRow = previous;
      previous = current;
      current = swapRow;
      int[] swapTouched = touched;
      touched = touchedNow;
      touchedNow = swapTouched;
      touchedCount = nowCount;
    }
    // difflib then extends the block over junk; with no junk a maximal match cannot be extended, so nothing to do
    return new Match(bestI, bestJ, bestSize);
  }

  /**
   * All matching blocks, ascending, found by recursing on the longest match and the pieces left and right of it;
   * adjacent blocks merged; ending with the sentinel (len a, len b, 0).
   */
  public List<Match> matchingBlocks() {
    List<Match> blocks = new ArrayList<>();
    Deque<int[]> queue = new ArrayDeque<>(); // {alo, ahi, blo, bhi}
    queue.push(new int[] {0, a.length, 0, b.length});
    while (!queue.isEmpty()) {
      int[] range = queue.pop();
      int alo = range[0];
      int ahi = range[1];
      int blo = range[2];
      int bhi = range[3];
      Match m = findLongestMatch(alo, ahi, blo, bhi);
      if (m.size() > 0) {
        blocks.add(m);
        if (alo < m.a() && blo < m.b()) {
          queue.push(new int[] {alo, m.a(), blo, m.b()});
        }
        if (m.a() + m.size() < ahi && m.b() + m.size() < bhi) {
          queue.push(new int[] {m.a() + m.size(), ahi, m.b() + m.size(), bhi});
        }
      }
    }
    blocks.sort(Comparator.comparingInt(Match::a).thenComparingInt(Match::b).thenComparingInt(Match::size));
    List<Match> merged = new ArrayList<>();
    int i1 = 0;
    int j1 = 0;
    int k1 = 0;
    for (Match m : blocks) {
      if (i1 + k1 == m.a() && j1 + k1 == m.b()) {
        k1 += m.size();
      } else {
        if (k1 > 0) {
          merged.add(new Match(i1, j1, k1));
        }
        i1 = m.a();
        j1 = m.b();
        k1 = m.size();
      }
    }
    if (k1 > 0) {
      merged.add(new Match(i1, j1, k1));
    }
    merged.add(new Match(a.length, b.length, 0));
    return merged;
  }

  /** The edit script turning a into b, as difflib's get_opcodes: consecutive, covering both sequences. */
  public List<Opcode> opcodes() {
    List<Opcode> out = new ArrayList<>();
    int i = 0;
    int j = 0;
    for (Match m : matchingBlocks()) {
      Opcode.Tag tag = null;
      if (i < m.a() && j < m.b()) {
        tag = Opcode.Tag.REPLACE;
      } else if (i < m.a()) {
        tag = Opcode.Tag.DELETE;
      } else if (j < m.b()) {
        tag = Opcode.Tag.INSERT;
      }
      if (tag != null) {
        out.add(new Opcode(tag, i, m.a(), j, m.b()));
      }
      i = m.a() + m.size();
      j = m.b() + m.size();
      if (m.size() > 0) {
        out.add(new Opcode(Opcode.Tag.EQUAL, m.a(), i, m.b(), j));
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "SequenceMatcher[a=" + Arrays.toString(a) + ", b=" + Arrays.toString(b) + "]";
  }
}
