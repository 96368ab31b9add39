package dev.candor.engine.grammar;

import java.util.List;

/**
 * An immutable stack of {@link Frame}s: the byte-level parser's position in a grammar. The top frame is the value
 * being written; each frame below is its container, already in the phase it takes once the value above it ends.
 * Stacks share their tails, compare by content (so equal positions are recognised and their masks shared) and carry
 * their hash and depth.
 */
final class Stack {
  final Frame top;
  final Stack below; // null at the bottom
  final int depth; // frames in this stack
  private final int hash;

  private Stack(Frame top, Stack below) {
    this.top = top;
    this.below = below;
    this.depth = below == null ? 1 : below.depth + 1;
    this.hash = top.hashCode() * 31 + (below == null ? 0 : below.hash);
  }

  static Stack push(Stack below, Frame top) {
    return new Stack(top, below);
  }

  static int depth(Stack stack) {
    return stack == null ? 0 : stack.depth;
  }

  /**
   * Feeds byte {@code b} to {@code stack}: its top frame consumes it, or, where the top may end there, the frame
   * below takes it instead (both can hold: a number "12" may take "3" or end and let its array take ","). Every
   * resulting stack goes to {@code out}; none when the byte is not allowed.
   */
  static void feed(Stack stack, int b, List<Stack> out) {
    if (stack == null) {
      return; // the grammar has ended: nothing may follow
    }
    stack.top.feed(b, stack.below, out);
    if (stack.top.canEnd()) {
      feed(stack.below, b, out);
    }
  }

  /** Whether every frame may end here, so the whole text is complete. */
  static boolean canEnd(Stack stack) {
    for (Stack s = stack; s != null; s = s.below) {
      if (!s.top.canEnd()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Stack other)) {
      return false;
    }
    Stack a = this;
    Stack b = other;
    while (a != b) {
      if (a == null || b == null || a.hash != b.hash || a.depth != b.depth || !a.top.equals(b.top)) {
        return false;
      }
      a = a.below;
      b = b.below;
    }
    return true;
  }
}
