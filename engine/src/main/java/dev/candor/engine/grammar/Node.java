package dev.candor.engine.grammar;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A compiled grammar: a graph of nodes, one per JSON value kind (a schema compiles to these) plus the parts that
 * compose text around JSON (a literal, a sequence, a repetition, whitespace). A node is the static description; a
 * {@link Frame} is a position inside one while text is written. Nodes compare by identity, so two positions in two
 * different properties of the same shape are told apart.
 *
 * <p>Every node knows {@link #minDepth}: how many stack frames its shortest value needs. A value is only started
 * where that many frames still fit under {@link #MAX_DEPTH}, so the parser can never walk into a position from which
 * no complete text is reachable (a recursive schema, or JSON nested past the bound, simply cannot go deeper).
 */
abstract sealed class Node {
  /** The most frames a position may have: JSON nested about 30 deep. */
  static final int MAX_DEPTH = 32;
  /** minDepth of a node that admits no finite value. */
  static final int UNREACHABLE = 1 << 20;
  /**
   * Whitespace between JSON tokens is one space, or a newline and up to this many spaces and tabs of indentation
   * (llama.cpp's JSON grammar bounds it the same way): enough for pretty-printed JSON, never a run of blank lines
   * that fills a model's token budget.
   */
  static final int MAX_INDENT = 20;
  /** A bound meaning "none" for maxItems / maxLength. */
  static final int UNBOUNDED = Integer.MAX_VALUE;

  int minDepth = UNREACHABLE;

  /** Starts this node's value on top of {@code parent} and feeds it its first byte. */
  void enter(Stack parent, int b, List<Stack> out) {
    if (Stack.depth(parent) + minDepth <= MAX_DEPTH) {
      Stack.feed(Stack.push(parent, start()), b, out);
    }
  }

  /** The frame at the start of this node's value. */
  abstract Frame start();

  /** minDepth from the children's current values (iterated to a fixpoint by {@link #settle}). */
  abstract int computeMinDepth();

  abstract List<Node> children();

  /** Whether the empty text is a value of this node (only composition parts can be empty; JSON values never). */
  boolean nullable() {
    return false;
  }

  static boolean isWhitespace(int b) {
    return b == ' ' || b == '\n' || b == '\r' || b == '\t';
  }

  /**
   * The whitespace run after byte {@code b}, from run {@code ws}: 0 is none yet, 1 a single space (nothing more
   * may follow), 2 + n a newline and n indentation bytes. -1 where the run may not take {@code b}.
   */
  static int whitespace(int ws, int b) {
    if (ws == 0) {
      return b == ' ' ? 1 : b == '\n' ? 2 : -1;
    }
    return ws >= 2 && ws - 2 < MAX_INDENT && (b == ' ' || b == '\t') ? ws + 1 : -1;
  }

  /** Computes every node's minDepth reachable from {@code root} (least fixpoint: recursion without a base case stays unreachable). */
  static void settle(Node root) {
    Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    List<Node> all = new ArrayList<>();
    List<Node> todo = new ArrayList<>(List.of(root));
    while (!todo.isEmpty()) {
      Node n = todo.removeLast();
      if (seen.add(n)) {
        all.add(n);
        todo.addAll(n.children());
      }
    }
    boolean changed = true;
    while (changed) {
      changed = false;
      for (Node n : all) {
        int d = Math.min(UNREACHABLE, n.computeMinDepth());
        if (d < n.minDepth) {
          n.minDepth = d;
          changed = true;
        }
      }
    }
    for (Node n : all) {
      if (n instanceof Obj o) {
        o.annotateKeys();
      }
    }
  }

  /** A fixed set of byte strings: an enum or const, true/false/null, or literal markup text around JSON. */
  static final class Literals extends Node {
    final LiteralTrie trie;
    /** Markup (tool-call tags) rather than JSON: only here may a tokenizer's added tokens such as {@code <tool_call>} appear. */
    final boolean markup;

    Literals(LiteralTrie trie, boolean markup) {
      this.trie = trie;
      this.markup = markup;
    }

    @Override
    Frame start() {
      return new Frame.LiteralFrame(this, 0);
    }

    @Override
    int computeMinDepth() {
      return trie.isEmpty() ? UNREACHABLE : 1;
    }

    @Override
    List<Node> children() {
      return List.of();
    }

    @Override
    boolean nullable() {
      return trie.isTerminal(0);
    }
  }

  /** A JSON string of minLength..maxLength characters (code points, as JSON Schema counts them). */
  static final class Str extends Node {
    final int minLength;
    final int maxLength;

    Str(int minLength, int maxLength) {
      this.minLength = minLength;
      this.maxLength = maxLength;
    }

    /** Counts above this are all alike: the count saturates here, so an unbounded string has finitely many states. */
    int countCap() {
      return maxLength == UNBOUNDED ? minLength : maxLength;
    }

    @Override
    Frame start() {
      return new Frame.StringFrame(this, Frame.StringFrame.OPEN, 0);
    }

    @Override
    int computeMinDepth() {
      return minLength <= maxLength ? 1 : UNREACHABLE;
    }

    @Override
    List<Node> children() {
      return List.of();
    }
  }

  /** A JSON number, or an integer (no fraction, no exponent). */
  static final class Num extends Node {
    final boolean integer;

    Num(boolean integer) {
      this.integer = integer;
    }

    @Override
    Frame start() {
      return new Frame.NumberFrame(this, Frame.NumberFrame.START, 0);
    }

    @Override
    int computeMinDepth() {
      return 1;
    }

    @Override
    List<Node> children() {
      return List.of();
    }
  }

  /**
   * A JSON object. With properties it writes them in the schema's order, each optional one may be left out, and no
   * others appear; without (json_object, or a schema with no properties that allows any) its keys are any strings
   * and its values any JSON.
   */
  static final class Obj extends Node {
    final boolean free;
    final List<String> names; // fixed: the properties in order
    final List<Node> values; // fixed: their schemas; free: one element, the schema of every value
    final boolean[] required; // fixed: [property]
    final LiteralTrie[] keys; // fixed: [i] -> the quoted keys that may come next when properties i.. remain
    final boolean[] optionalFrom; // fixed: [i] -> properties i.. are all optional (so "}" may come)
    final Node key; // free: the key's schema

    private Obj(boolean free, List<String> names, List<Node> values, boolean[] required, Node key) {
      this.free = free;
      this.names = names;
      this.values = values;
      this.required = required;
      this.key = key;
      int n = names.size();
      this.keys = new LiteralTrie[n + 1];
      this.optionalFrom = new boolean[n + 1];
      optionalFrom[n] = true;
      for (int i = n - 1; i >= 0; i--) {
        optionalFrom[i] = optionalFrom[i + 1] && !required[i];
      }
      for (int i = 0; i <= n; i++) {
        keys[i] = new LiteralTrie();
        for (int j = i; j < n; j++) {
          keys[i].add(JsonText.quote(names.get(j)), j);
          if (required[j]) {
            break; // a required property cannot be skipped
          }
        }
      }
    }

    static Obj fixed(List<String> names, List<Node> values, boolean[] required) {
      return new Obj(false, List.copyOf(names), List.copyOf(values), required.clone(), null);
    }

    static Obj free(Node value) {
      return new Obj(true, List.of(), List.of(value), new boolean[0], new Str(0, UNBOUNDED));
    }

    void annotateKeys() {
      for (LiteralTrie t : keys) {
        t.annotate(j -> values.get(j).minDepth);
      }
    }

    @Override
    Frame start() {
      return new Frame.ObjectFrame(this, Frame.ObjectFrame.OPEN, 0, 0, 0);
    }

    @Override
    int computeMinDepth() {
      if (free) {
        return 1;
      }
      int deepest = 0;
      for (int i = 0; i < required.length; i++) {
        if (required[i]) {
          deepest = Math.max(deepest, values.get(i).minDepth);
        }
      }
      return 1 + deepest;
    }

    @Override
    List<Node> children() {
      List<Node> c = new ArrayList<>(values);
      if (key != null) {
        c.add(key);
      }
      return c;
    }
  }

  /** A JSON array of minItems..maxItems values of one schema. */
  static final class Arr extends Node {
    final Node items;
    final int minItems;
    final int maxItems;

    Arr(Node items, int minItems, int maxItems) {
      this.items = items;
      this.minItems = minItems;
      this.maxItems = maxItems;
    }

    int countCap() {
      return maxItems == UNBOUNDED ? minItems : maxItems;
    }

    @Override
    Frame start() {
      return new Frame.ArrayFrame(this, Frame.ArrayFrame.OPEN, 0, 0);
    }

    @Override
    int computeMinDepth() {
      if (minItems > maxItems) {
        return UNREACHABLE;
      }
      return 1 + (minItems > 0 ? items.minDepth : 0);
    }

    @Override
    List<Node> children() {
      return List.of(items);
    }
  }

  /** Any one of several alternatives (anyOf, a list of types): no frame of its own, each alternative is entered. */
  static final class Choice extends Node {
    final List<Node> alternatives;

    Choice(List<Node> alternatives) {
      this.alternatives = List.copyOf(alternatives);
    }

    @Override
    void enter(Stack parent, int b, List<Stack> out) {
      for (Node alternative : alternatives) {
        alternative.enter(parent, b, out);
      }
    }

    @Override
    Frame start() {
      throw new IllegalStateException("a choice has no frame of its own");
    }

    @Override
    int computeMinDepth() {
      int least = UNREACHABLE;
      for (Node a : alternatives) {
        least = Math.min(least, a.minDepth);
      }
      return least;
    }

    @Override
    List<Node> children() {
      return alternatives;
    }

    @Override
    boolean nullable() {
      return alternatives.stream().anyMatch(Node::nullable);
    }
  }

  /** A $ref: the node it points to, set once that is compiled (so a schema may refer to itself). */
  static final class Ref extends Node {
    Node target;

    @Override
    void enter(Stack parent, int b, List<Stack> out) {
      target.enter(parent, b, out);
    }

    @Override
    Frame start() {
      throw new IllegalStateException("a reference has no frame of its own");
    }

    @Override
    int computeMinDepth() {
      return target.minDepth;
    }

    @Override
    List<Node> children() {
      return List.of(target);
    }
  }

  /** Parts one after another: markup, a JSON value, more markup. */
  static final class Seq extends Node {
    final List<Node> parts;
    final boolean[] nullableFrom; // [i] -> parts i.. can all be empty

    Seq(List<Node> parts) {
      this.parts = List.copyOf(parts);
      this.nullableFrom = new boolean[parts.size() + 1];
      nullableFrom[parts.size()] = true;
      for (int i = parts.size() - 1; i >= 0; i--) {
        nullableFrom[i] = nullableFrom[i + 1] && parts.get(i).nullable();
      }
    }

    @Override
    Frame start() {
      return new Frame.SeqFrame(this, 0);
    }

    @Override
    int computeMinDepth() {
      int deepest = 0;
      for (Node p : parts) {
        deepest = Math.max(deepest, p.minDepth);
      }
      return 1 + deepest;
    }

    @Override
    List<Node> children() {
      return parts;
    }

    @Override
    boolean nullable() {
      return nullableFrom[0];
    }
  }

  /** min..max elements with a separator between them (several tool calls). */
  static final class Repeat extends Node {
    final Node element;
    final Node separator;
    final int min;
    final int max;

    Repeat(Node element, Node separator, int min, int max) {
      this.element = element;
      this.separator = separator;
      this.min = min;
      this.max = max;
    }

    int countCap() {
      return max == UNBOUNDED ? min : max;
    }

    @Override
    Frame start() {
      return new Frame.RepeatFrame(this, 0, false);
    }

    @Override
    int computeMinDepth() {
      if (min > max) {
        return UNREACHABLE;
      }
      int need = min >= 1 ? element.minDepth : 0;
      if (min >= 2) {
        need = Math.max(need, separator.minDepth);
      }
      return 1 + need;
    }

    @Override
    List<Node> children() {
      return List.of(element, separator);
    }

    @Override
    boolean nullable() {
      return min == 0 || element.nullable();
    }
  }

  /** Optional whitespace, bounded as between JSON tokens (before and after a top-level value). */
  static final class Ws extends Node {
    @Override
    Frame start() {
      return new Frame.WsFrame(0);
    }

    @Override
    int computeMinDepth() {
      return 1;
    }

    @Override
    List<Node> children() {
      return List.of();
    }

    @Override
    boolean nullable() {
      return true;
    }
  }
}
