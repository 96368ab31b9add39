package dev.candor.engine.tokenizer.jinja;

/**
 * One lexer token. {@code text} is the source text for names and operators, the decoded value for strings and data;
 * {@code value} is the literal's Python value for integers, floats and strings.
 */
record Token(Type type, String text, Object value, int line) {
  enum Type { DATA, VARIABLE_BEGIN, VARIABLE_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INTEGER, FLOAT, OPERATOR, EOF }

  boolean is(Type t, String s) {
    return type == t && text.equals(s);
  }

  boolean isName(String s) {
    return is(Type.NAME, s);
  }

  boolean isOp(String s) {
    return is(Type.OPERATOR, s);
  }

  /** How Jinja2 names the token in "expected ..." messages. */
  String describe() {
    return switch (type) {
      case EOF -> "end of template";
      case BLOCK_END -> "end of statement block";
      case VARIABLE_END -> "end of print statement";
      case DATA -> "template data";
      default -> text;
    };
  }
}
