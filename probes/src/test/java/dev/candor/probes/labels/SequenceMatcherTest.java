package dev.candor.probes.labels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.candor.probes.labels.SequenceMatcher.Match;
import dev.candor.probes.labels.SequenceMatcher.Opcode;
import dev.candor.probes.labels.SequenceMatcher.Opcode.Tag;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The port against Python's difflib. Expected values are the output of
 * {@code difflib.SequenceMatcher(None, a, b, autojunk=False)} (Python 3), pasted as literals.
 */
class SequenceMatcherTest {
  static Opcode op(Tag tag, int i1, int i2, int j1, int j2) {
    return new Opcode(tag, i1, i2, j1, j2);
  }

  static List<Opcode> opcodes(int[] a, int[] b) {
    return new SequenceMatcher(a, b).opcodes();
  }

  @Test
  void substitutionAndAppend() {
    int[] a = {1, 2, 3, 4, 5};
    int[] b = {1, 2, 9, 4, 5, 6};
    SequenceMatcher m = new SequenceMatcher(a, b);
    assertEquals(List.of(new Match(0, 0, 2), new Match(3, 3, 2), new Match(5, 6, 0)), m.matchingBlocks());
    assertEquals(
        List.of(
            op(Tag.EQUAL, 0, 2, 0, 2), op(Tag.REPLACE, 2, 3, 2, 3), op(Tag.EQUAL, 3, 5, 3, 5), op(Tag.INSERT, 5, 5, 5, 6)),
        m.opcodes());
  }

  @Test
  void emptySequences() {
    assertEquals(List.of(new Match(0, 0, 0)), new SequenceMatcher(new int[0], new int[0]).matchingBlocks());
    assertEquals(List.of(), opcodes(new int[0], new int[0]));
    assertEquals(List.of(op(Tag.INSERT, 0, 0, 0, 2)), opcodes(new int[0], new int[] {1, 2}));
    assertEquals(List.of(op(Tag.DELETE, 0, 2, 0, 0)), opcodes(new int[] {1, 2}, new int[0]));
  }

  @Test
  void identicalAndDisjoint() {
    assertEquals(List.of(op(Tag.EQUAL, 0, 3, 0, 3)), opcodes(new int[] {1, 2, 3}, new int[] {1, 2, 3}));
    assertEquals(List.of(op(Tag.REPLACE, 0, 3, 0, 3)), opcodes(new int[] {1, 2, 3}, new int[] {4, 5, 6}));
  }

  @Test
  void insertionAndDeletionInside() {
    assertEquals(
        List.of(op(Tag.EQUAL, 0, 2, 0, 2), op(Tag.INSERT, 2, 2, 2, 3), op(Tag.EQUAL, 2, 4, 3, 5)),
        opcodes(new int[] {1, 2, 3, 4}, new int[] {1, 2, 5, 3, 4}));
    assertEquals(
        List.of(op(Tag.EQUAL, 0, 1, 0, 1), op(Tag.DELETE, 1, 2, 1, 1), op(Tag.EQUAL, 2, 4, 1, 3)),
        opcodes(new int[] {1, 2, 3, 4}, new int[] {1, 3, 4}));
  }

  @Test
  void longestMatchTiesGoToTheEarliestInAThenB() {
    // a[0:3] = 1 2 1 matches b[1:4]; a[1:4] = 2 1 2 matches b[0:3]: same size, earlier in a wins
    SequenceMatcher m = new SequenceMatcher(new int[] {1, 2, 1, 2}, new int[] {2, 1, 2, 1});
    assertEquals(new Match(0, 1, 3), m.findLongestMatch(0, 4, 0, 4));
    assertEquals(
        List.of(op(Tag.INSERT, 0, 0, 0, 1), op(Tag.EQUAL, 0, 3, 1, 4), op(Tag.DELETE, 3, 4, 4, 4)), m.opcodes());
    // four blocks of size 2: (0,2), (1,2), (3,0), (4,0); difflib takes (0,2)
    int[] a = {1, 1, 1, 2, 2, 2, 3};
    int[] b = {2, 2, 1, 1, 3, 3, 1};
    assertEquals(new Match(0, 2, 2), new SequenceMatcher(a, b).findLongestMatch(0, a.length, 0, b.length));
    assertEquals(
        List.of(op(Tag.INSERT, 0, 0, 0, 2), op(Tag.EQUAL, 0, 2, 2, 4), op(Tag.INSERT, 2, 2, 4, 6),
            op(Tag.EQUAL, 2, 3, 6, 7), op(Tag.DELETE, 3, 7, 7, 7)),
        opcodes(a, b));
  }

  @Test
  void longestMatchWithinRanges() {
    SequenceMatcher m = new SequenceMatcher(new int[] {1, 2, 3, 1, 2, 3}, new int[] {1, 2, 3});
    assertEquals(new Match(0, 0, 3), m.findLongestMatch(0, 6, 0, 3));
    assertEquals(new Match(3, 0, 3), m.findLongestMatch(3, 6, 0, 3));
    assertEquals(new Match(1, 1, 2), m.findLongestMatch(0, 6, 1, 3));
    assertEquals(new Match(1, 1, 1), m.findLongestMatch(1, 2, 0, 3));
    assertEquals(new Match(4, 0, 0), m.findLongestMatch(4, 4, 0, 3));
  }

  @Test
  void repeatedBlocks() {
    assertEquals(
        List.of(
            op(Tag.DELETE, 0, 1, 0, 0), op(Tag.EQUAL, 1, 4, 0, 3), op(Tag.REPLACE, 4, 5, 3, 4), op(Tag.EQUAL, 5, 8, 4, 7)),
        opcodes(new int[] {7, 1, 2, 3, 7, 1, 2, 3}, new int[] {1, 2, 3, 9, 1, 2, 3}));
  }

  @Test
  void aLongerEdit() {
    int[] a = {1, 4, 4, 1, 2, 4, 3, 4, 0, 4, 0, 3, 2, 4, 1, 1, 3, 4, 4, 3, 3, 1, 1, 1};
    int[] b = {1, 4, 4, 1, 2, 9, 3, 4, 0, 4, 3, 2, 4, 1, 1, 7, 7, 3, 4, 4, 3, 3, 1};
    assertEquals(
        List.of(op(Tag.EQUAL, 0, 5, 0, 5), op(Tag.REPLACE, 5, 6, 5, 6), op(Tag.EQUAL, 6, 10, 6, 10),
            op(Tag.DELETE, 10, 11, 10, 10), op(Tag.EQUAL, 11, 16, 10, 15), op(Tag.INSERT, 16, 16, 15, 17),
            op(Tag.EQUAL, 16, 22, 17, 23), op(Tag.DELETE, 22, 24, 23, 23)),
        opcodes(a, b));
  }

  @Test
  void opcodesReplayATurnIntoB() {
    SplittableRandom random = new SplittableRandom(3);
    for (int trial = 0; trial < 200; trial++) {
      int[] a = random.ints(random.nextInt(30), 0, 5).toArray();
      int[] b = random.ints(random.nextInt(30), 0, 5).toArray();
      List<Integer> rebuilt = new ArrayList<>();
      int i = 0;
      int j = 0;
      for (Opcode op : opcodes(a, b)) {
        assertEquals(i, op.i1());
        assertEquals(j, op.j1());
        for (int t = op.j1(); t < op.j2(); t++) {
          if (op.tag() == Tag.EQUAL) {
            assertEquals(a[op.i1() + t - op.j1()], b[t]);
          }
          rebuilt.add(b[t]);
        }
        i = op.i2();
        j = op.j2();
      }
      assertEquals(a.length, i);
      assertEquals(b.length, j);
      assertEquals(Arrays.stream(b).boxed().toList(), rebuilt);
    }
  }
}
