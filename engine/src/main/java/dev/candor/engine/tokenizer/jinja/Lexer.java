package dev.candor.engine.tokenizer.jinja;

import dev.candor.engine.tokenizer.jinja.Token.Type;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Template source to tokens, rule for rule as Jinja2 3.1's lexer does it with Hugging Face's settings (trim_blocks,
 * lstrip_blocks, keep_trailing_newline off, the default delimiters): newlines normalised to {@code \n} and one
 * trailing newline dropped; {@code {%-}/{@code -%}} strip all whitespace beside a tag, {@code {%+} keeps it;
 * lstrip_blocks removes a block or comment tag's indentation when only whitespace precedes it on its line;
 * trim_blocks removes the one newline after a block or comment tag. Whitespace here is Python's {@code \s}.
 *
 * <p>Whitespace control is applied while lexing (as Jinja2 does), so DATA tokens hold their final text.
 */
final class Lexer {
  private static final String[] OPERATORS = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
      "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};

  private final String src;
  private final List<Token> out = new ArrayList<>();
  private final Deque<Character> balance = new ArrayDeque<>(); // closing brackets expected, innermost first
  private int pos;
  private int line = 1;
  private boolean lineStarting = true; // the last match ended with a newline (Jinja2's line_starting)

  private Lexer(String source) {
    this.src = normalizeNewlines(source);
  }

  static List<Token> tokenize(String source) {
    Lexer lexer = new Lexer(source);
    lexer.root();
    lexer.out.add(new Token(Type.EOF, "", null, lexer.line));
    return lexer.out;
  }

  /** \r\n, \r and \n all become \n; one trailing newline is dropped (keep_trailing_newline=False). */
  static String normalizeNewlines(String s) {
    String n = s.replace("\r\n", "\n").replace('\r', '\n');
    return n.endsWith("\n") ? n.substring(0, n.length() - 1) : n;
  }

  private void root() {
    while (pos < src.length()) {
      int start = nextTagStart(pos);
      if (start < 0) {
        data(src.substring(pos));
        pos = src.length();
        return;
      }
      char kind = src.charAt(start + 1);
      char sign = start + 2 < src.length() ? src.charAt(start + 2) : 0;
      sign = sign == '-' || sign == '+' ? sign : 0;
      int rawEnd = kind == '%' ? rawBegin(start) : -1;
      data(controlLeft(src.substring(pos, start), sign, kind != '{'));
      pos = start + 2 + (sign != 0 ? 1 : 0);
      if (rawEnd >= 0) {
        advanceTo(rawEnd);
        raw();
      } else if (kind == '#') {
        comment();
      } else {
        lineStarting = false;
        tag(kind == '%' ? Type.BLOCK_BEGIN : Type.VARIABLE_BEGIN);
      }
    }
  }

  private int nextTagStart(int from) {
    for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
      char c = src.charAt(i + 1);
      if (c == '{' || c == '%' || c == '#') {
        return i;
      }
    }
    return -1;
  }

  /** The text before a tag, after the tag's left whitespace control and lstrip_blocks. */
  private String controlLeft(String text, char sign, boolean stripsIndentation) {
    if (sign == '-') {
      return PyStrings.rstrip(text, null);
    }
    if (sign != '+' && stripsIndentation) {
      int lineStart = text.lastIndexOf('\n') + 1;
      if ((lineStart > 0 || lineStarting) && lineStart < text.length() && PyStrings.isAllSpace(text, lineStart)) {
        return text.substring(0, lineStart);
      }
    }
    return text;
  }

  private void data(String text) {
    if (!text.isEmpty()) {
      out.add(new Token(Type.DATA, text, text, line));
      line += count(text, '\n');
    }
  }

  /** The end of {@code {% raw %}} starting at {@code start} (its whitespace control included), or -1. */
  private int rawBegin(int start) {
    int i = start + 2;
    if (i < src.length() && (src.charAt(i) == '-' || src.charAt(i) == '+')) {
      i++;
    }
    i = skipSpace(i);
    if (!src.startsWith("raw", i)) {
      return -1;
    }
    i = skipSpace(i + 3);
    if (src.startsWith("-%}", i)) {
      return skipSpace(i + 3);
    }
    return src.startsWith("%}", i) ? i + 2 : -1;
  }

  /** The body of a raw block, verbatim up to {@code {% endraw %}}. */
  private void raw() {
    for (int i = src.indexOf("{%", pos); i >= 0; i = src.indexOf("{%", i + 1)) {
      int j = i + 2;
      char sign = j < src.length() && (src.charAt(j) == '-' || src.charAt(j) == '+') ? src.charAt(j) : 0;
      j = skipSpace(j + (sign != 0 ? 1 : 0));
      if (!src.startsWith("endraw", j)) {
        continue;
      }
      int end = blockEnd(skipSpace(j + 6));
      if (end >= 0) {
        data(controlLeft(src.substring(pos, i), sign, true));
        advanceTo(end);
        return;
      }
    }
    throw JinjaException.syntax("Missing end of raw directive", line);
  }

  private void comment() {
    for (int i = pos; i < src.length(); i++) {
      int end = -1;
      if (src.startsWith("+#}", i)) {
        end = i + 3;
      } else if (src.startsWith("-#}", i)) {
        end = skipSpace(i + 3);
      } else if (src.startsWith("#}", i)) {
        end = i + 2 < src.length() && src.charAt(i + 2) == '\n' ? i + 3 : i + 2;
      }
      if (end >= 0) {
        advanceTo(end);
        return;
      }
    }
    throw JinjaException.syntax("Missing end of comment tag", line);
  }

  /** Where a block tag's end starting at {@code i} ends ({@code +%}}, {@code -%}} and whitespace, {@code %}\n?}), or -1. */
  private int blockEnd(int i) {
    if (src.startsWith("+%}", i)) {
      return i + 3;
    }
    if (src.startsWith("-%}", i)) {
      return skipSpace(i + 3);
    }
    if (src.startsWith("%}", i)) {
      return i + 2 < src.length() && src.charAt(i + 2) == '\n' ? i + 3 : i + 2; // trim_blocks
    }
    return -1;
  }

  private int variableEnd(int i) {
    if (src.startsWith("-}}", i)) {
      return skipSpace(i + 3);
    }
    return src.startsWith("}}", i) ? i + 2 : -1;
  }

  /** The tokens of one {@code {% %}} or {@code {{ }}} up to and including its end. */
  private void tag(Type begin) {
    out.add(new Token(begin, begin == Type.BLOCK_BEGIN ? "{%" : "{{", null, line));
    boolean block = begin == Type.BLOCK_BEGIN;
    while (pos < src.length()) {
      int end = !balance.isEmpty() ? -1 : block ? blockEnd(pos) : variableEnd(pos);
      if (end >= 0) {
        out.add(new Token(block ? Type.BLOCK_END : Type.VARIABLE_END, block ? "%}" : "}}", null, line));
        advanceTo(end);
        return;
      }
      int c = src.codePointAt(pos);
      if (PyStrings.isSpace(c)) {
        advanceTo(skipSpace(pos));
      } else if (!number() && !name() && !string() && !operator()) {
        throw JinjaException.syntax("unexpected char " + Py.repr(Character.toString(c)) + " at " + pos, line);
      }
    }
    // the template ended inside a tag: the parser reports what it was looking for
  }

  private boolean number() {
    if (pos > 0 && src.charAt(pos - 1) == '.') {
      return integer(); // Jinja2's float rule has (?<!\.): "x.1.5" is x[1][5]
    }
    int end = floatEnd(pos);
    if (end < 0) {
      return integer();
    }
    String text = src.substring(pos, end);
    out.add(new Token(Type.FLOAT, text, Double.parseDouble(text.replace("_", "")), line));
    pos = end;
    return true;
  }

  /** The end of a float literal at {@code i} (digits, then a fraction and/or an exponent), or -1. */
  private int floatEnd(int i) {
    int j = digits(i);
    if (j < 0) {
      return -1;
    }
    int fraction = j < src.length() && src.charAt(j) == '.' ? digits(j + 1) : -1;
    int afterFraction = fraction >= 0 ? fraction : j;
    if (afterFraction < src.length() && (src.charAt(afterFraction) == 'e' || src.charAt(afterFraction) == 'E')) {
      int k = afterFraction + 1;
      if (k < src.length() && (src.charAt(k) == '+' || src.charAt(k) == '-')) {
        k++;
      }
      int exponent = digits(k);
      if (exponent >= 0) {
        return exponent;
      }
    }
    return fraction;
  }

  /** {@code (\d+_)*\d+} at {@code i}: the end, or -1. */
  private int digits(int i) {
    int j = i;
    while (true) {
      int start = j;
      while (j < src.length() && isAsciiDigit(src.charAt(j))) {
        j++;
      }
      if (j == start) {
        return start == i ? -1 : start - 1; // nothing after a '_': the underscore is not part of the number
      }
      if (j + 1 < src.length() && src.charAt(j) == '_' && isAsciiDigit(src.charAt(j + 1))) {
        j++;
      } else {
        return j;
      }
    }
  }

  private boolean integer() {
    int end = integerEnd(pos);
    if (end < 0) {
      return false;
    }
    String text = src.substring(pos, end);
    String clean = text.replace("_", "").toLowerCase(java.util.Locale.ROOT);
    int radix = clean.startsWith("0x") ? 16 : clean.startsWith("0o") ? 8 : clean.startsWith("0b") ? 2 : 10;
    BigInteger value = new BigInteger(radix == 10 ? clean : clean.substring(2), radix);
    out.add(new Token(Type.INTEGER, text, Py.normalize(value), line));
    pos = end;
    return true;
  }

  /** Jinja2's integer rule: 0b/0o/0x with optional '_' before each digit, [1-9](_?\d)*, or 0(_?0)*. */
  private int integerEnd(int i) {
    if (i >= src.length() || !isAsciiDigit(src.charAt(i))) {
      return -1;
    }
    if (src.charAt(i) == '0' && i + 1 < src.length()) {
      char base = Character.toLowerCase(src.charAt(i + 1));
      String allowed = base == 'b' ? "01" : base == 'o' ? "01234567" : base == 'x' ? "0123456789abcdef" : null;
      if (allowed != null) {
        int end = radixDigits(i + 2, allowed);
        if (end > i + 2) {
          return end;
        }
      }
    }
    String allowed = src.charAt(i) == '0' ? "0" : "0123456789";
    return radixDigits(i + 1, allowed);
  }

  private int radixDigits(int i, String allowed) {
    int j = i;
    while (j < src.length()) {
      int k = src.charAt(j) == '_' ? j + 1 : j;
      if (k < src.length() && allowed.indexOf(Character.toLowerCase(src.charAt(k))) >= 0) {
        j = k + 1;
      } else {
        break;
      }
    }
    return j;
  }

  private boolean name() {
    int c = src.codePointAt(pos);
    if (c != '_' && !Character.isUnicodeIdentifierStart(c)) {
      return false;
    }
    int j = pos + Character.charCount(c);
    while (j < src.length()) {
      int d = src.codePointAt(j);
      if (!Character.isUnicodeIdentifierPart(d) || Character.isIdentifierIgnorable(d)) {
        break;
      }
      j += Character.charCount(d);
    }
    String text = src.substring(pos, j);
    out.add(new Token(Type.NAME, text, null, line));
    pos = j;
    return true;
  }

  private boolean string() {
    char quote = src.charAt(pos);
    if (quote != '\'' && quote != '"') {
      return false;
    }
    int j = pos + 1;
    while (j < src.length() && src.charAt(j) != quote) {
      j += src.charAt(j) == '\\' ? 2 : 1;
    }
    if (j >= src.length()) {
      return false; // unterminated: Jinja2 then reports the quote as an unexpected char
    }
    String body = src.substring(pos + 1, j);
    String value = PyEscapes.decode(body, line);
    out.add(new Token(Type.STRING, value, value, line));
    advanceTo(j + 1);
    return true;
  }

  private boolean operator() {
    for (String op : OPERATORS) {
      if (src.startsWith(op, pos)) {
        balanceBrackets(op);
        out.add(new Token(Type.OPERATOR, op, null, line));
        pos += op.length();
        return true;
      }
    }
    return false;
  }

  private void balanceBrackets(String op) {
    switch (op) {
      case "{" -> balance.push('}');
      case "(" -> balance.push(')');
      case "[" -> balance.push(']');
      case "}", ")", "]" -> {
        if (balance.isEmpty()) {
          throw JinjaException.syntax("unexpected '" + op + "'", line);
        }
        char expected = balance.pop();
        if (expected != op.charAt(0)) {
          throw JinjaException.syntax("unexpected '" + op + "', expected '" + expected + "'", line);
        }
      }
      default -> { }
    }
  }

  private int skipSpace(int i) {
    while (i < src.length()) {
      int c = src.codePointAt(i);
      if (!PyStrings.isSpace(c)) {
        break;
      }
      i += Character.charCount(c);
    }
    return i;
  }

  /** Moves to {@code end}, counting lines, and remembers whether the match ended a line. */
  private void advanceTo(int end) {
    line += count(src.substring(pos, end), '\n');
    lineStarting = end > pos && src.charAt(end - 1) == '\n';
    pos = end;
  }

  private static boolean isAsciiDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static int count(String s, char c) {
    int n = 0;
    for (int i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) {
      n++;
    }
    return n;
  }
}
