package dev.candor.engine.tokenizer.jinja;

/**
 * A string literal's body decoded as Jinja2 decodes it: {@code body.encode("ascii", "backslashreplace")
 * .decode("unicode-escape")}. So {@code \n}, {@code \t}, {@code \xhh}, {@code \\u…}, octal and {@code \N{NAME}}
 * escapes work, an unknown escape such as {@code \d} stays as written, and (a quirk kept on purpose) a backslash
 * before a non-ASCII character yields the backslash and that character's escape text.
 */
final class PyEscapes {
  private PyEscapes() {}

  static String decode(String body, int line) {
    if (body.indexOf('\\') < 0) {
      return body;
    }
    String ascii = backslashReplace(body);
    StringBuilder out = new StringBuilder(ascii.length());
    for (int i = 0; i < ascii.length(); i++) {
      char c = ascii.charAt(i);
      if (c != '\\' || i + 1 >= ascii.length()) {
        out.append(c);
        continue;
      }
      i = escape(ascii, i + 1, out, line);
    }
    return out.toString();
  }

  /** Non-ASCII characters as \xhh, \\uhhhh or \Uhhhhhhhh, as Python's backslashreplace writes them. */
  private static String backslashReplace(String s) {
    StringBuilder out = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      if (cp < 0x80) {
        out.append((char) cp);
      } else if (cp < 0x100) {
        out.append(String.format("\\x%02x", cp));
      } else if (cp < 0x10000) {
        out.append(String.format("\\u%04x", cp));
      } else {
        out.append(String.format("\\U%08x", cp));
      }
    }
    return out.toString();
  }

  /** Decodes the escape whose letter is at {@code i}; returns the index of its last character. */
  private static int escape(String s, int i, StringBuilder out, int line) {
    char e = s.charAt(i);
    switch (e) {
      case '\n' -> { } // a backslash-newline is a line continuation
      case '\\', '\'', '"' -> out.append(e);
      case 'a' -> out.append('\u0007');
      case 'b' -> out.append('\b');
      case 'f' -> out.append('\f');
      case 'n' -> out.append('\n');
      case 'r' -> out.append('\r');
      case 't' -> out.append('\t');
      case 'v' -> out.append('\u000b');
      case 'x' -> {
        return hex(s, i, 2, out, line);
      }
      case 'u' -> {
        return hex(s, i, 4, out, line);
      }
      case 'U' -> {
        return hex(s, i, 8, out, line);
      }
      case 'N' -> {
        return named(s, i, out, line);
      }
      default -> {
        if (e >= '0' && e <= '7') {
          return octal(s, i, out);
        }
        out.append('\\').append(e);
      }
    }
    return i;
  }

  private static int hex(String s, int i, int digits, StringBuilder out, int line) {
    int cp = 0;
    for (int k = 1; k <= digits; k++) {
      int d = i + k < s.length() ? Character.digit(s.charAt(i + k), 16) : -1;
      if (d < 0) {
        throw truncated(s.charAt(i), digits, line);
      }
      cp = cp * 16 + d;
    }
    if (cp > Character.MAX_CODE_POINT || cp < 0) {
      throw JinjaException.syntax("(unicode error) 'unicodeescape' codec can't decode bytes: illegal Unicode character",
          line);
    }
    out.appendCodePoint(cp);
    return i + digits;
  }

  private static JinjaException truncated(char letter, int digits, int line) {
    return JinjaException.syntax("(unicode error) 'unicodeescape' codec can't decode bytes: truncated \\" + letter
        + "X".repeat(digits) + " escape", line);
  }

  private static int octal(String s, int i, StringBuilder out) {
    int value = 0;
    int k = i;
    while (k < s.length() && k < i + 3 && s.charAt(k) >= '0' && s.charAt(k) <= '7') {
      value = value * 8 + (s.charAt(k) - '0');
      k++;
    }
    out.appendCodePoint(value);
    return k - 1;
  }

  private static int named(String s, int i, StringBuilder out, int line) {
    int close = s.indexOf('}', i);
    if (i + 1 >= s.length() || s.charAt(i + 1) != '{' || close < 0) {
      throw JinjaException.syntax("(unicode error) 'unicodeescape' codec can't decode bytes: malformed \\N character"
          + " escape", line);
    }
    try {
      out.appendCodePoint(Character.codePointOf(s.substring(i + 2, close)));
    } catch (IllegalArgumentException unknown) {
      throw JinjaException.syntax("(unicode error) 'unicodeescape' codec can't decode bytes: unknown Unicode"
          + " character name", line);
    }
    return close;
  }
}
