package dev.candor.engine.grammar;

import java.util.List;

/**
 * A position inside one {@link Node}'s value while its text is written, one byte at a time: which phase of an object
 * (before a key, in it, after its colon, ...), how many characters of a string, which part of a number. Frames are
 * small immutable records; equal positions are equal frames, which is what lets the automaton share masks.
 *
 * <p>{@link #feed} consumes one byte within this frame (or starts a child value on top of it) and emits the
 * resulting stacks; {@link #canEnd} says whether the value may end here, in which case {@link Stack#feed} also
 * offers the byte to the frame below. The JSON grammar is RFC 8259's, with runs bounded so that generation always
 * ends: whitespace is a space or a newline with at most {@link Node#MAX_INDENT} bytes of indentation, number
 * parts have at most
 * {@link NumberFrame#MAX_INT_DIGITS} / {@link NumberFrame#MAX_FRACTION_DIGITS} / {@link NumberFrame#MAX_EXPONENT_DIGITS}
 * digits. Strings are valid UTF-8 (RFC 3629: no overlong forms, no surrogates) and a {@code \}{@code u} escape is a
 * character or a surrogate pair, never half of one.
 */
sealed interface Frame {
  void feed(int b, Stack below, List<Stack> out);

  boolean canEnd();

  private static void emit(List<Stack> out, Stack below, Frame frame) {
    out.add(Stack.push(below, frame));
  }

  /** Whether a value needing {@code minDepth} frames fits on top of a frame at {@code depth}. */
  private static boolean fits(int depth, int minDepth) {
    return depth + minDepth <= Node.MAX_DEPTH;
  }

  /** Inside one of a fixed set of byte strings: {@code at} is the trie node reached. */
  record LiteralFrame(Node.Literals node, int at) implements Frame {
    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      int next = node.trie.child(at, b);
      if (next >= 0) {
        emit(out, below, new LiteralFrame(node, next));
      }
    }

    @Override
    public boolean canEnd() {
      return node.trie.isTerminal(at);
    }
  }

  /** A run of whitespace, as {@link Node#whitespace} encodes it. */
  record WsFrame(int ws) implements Frame {
    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      int next = Node.whitespace(ws, b);
      if (next >= 0) {
        emit(out, below, new WsFrame(next));
      }
    }

    @Override
    public boolean canEnd() {
      return true;
    }
  }

  /** Part {@code index} of a sequence is next. */
  record SeqFrame(Node.Seq node, int index) implements Frame {
    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      if (index < node.parts.size()) {
        node.parts.get(index).enter(Stack.push(below, new SeqFrame(node, index + 1)), b, out);
      }
    }

    @Override
    public boolean canEnd() {
      return node.nullableFrom[index];
    }
  }

  /**
   * A repetition with {@code count} elements written (saturating at the bound that matters); either an element
   * comes next ({@code afterElement} false) or a separator or the end may.
   */
  record RepeatFrame(Node.Repeat node, int count, boolean afterElement) implements Frame {
    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      if (!afterElement) {
        int written = Math.min(count + 1, Math.max(1, node.countCap()));
        node.element.enter(Stack.push(below, new RepeatFrame(node, written, true)), b, out);
      } else if (count < node.max && fits(Stack.depth(below) + 1, node.element.minDepth)) {
        node.separator.enter(Stack.push(below, new RepeatFrame(node, count, false)), b, out);
      }
    }

    @Override
    public boolean canEnd() {
      return afterElement ? count >= node.min : count == 0 && node.min == 0;
    }
  }

  /**
   * A JSON string: {@code sub} is the lexical state (below), {@code count} the characters written so far, saturating
   * at the bound that matters. A character is counted where it starts: a plain byte, a UTF-8 lead byte, a backslash
   * (a surrogate pair's escapes count once).
   */
  record StringFrame(Node.Str node, int sub, int count) implements Frame {
    static final int OPEN = 0; // before the opening quote
    static final int CONTENT = 1;
    static final int ESCAPE = 2; // after a backslash
    static final int U0 = 3; // after backslash-u: 0 hex digits; U1, U2, U3 after 1..3 (not a surrogate)
    static final int U1 = 4;
    static final int U1D = 5; // first digit d: the second decides whether this is a surrogate
    static final int U2 = 6;
    static final int U3 = 7;
    static final int HIGH2 = 8; // a high surrogate (d800..dbff), 2 digits read; HIGH3 after 3
    static final int HIGH3 = 9;
    static final int LOW_BACKSLASH = 10; // a complete high surrogate: its low half must follow
    static final int LOW_U = 11;
    static final int LOW0 = 12; // expecting d, then c..f, then two hex digits
    static final int LOW1 = 13;
    static final int LOW2 = 14;
    static final int LOW3 = 15;
    static final int UTF8 = 16; // UTF8 + 5 * (continuation bytes left - 1) + range: inside a multi-byte character
    static final int DONE = 40; // after the closing quote
    // the allowed range of the next continuation byte (RFC 3629's table)
    private static final int[] LOW = {0x80, 0xA0, 0x80, 0x90, 0x80};
    private static final int[] HIGH = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};

    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      int next = step(b);
      if (next >= 0) {
        boolean starts = sub == CONTENT && b != '"';
        int c = starts ? Math.min(count + 1, node.countCap()) : count;
        emit(out, below, new StringFrame(node, next, c));
      }
    }

    /** The next lexical state after byte b, or -1. */
    private int step(int b) {
      return switch (sub) {
        case OPEN -> b == '"' ? CONTENT : -1;
        case CONTENT -> content(b);
        case ESCAPE -> b == 'u' ? U0 : "\"\\/bfnrt".indexOf(b) >= 0 ? CONTENT : -1;
        case U0 -> !isHex(b) ? -1 : (b == 'd' || b == 'D') ? U1D : U1;
        case U1D -> !isHex(b) ? -1 : hexValue(b) < 8 ? U2 : hexValue(b) < 12 ? HIGH2 : -1;
        case U1 -> isHex(b) ? U2 : -1;
        case U2 -> isHex(b) ? U3 : -1;
        case U3, LOW3 -> isHex(b) ? CONTENT : -1;
        case HIGH2 -> isHex(b) ? HIGH3 : -1;
        case HIGH3 -> isHex(b) ? LOW_BACKSLASH : -1;
        case LOW_BACKSLASH -> b == '\\' ? LOW_U : -1;
        case LOW_U -> b == 'u' ? LOW0 : -1;
        case LOW0 -> b == 'd' || b == 'D' ? LOW1 : -1;
        case LOW1 -> isHex(b) && hexValue(b) >= 12 ? LOW2 : -1;
        case LOW2 -> isHex(b) ? LOW3 : -1;
        case DONE -> -1;
        default -> continuation(b);
      };
    }

    /** In the string's content: the closing quote, an escape, a character, or the lead byte of one. */
    private int content(int b) {
      if (b == '"') {
        return count >= node.minLength ? DONE : -1;
      }
      if (count >= node.maxLength || b < 0x20) {
        return -1; // no room for another character; raw control characters are not JSON
      }
      if (b == '\\') {
        return ESCAPE;
      }
      if (b < 0x80) {
        return CONTENT;
      }
      if (b >= 0xC2 && b <= 0xDF) {
        return utf8(1, 0);
      }
      if (b >= 0xE0 && b <= 0xEF) {
        return utf8(2, b == 0xE0 ? 1 : b == 0xED ? 2 : 0);
      }
      if (b >= 0xF0 && b <= 0xF4) {
        return utf8(3, b == 0xF0 ? 3 : b == 0xF4 ? 4 : 0);
      }
      return -1; // a continuation byte, an overlong lead (C0, C1) or past U+10FFFF (F5..FF)
    }

    private static int utf8(int left, int range) {
      return UTF8 + 5 * (left - 1) + range;
    }

    private int continuation(int b) {
      int left = (sub - UTF8) / 5 + 1;
      int range = (sub - UTF8) % 5;
      if (b < LOW[range] || b > HIGH[range]) {
        return -1;
      }
      return left == 1 ? CONTENT : utf8(left - 1, 0);
    }

    private static boolean isHex(int b) {
      return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
    }

    private static int hexValue(int b) {
      return b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
    }

    @Override
    public boolean canEnd() {
      return sub == DONE;
    }
  }

  /** A JSON number (RFC 8259 section 6): {@code sub} is the part being written, {@code digits} its length. */
  record NumberFrame(Node.Num node, int sub, int digits) implements Frame {
    static final int MAX_INT_DIGITS = 20;
    static final int MAX_FRACTION_DIGITS = 20;
    static final int MAX_EXPONENT_DIGITS = 3;
    static final int START = 0;
    static final int MINUS = 1;
    static final int ZERO = 2; // the integer part is "0": no digit may follow
    static final int INT = 3;
    static final int DOT = 4;
    static final int FRACTION = 5;
    static final int EXP_MARK = 6; // after e or E
    static final int EXP_SIGN = 7;
    static final int EXPONENT = 8;

    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      boolean digit = b >= '0' && b <= '9';
      int[] next = switch (sub) {
        case START, MINUS -> b == '-' && sub == START ? at(MINUS, 0) : b == '0' ? at(ZERO, 1) : digit ? at(INT, 1) : null;
        case ZERO -> afterInteger(b);
        case INT -> digit ? (digits < MAX_INT_DIGITS ? at(INT, digits + 1) : null) : afterInteger(b);
        case DOT -> digit ? at(FRACTION, 1) : null;
        case FRACTION -> digit ? (digits < MAX_FRACTION_DIGITS ? at(FRACTION, digits + 1) : null) : exponentMark(b);
        case EXP_MARK -> b == '+' || b == '-' ? at(EXP_SIGN, 0) : digit ? at(EXPONENT, 1) : null;
        case EXP_SIGN -> digit ? at(EXPONENT, 1) : null;
        case EXPONENT -> digit && digits < MAX_EXPONENT_DIGITS ? at(EXPONENT, digits + 1) : null;
        default -> null;
      };
      if (next != null) {
        emit(out, below, new NumberFrame(node, next[0], next[1]));
      }
    }

    private int[] afterInteger(int b) {
      if (node.integer) {
        return null;
      }
      return b == '.' ? at(DOT, 0) : exponentMark(b);
    }

    private int[] exponentMark(int b) {
      return b == 'e' || b == 'E' ? at(EXP_MARK, 0) : null;
    }

    private static int[] at(int sub, int digits) {
      return new int[] {sub, digits};
    }

    @Override
    public boolean canEnd() {
      return sub == ZERO || sub == INT || sub == FRACTION || sub == EXPONENT;
    }
  }

  /**
   * A JSON object: {@code phase} (below), {@code index} the property the phase is about (for a schema's fixed
   * properties), {@code at} the trie node inside a key being written, {@code ws} the whitespace run so far
   * ({@link Node#whitespace}).
   */
  record ObjectFrame(Node.Obj node, int phase, int index, int at, int ws) implements Frame {
    static final int OPEN = 0; // before "{"
    static final int FIRST = 1; // after "{": a key or "}"
    static final int KEY = 2; // inside a fixed key
    static final int COLON = 3;
    static final int VALUE = 4; // after ":"
    static final int AFTER = 5; // after a value: "," or "}"
    static final int NEXT = 6; // after ",": a key
    static final int DONE = 7;

    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      if (phase == OPEN) {
        if (b == '{') {
          emit(out, below, new ObjectFrame(node, FIRST, 0, 0, 0));
        }
        return;
      }
      if (phase != KEY && phase != DONE && Node.isWhitespace(b)) {
        int next = Node.whitespace(ws, b);
        if (next >= 0) {
          emit(out, below, new ObjectFrame(node, phase, index, at, next));
        }
        return;
      }
      int depth = Stack.depth(below) + 1;
      if (node.free) {
        freeObject(b, below, depth, out);
      } else {
        fixedObject(b, below, depth, out);
      }
    }

    /** An object whose properties the schema lists, written in the schema's order. */
    private void fixedObject(int b, Stack below, int depth, List<Stack> out) {
      switch (phase) {
        case FIRST, NEXT -> {
          if (b == '}' && phase == FIRST && node.optionalFrom[0]) {
            emit(out, below, new ObjectFrame(node, DONE, 0, 0, 0));
          } else {
            key(b, below, depth, 0, out);
          }
        }
        case KEY -> key(b, below, depth, at, out);
        case COLON -> {
          if (b == ':') {
            emit(out, below, new ObjectFrame(node, VALUE, index, 0, 0));
          }
        }
        case VALUE -> node.values.get(index).enter(
            Stack.push(below, new ObjectFrame(node, AFTER, index + 1, 0, 0)), b, out);
        case AFTER -> {
          LiteralTrie keys = node.keys[index];
          if (b == ',' && keys.child(0, '"') >= 0 && fits(depth, keys.minBelow(0))) {
            emit(out, below, new ObjectFrame(node, NEXT, index, 0, 0));
          } else if (b == '}' && node.optionalFrom[index]) {
            emit(out, below, new ObjectFrame(node, DONE, 0, 0, 0));
          }
        }
        default -> {}
      }
    }

    /** One byte of a key from trie node {@code from}; only towards properties whose value still fits. */
    private void key(int b, Stack below, int depth, int from, List<Stack> out) {
      LiteralTrie keys = node.keys[index];
      int next = keys.child(from, b);
      if (next < 0 || !fits(depth, keys.minBelow(next))) {
        return;
      }
      if (keys.isTerminal(next)) {
        emit(out, below, new ObjectFrame(node, COLON, keys.value(next), 0, 0));
      } else {
        emit(out, below, new ObjectFrame(node, KEY, index, next, 0));
      }
    }

    /** json_object, or an object schema without properties: any keys, any values. */
    private void freeObject(int b, Stack below, int depth, List<Stack> out) {
      Node value = node.values.get(0);
      boolean roomForMember = fits(depth, Math.max(node.key.minDepth, value.minDepth));
      switch (phase) {
        case FIRST, NEXT -> {
          if (b == '}' && phase == FIRST) {
            emit(out, below, new ObjectFrame(node, DONE, 0, 0, 0));
          } else if (b == '"' && roomForMember) {
            node.key.enter(Stack.push(below, new ObjectFrame(node, COLON, 0, 0, 0)), b, out);
          }
        }
        case COLON -> {
          if (b == ':') {
            emit(out, below, new ObjectFrame(node, VALUE, 0, 0, 0));
          }
        }
        case VALUE -> value.enter(Stack.push(below, new ObjectFrame(node, AFTER, 0, 0, 0)), b, out);
        case AFTER -> {
          if (b == ',' && roomForMember) {
            emit(out, below, new ObjectFrame(node, NEXT, 0, 0, 0));
          } else if (b == '}') {
            emit(out, below, new ObjectFrame(node, DONE, 0, 0, 0));
          }
        }
        default -> {}
      }
    }

    @Override
    public boolean canEnd() {
      return phase == DONE;
    }
  }

  /** A JSON array: {@code phase} (below), {@code count} values written (saturating), {@code ws} the whitespace run. */
  record ArrayFrame(Node.Arr node, int phase, int count, int ws) implements Frame {
    static final int OPEN = 0;
    static final int FIRST = 1; // after "[": a value or "]"
    static final int AFTER = 2; // after a value: "," or "]"
    static final int NEXT = 3; // after ",": a value
    static final int DONE = 4;

    @Override
    public void feed(int b, Stack below, List<Stack> out) {
      if (phase == OPEN) {
        if (b == '[') {
          emit(out, below, new ArrayFrame(node, FIRST, 0, 0));
        }
        return;
      }
      if (phase != DONE && Node.isWhitespace(b)) {
        int next = Node.whitespace(ws, b);
        if (next >= 0) {
          emit(out, below, new ArrayFrame(node, phase, count, next));
        }
        return;
      }
      int written = Math.min(count + 1, node.countCap());
      switch (phase) {
        case FIRST -> {
          if (b == ']' && node.minItems == 0) {
            emit(out, below, new ArrayFrame(node, DONE, 0, 0));
          } else if (node.maxItems >= 1) {
            node.items.enter(Stack.push(below, new ArrayFrame(node, AFTER, written, 0)), b, out);
          }
        }
        case NEXT -> node.items.enter(Stack.push(below, new ArrayFrame(node, AFTER, written, 0)), b, out);
        case AFTER -> {
          if (b == ',' && count < node.maxItems && fits(Stack.depth(below) + 1, node.items.minDepth)) {
            emit(out, below, new ArrayFrame(node, NEXT, count, 0));
          } else if (b == ']' && count >= node.minItems) {
            emit(out, below, new ArrayFrame(node, DONE, 0, 0));
          }
        }
        default -> {}
      }
    }

    @Override
    public boolean canEnd() {
      return phase == DONE;
    }
  }
}
