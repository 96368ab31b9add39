package dev.candor.engine.grammar;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * A byte trie of a fixed set of byte strings, each with a value: the texts of an enum, {@code true}, a literal of
 * tool-call markup, or the quoted keys an object may write next (the value is then the property's index). Node 0 is
 * the root. Built once per schema; only the automaton's slow path walks it, so a hash map of edges is enough.
 */
final class LiteralTrie {
  private final Map<Long, Integer> edges = new HashMap<>(); // (node << 8 | byte) -> child
  private final List<Integer> values = new ArrayList<>(); // [node] -> the value of the string ending here, or -1
  private int[] minBelow; // [node] -> the least weight(value) of the strings through it (see annotate)

  LiteralTrie() {
    values.add(-1);
  }

  /** Adds a string with its value; a string added twice keeps its first value. */
  void add(byte[] text, int value) {
    int at = 0;
    for (byte b : text) {
      long key = (long) at << 8 | (b & 0xFF);
      Integer next = edges.get(key);
      if (next == null) {
        next = values.size();
        values.add(-1);
        edges.put(key, next);
      }
      at = next;
    }
    if (values.get(at) < 0) {
      values.set(at, value);
    }
  }

  boolean isEmpty() {
    return values.size() == 1 && values.get(0) < 0;
  }

  /** The child of {@code node} along byte {@code b}, or -1. */
  int child(int node, int b) {
    Integer next = edges.get((long) node << 8 | b);
    return next == null ? -1 : next;
  }

  boolean isTerminal(int node) {
    return values.get(node) >= 0;
  }

  /** The value of the string that ends at {@code node} (-1 if none does). */
  int value(int node) {
    return values.get(node);
  }

  /**
   * Records, for every node, the least {@code weight(value)} over the strings that pass through it, so a walk can
   * refuse a byte after which every string would lead to a value nested too deep (see {@link Node#minDepth}).
   */
  void annotate(IntUnaryOperator weight) {
    int n = values.size();
    int[] min = new int[n];
    java.util.Arrays.fill(min, Node.UNREACHABLE);
    for (int node = 0; node < n; node++) {
      if (values.get(node) >= 0) {
        min[node] = weight.applyAsInt(values.get(node));
      }
    }
    int changed; // a fixpoint over the edges: a parent takes the least of its children
    do {
      changed = 0;
      for (var e : edges.entrySet()) {
        int parent = (int) (e.getKey() >>> 8);
        if (min[e.getValue()] < min[parent]) {
          min[parent] = min[e.getValue()];
          changed++;
        }
      }
    } while (changed > 0);
    minBelow = min;
  }

  /** The least weight below {@code node} (after {@link #annotate}); 0 if it was never annotated. */
  int minBelow(int node) {
    return minBelow == null ? 0 : minBelow[node];
  }
}
