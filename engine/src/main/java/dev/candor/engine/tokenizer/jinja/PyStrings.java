package dev.candor.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Python's {@code str} operations as CPython defines them: its whitespace ({@code str.isspace}, also the regex
 * {@code \s} Jinja2's lexer uses), its line boundaries ({@code splitlines}), split and strip rules, and indices
 * counted in code points. A Java string is UTF-16, so a character outside the BMP is one index here, as in Python.
 */
final class PyStrings {
  private PyStrings() {}

  // ---- character classes ----

  /** Python's str.isspace for one character. */
  static boolean isSpace(int c) {
    if (c < 128) {
      return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
    }
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029
        || c == 0x202f || c == 0x205f || c == 0x3000;
  }

  /** Whether {@code s} from {@code from} on is all Python whitespace. */
  static boolean isAllSpace(String s, int from) {
    for (int i = from; i < s.length(); ) {
      int c = s.codePointAt(i);
      if (!isSpace(c)) {
        return false;
      }
      i += Character.charCount(c);
    }
    return true;
  }

  static boolean isLineBreak(int c) {
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85
        || c == 0x2028 || c == 0x2029;
  }

  /** Python's str.isprintable for one character (what repr() leaves unescaped). */
  static boolean isPrintable(int c) {
    if (c == ' ') {
      return true;
    }
    if (c < 0x7f) {
      return c > 0x20;
    }
    return switch (Character.getType(c)) {
      case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
           Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> false;
      default -> true;
    };
  }

  static boolean isCased(int c) {
    return Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
  }

  // ---- code points ----

  static int[] codePoints(String s) {
    return s.codePoints().toArray();
  }

  static String fromCodePoints(int[] cps, int from, int to) {
    return from >= to ? "" : new String(cps, from, to - from);
  }

  /** The characters of {@code s}, one string per code point (what iterating a Python str gives). */
  static List<Object> characters(String s) {
    List<Object> out = new ArrayList<>(s.length());
    for (int i = 0; i < s.length(); ) {
      int c = s.codePointAt(i);
      out.add(Character.toString(c));
      i += Character.charCount(c);
    }
    return out;
  }

  /** Python's ordering of strings: by code point. */
  static int compare(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int x = a.codePointAt(i);
      int y = b.codePointAt(j);
      if (x != y) {
        return Integer.compare(x, y);
      }
      i += Character.charCount(x);
      j += Character.charCount(y);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /** Python's clamping of slice bounds {@code [start:end]} to a length; null means "from the start / to the end". */
  static int[] bounds(Long start, Long end, int length) {
    long s = start == null ? 0 : start < 0 ? Math.max(0, start + length) : Math.min(start, length);
    long e = end == null ? length : end < 0 ? Math.max(0, end + length) : Math.min(end, length);
    return new int[] {(int) s, (int) e};
  }

  // ---- repr ----

  static void repr(String s, StringBuilder out) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    out.append(quote);
    for (int i = 0; i < s.length(); ) {
      int c = s.codePointAt(i);
      i += Character.charCount(c);
      if (c == quote || c == '\\') {
        out.append('\\').appendCodePoint(c);
      } else if (c == '\t') {
        out.append("\\t");
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (isPrintable(c)) {
        out.appendCodePoint(c);
      } else if (c < 0x100) {
        out.append(String.format("\\x%02x", c));
      } else if (c < 0x10000) {
        out.append(String.format("\\u%04x", c));
      } else {
        out.append(String.format("\\U%08x", c));
      }
    }
    out.append(quote);
  }

  // ---- strip, split, lines ----

  static String strip(String s, String chars) {
    return lstrip(rstrip(s, chars), chars);
  }

  static String lstrip(String s, String chars) {
    int i = 0;
    while (i < s.length()) {
      int c = s.codePointAt(i);
      if (!stripped(c, chars)) {
        break;
      }
      i += Character.charCount(c);
    }
    return s.substring(i);
  }

  static String rstrip(String s, String chars) {
    int i = s.length();
    while (i > 0) {
      int c = s.codePointBefore(i);
      if (!stripped(c, chars)) {
        break;
      }
      i -= Character.charCount(c);
    }
    return s.substring(0, i);
  }

  private static boolean stripped(int c, String chars) {
    return chars == null ? isSpace(c) : chars.indexOf(Character.toString(c)) >= 0;
  }

  /** str.split(sep, maxsplit); {@code sep} null splits on runs of whitespace. */
  static List<Object> split(String s, String sep, long maxsplit) {
    List<Object> out = new ArrayList<>();
    if (maxsplit < 0) {
      maxsplit = Long.MAX_VALUE;
    }
    if (sep == null) {
      return splitWhitespace(s, maxsplit);
    }
    if (sep.isEmpty()) {
      throw JinjaException.value("empty separator");
    }
    int start = 0;
    for (int i = s.indexOf(sep); i >= 0 && out.size() < maxsplit; i = s.indexOf(sep, start)) {
      out.add(s.substring(start, i));
      start = i + sep.length();
    }
    out.add(s.substring(start));
    return out;
  }

  private static List<Object> splitWhitespace(String s, long maxsplit) {
    List<Object> out = new ArrayList<>();
    int i = skipSpace(s, 0);
    while (i < s.length()) {
      if (out.size() >= maxsplit) {
        out.add(s.substring(i));
        return out;
      }
      int j = i;
      while (j < s.length() && !isSpace(s.codePointAt(j))) {
        j += Character.charCount(s.codePointAt(j));
      }
      out.add(s.substring(i, j));
      i = skipSpace(s, j);
    }
    return out;
  }

  private static int skipSpace(String s, int i) {
    while (i < s.length() && isSpace(s.codePointAt(i))) {
      i += Character.charCount(s.codePointAt(i));
    }
    return i;
  }

  /** str.rsplit(sep, maxsplit). */
  static List<Object> rsplit(String s, String sep, long maxsplit) {
    if (maxsplit < 0) {
      return split(s, sep, -1);
    }
    List<Object> out = new ArrayList<>();
    if (sep == null) {
      int end = rstrip(s, null).length();
      while (end > 0) {
        if (out.size() >= maxsplit) {
          out.add(s.substring(0, end));
          break;
        }
        int j = end;
        while (j > 0 && !isSpace(s.codePointBefore(j))) {
          j -= Character.charCount(s.codePointBefore(j));
        }
        out.add(s.substring(j, end));
        end = rstrip(s.substring(0, j), null).length();
      }
    } else {
      if (sep.isEmpty()) {
        throw JinjaException.value("empty separator");
      }
      int end = s.length();
      for (int i = s.lastIndexOf(sep); i >= 0 && out.size() < maxsplit; i = s.lastIndexOf(sep, end - sep.length())) {
        out.add(s.substring(i + sep.length(), end));
        end = i;
        if (end - sep.length() < 0) {
          break;
        }
      }
      out.add(s.substring(0, end));
    }
    java.util.Collections.reverse(out);
    return out;
  }

  /** str.splitlines(keepends): Python's line boundaries, \r\n as one. */
  static List<Object> splitlines(String s, boolean keepends) {
    List<Object> out = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (!isLineBreak(c)) {
        i++;
        continue;
      }
      int end = i;
      i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
      out.add(s.substring(start, keepends ? i : end));
      start = i;
    }
    if (start < s.length()) {
      out.add(s.substring(start));
    }
    return out;
  }

  /** str.replace(old, new, count): with an empty {@code old}, {@code new} goes before every character and at the end. */
  static String replace(String s, String old, String replacement, long count) {
    if (count < 0) {
      count = Long.MAX_VALUE;
    }
    StringBuilder out = new StringBuilder();
    if (old.isEmpty()) {
      long n = 0;
      for (int i = 0; i <= s.length(); ) {
        if (n++ < count) {
          out.append(replacement);
        }
        if (i == s.length()) {
          break;
        }
        int c = s.codePointAt(i);
        out.appendCodePoint(c);
        i += Character.charCount(c);
        Py.checkLength(out.length());
      }
      return out.toString();
    }
    int start = 0;
    long n = 0;
    for (int i = s.indexOf(old); i >= 0 && n < count; i = s.indexOf(old, start), n++) {
      out.append(s, start, i).append(replacement);
      Py.checkLength(out.length());
      start = i + old.length();
    }
    return out.append(s, start, s.length()).toString();
  }

  // ---- case ----

  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  static String upper(String s) {
    return s.toUpperCase(Locale.ROOT);
  }

  /** str.title(): a letter after a cased letter is lowered, any other is title-cased. */
  static String title(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int i = 0; i < s.length(); ) {
      int c = s.codePointAt(i);
      i += Character.charCount(c);
      if (previousCased) {
        out.append(Character.toString(c).toLowerCase(Locale.ROOT));
      } else {
        out.appendCodePoint(Character.toTitleCase(c));
      }
      previousCased = isCased(c);
    }
    return out.toString();
  }

  /** str.capitalize(): the first character title-cased, the rest lowered. */
  static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    return new StringBuilder().appendCodePoint(Character.toTitleCase(first))
        .append(lower(s.substring(Character.charCount(first)))).toString();
  }

  static String swapcase(String s) {
    StringBuilder out = new StringBuilder(s.length());
    s.codePoints().forEach(c -> out.append(Character.isUpperCase(c) ? Character.toString(c).toLowerCase(Locale.ROOT)
        : Character.isLowerCase(c) ? Character.toString(c).toUpperCase(Locale.ROOT) : Character.toString(c)));
    return out.toString();
  }

  static boolean isLower(String s) {
    boolean cased = false;
    for (int c : codePoints(s)) {
      if (Character.isUpperCase(c) || Character.isTitleCase(c)) {
        return false;
      }
      cased |= Character.isLowerCase(c);
    }
    return cased;
  }

  static boolean isUpper(String s) {
    boolean cased = false;
    for (int c : codePoints(s)) {
      if (Character.isLowerCase(c) || Character.isTitleCase(c)) {
        return false;
      }
      cased |= Character.isUpperCase(c);
    }
    return cased;
  }

  static boolean all(String s, java.util.function.IntPredicate p) {
    return !s.isEmpty() && s.codePoints().allMatch(p);
  }

  // ---- padding ----

  static String pad(String s, long width, String fill, char how) {
    int[] fillChar = codePoints(fill);
    if (fillChar.length != 1) {
      throw JinjaException.type("The fill character must be exactly one character long");
    }
    long length = Py.len(s);
    if (width <= length) {
      return s;
    }
    Py.checkLength(width);
    long margin = width - length;
    long left = switch (how) {
      case 'l' -> 0;
      case 'r' -> margin;
      default -> margin / 2 + (margin & width & 1);
    };
    String f = Character.toString(fillChar[0]);
    return f.repeat((int) left) + s + f.repeat((int) (margin - left));
  }

  static String zfill(String s, long width) {
    long length = Py.len(s);
    if (width <= length) {
      return s;
    }
    Py.checkLength(width);
    String zeros = "0".repeat((int) (width - length));
    if (!s.isEmpty() && (s.charAt(0) == '+' || s.charAt(0) == '-')) {
      return s.charAt(0) + zeros + s.substring(1);
    }
    return zeros + s;
  }

  // ---- search ----

  /** str.find / rfind over {@code s[start:end]}, as a code-point index or -1. */
  static long find(String s, String sub, Long start, Long end, boolean fromRight) {
    int[] cps = codePoints(s);
    int[] b = bounds(start, end, cps.length);
    if (start != null && start > cps.length) {
      return -1;
    }
    if (b[0] > b[1]) {
      return -1;
    }
    String window = fromCodePoints(cps, b[0], b[1]);
    int at = fromRight ? window.lastIndexOf(sub) : window.indexOf(sub);
    return at < 0 ? -1 : b[0] + window.codePointCount(0, at);
  }

  /** str.count over {@code s[start:end]}: non-overlapping occurrences. */
  static long count(String s, String sub, Long start, Long end) {
    int[] cps = codePoints(s);
    if (start != null && start > cps.length) {
      return 0;
    }
    int[] b = bounds(start, end, cps.length);
    if (b[0] > b[1]) {
      return 0;
    }
    String window = fromCodePoints(cps, b[0], b[1]);
    if (sub.isEmpty()) {
      return window.codePointCount(0, window.length()) + 1;
    }
    long n = 0;
    for (int i = window.indexOf(sub); i >= 0; i = window.indexOf(sub, i + sub.length())) {
      n++;
    }
    return n;
  }

  /** str.startswith / endswith of one prefix over {@code s[start:end]}. */
  static boolean hasAffix(String s, String affix, Long start, Long end, boolean suffix) {
    int[] cps = codePoints(s);
    if (start != null && start > cps.length) {
      return false;
    }
    int[] b = bounds(start, end, cps.length);
    if (b[0] > b[1]) {
      return false;
    }
    String window = fromCodePoints(cps, b[0], b[1]);
    return suffix ? window.endsWith(affix) : window.startsWith(affix);
  }
}
