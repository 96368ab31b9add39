package dev.candor.engine.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.regex.Pattern;

/** Python's int(str, base) and float(str) parsing, and int(float) truncation, for the int and float filters. */
final class PyNumbers {
  private static final String DIGITS = "\\d(?:_?\\d)*";
  private static final Pattern FLOAT = Pattern.compile("[+-]?(?:(?:" + DIGITS + "(?:\\.(?:" + DIGITS + ")?)?|\\."
      + DIGITS + ")(?:[eE][+-]?" + DIGITS + ")?|inf|infinity|nan)", Pattern.CASE_INSENSITIVE);

  private PyNumbers() {}

  /** int(s, base), or null where Python raises ValueError. */
  static Object parseInt(String text, long base) {
    String s = PyStrings.strip(text, null);
    if (base != 0 && (base < 2 || base > 36)) {
      return null;
    }
    boolean negative = s.startsWith("-");
    if (negative || s.startsWith("+")) {
      s = s.substring(1);
    }
    int radix = (int) base;
    String lower = s.toLowerCase(java.util.Locale.ROOT);
    String prefix = lower.length() > 1 && lower.charAt(0) == '0' ? lower.substring(0, 2) : "";
    int prefixRadix = switch (prefix) {
      case "0x" -> 16;
      case "0o" -> 8;
      case "0b" -> 2;
      default -> 0;
    };
    if (prefixRadix != 0 && (base == 0 || base == prefixRadix)) {
      radix = prefixRadix;
      s = s.substring(2);
      if (s.startsWith("_")) {
        s = s.substring(1);
      }
    } else if (base == 0) {
      radix = 10;
      if (s.length() > 1 && s.replace("_", "").chars().allMatch(c -> c == '0')) {
        s = "0";
      } else if (s.startsWith("0") && s.length() > 1) {
        return null; // Python refuses leading zeros with base 0
      }
    }
    if (s.isEmpty() || s.startsWith("_") || s.endsWith("_") || s.contains("__")) {
      return null;
    }
    try {
      BigInteger v = new BigInteger(s.replace("_", ""), radix);
      return Py.normalize(negative ? v.negate() : v);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** float(s), or null where Python raises ValueError. */
  static Double parseFloat(String text) {
    String s = PyStrings.strip(text, null);
    if (!FLOAT.matcher(s).matches()) {
      return null;
    }
    String lower = s.toLowerCase(java.util.Locale.ROOT);
    if (lower.endsWith("inf") || lower.endsWith("infinity")) {
      return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (lower.endsWith("nan")) {
      return Double.NaN;
    }
    return Double.parseDouble(s.replace("_", ""));
  }

  /** int(d): toward zero; an infinity is an OverflowError, as in Python. */
  static Object truncate(double d) {
    if (Double.isInfinite(d)) {
      throw JinjaException.value("cannot convert float infinity to integer");
    }
    return Py.normalize(new BigDecimal(d).toBigInteger());
  }
}
