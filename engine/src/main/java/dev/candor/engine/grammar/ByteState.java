package dev.candor.engine.grammar;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The byte-level parser's state: the set of stacks still consistent with the text so far. Usually one; more while
 * anyOf alternatives (or an enum's texts and a longer one) share a prefix. Immutable; equal sets are equal states.
 */
final class ByteState {
  private final Stack[] stacks;
  private final int hash;
  final boolean complete; // some stack may end here: the text so far is a whole value

  private ByteState(Stack[] stacks) {
    this.stacks = stacks;
    int h = 0;
    boolean done = false;
    for (Stack s : stacks) {
      h += s.hashCode(); // order-free: a set
      done |= Stack.canEnd(s);
    }
    this.hash = h;
    this.complete = done;
  }

  static ByteState start(Node root) {
    return new ByteState(new Stack[] {Stack.push(null, root.start())});
  }

  /** The state after byte {@code b}, or null where no stack takes it. */
  ByteState feed(int b) {
    List<Stack> out = new ArrayList<>(2);
    for (Stack s : stacks) {
      Stack.feed(s, b, out);
    }
    return of(out);
  }

  /**
   * As {@link #feed}, keeping only stacks whose byte was taken by markup: how an added token such as
   * {@code <tool_call>} is walked, so it can spell a tag but never appear inside JSON.
   */
  ByteState feedMarkup(int b) {
    List<Stack> out = new ArrayList<>(2);
    for (Stack s : stacks) {
      Stack.feed(s, b, out);
    }
    out.removeIf(s -> !(s.top instanceof Frame.LiteralFrame f && f.node().markup));
    return of(out);
  }

  private static ByteState of(List<Stack> stacks) {
    if (stacks.isEmpty()) {
      return null;
    }
    if (stacks.size() == 1) {
      return new ByteState(new Stack[] {stacks.get(0)});
    }
    return new ByteState(new LinkedHashSet<>(stacks).toArray(new Stack[0]));
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ByteState other) || other.hash != hash || other.stacks.length != stacks.length) {
      return false;
    }
    for (Stack s : stacks) {
      boolean found = false;
      for (Stack t : other.stacks) {
        if (s.equals(t)) {
          found = true;
          break;
        }
      }
      if (!found) {
        return false;
      }
    }
    return true;
  }
}
