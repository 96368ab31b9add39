package dev.candor.engine.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;

/**
 * Python's two string formatting languages, as far as templates use them: printf-style {@code fmt % args} (and the
 * {@code format} filter) with flags, width, precision and the conversions s r a d i u o x X e E f F g G c %; and
 * {@code str.format} with automatic, numbered and named fields, {@code !r}/{@code !s}, and a format spec of fill,
 * align, sign, width, precision and type. Floats round half to even on their exact binary value, as C's printf does.
 */
final class PyFormat {
  private PyFormat() {}

  // ---- printf style ----

  /** {@code format % values}: a tuple gives the arguments, a dict named arguments, anything else one argument. */
  static String percent(String format, Object values) {
    List<?> args = values instanceof PyTuple t ? t : List.of(values == null ? NONE : values);
    Map<?, ?> named = values instanceof Map<?, ?> m ? m : null;
    StringBuilder out = new StringBuilder();
    int next = 0;
    int i = 0;
    while (i < format.length()) {
      char c = format.charAt(i++);
      if (c != '%') {
        out.append(c);
        continue;
      }
      Spec spec = new Spec();
      i = spec.parse(format, i, named != null);
      if (spec.type == '%') {
        out.append('%');
        continue;
      }
      Object arg;
      if (spec.key != null) {
        arg = Dicts.get(named, spec.key, Dicts.MISSING);
        if (arg == Dicts.MISSING) {
          throw JinjaException.value("format key " + Py.repr(spec.key) + " is not in the mapping");
        }
      } else {
        if (spec.starWidth) {
          spec.width = (int) intArg(args, next++);
        }
        if (spec.starPrecision) {
          spec.precision = (int) intArg(args, next++);
        }
        if (next >= args.size()) {
          throw JinjaException.type("not enough arguments for format string");
        }
        arg = args.get(next++);
      }
      out.append(spec.apply(arg == NONE ? null : arg));
      Py.checkLength(out.length());
    }
    if (named == null && next < args.size()) {
      throw JinjaException.type("not all arguments converted during string formatting");
    }
    return out.toString();
  }

  private static final Object NONE = new Object(); // List.of() takes no nulls

  private static long intArg(List<?> args, int i) {
    if (i >= args.size() || !Py.isInt(args.get(i))) {
      throw JinjaException.type("* wants int");
    }
    return Py.big(args.get(i)).longValue();
  }

  /** One printf conversion: %[(key)][flags][width][.precision][length]type. */
  private static final class Spec {
    String key;
    boolean left;
    boolean plus;
    boolean space;
    boolean zero;
    boolean alternate;
    int width = -1;
    int precision = -1;
    boolean starWidth;
    boolean starPrecision;
    char type;

    int parse(String f, int i, boolean mapping) {
      if (i < f.length() && f.charAt(i) == '(' && mapping) {
        int close = f.indexOf(')', i);
        if (close < 0) {
          throw JinjaException.value("incomplete format key");
        }
        key = f.substring(i + 1, close);
        i = close + 1;
      }
      for (; i < f.length() && "-+ 0#".indexOf(f.charAt(i)) >= 0; i++) {
        switch (f.charAt(i)) {
          case '-' -> left = true;
          case '+' -> plus = true;
          case ' ' -> space = true;
          case '0' -> zero = true;
          default -> alternate = true;
        }
      }
      if (i < f.length() && f.charAt(i) == '*') {
        starWidth = true;
        i++;
      } else {
        int start = i;
        while (i < f.length() && Character.isDigit(f.charAt(i))) {
          i++;
        }
        width = start == i ? -1 : number(f.substring(start, i));
      }
      if (i < f.length() && f.charAt(i) == '.') {
        i++;
        if (i < f.length() && f.charAt(i) == '*') {
          starPrecision = true;
          i++;
        } else {
          int start = i;
          while (i < f.length() && Character.isDigit(f.charAt(i))) {
            i++;
          }
          precision = start == i ? 0 : number(f.substring(start, i));
        }
      }
      while (i < f.length() && "hlL".indexOf(f.charAt(i)) >= 0) {
        i++;
      }
      if (i >= f.length()) {
        throw JinjaException.value("incomplete format");
      }
      type = f.charAt(i);
      if ("sradiuoxXeEfFgGc%".indexOf(type) < 0) {
        throw JinjaException.value("unsupported format character " + Py.repr(String.valueOf(type)) + " (0x"
            + Integer.toHexString(type) + ") at index " + i);
      }
      return i + 1;
    }

    private static int number(String digits) {
      if (digits.length() > 7) {
        throw JinjaException.value("width too big");
      }
      return Integer.parseInt(digits);
    }

    String apply(Object arg) {
      String body = switch (type) {
        case 's' -> truncate(Py.str(arg));
        case 'r', 'a' -> truncate(Py.repr(arg));
        case 'c' -> character(arg);
        case 'd', 'i', 'u' -> signed(integer(arg).toString());
        case 'o' -> signed((alternate ? "0o" : "") + integer(arg).abs().toString(8), integer(arg).signum());
        case 'x', 'X' -> {
          String hex = (alternate ? "0x" : "") + integer(arg).abs().toString(16);
          yield signed(type == 'X' ? hex.toUpperCase(java.util.Locale.ROOT) : hex, integer(arg).signum());
        }
        default -> floating(real(arg));
      };
      return padded(body, Py.isNumber(arg) && type != 's' && type != 'r' && type != 'a' && type != 'c');
    }

    private String truncate(String s) {
      return precision >= 0 && precision < Py.len(s) ? PyStrings.fromCodePoints(PyStrings.codePoints(s), 0, precision)
          : s;
    }

    private String character(Object arg) {
      if (arg instanceof String s && Py.len(s) == 1) {
        return s;
      }
      if (Py.isInt(arg)) {
        BigInteger cp = Py.big(arg);
        if (cp.signum() < 0 || cp.compareTo(BigInteger.valueOf(Character.MAX_CODE_POINT)) > 0) {
          throw new JinjaException(JinjaException.Kind.VALUE, "%c arg not in range(0x110000)");
        }
        return Character.toString(cp.intValue());
      }
      throw JinjaException.type("%c requires int or char");
    }

    private BigInteger integer(Object arg) {
      if (Py.isInt(arg)) {
        return Py.big(arg);
      }
      if (arg instanceof Double d) {
        if (d.isNaN() || d.isInfinite()) {
          throw JinjaException.value("cannot convert float " + Py.floatRepr(d) + " to integer");
        }
        return new BigDecimal(d).toBigInteger();
      }
      throw JinjaException.type("%" + type + " format: " + (type == 'x' || type == 'X' || type == 'o' ? "an integer"
          : "a real number") + " is required, not " + Py.typeName(arg));
    }

    private double real(Object arg) {
      if (!Py.isNumber(arg)) {
        throw JinjaException.type("must be real number, not " + Py.typeName(arg));
      }
      return Py.toDouble(arg);
    }

    private String signed(String digits) {
      boolean negative = digits.startsWith("-");
      return signed(negative ? digits.substring(1) : digits, negative ? -1 : 1);
    }

    private String signed(String magnitude, int signum) {
      String sign = signum < 0 ? "-" : plus ? "+" : space ? " " : "";
      return sign + magnitude;
    }

    private String floating(double d) {
      String sign = d < 0 || (d == 0 && 1 / d < 0) ? "-" : plus ? "+" : space ? " " : "";
      double a = Math.abs(d);
      String magnitude = Double.isNaN(d) ? "nan" : Double.isInfinite(d) ? "inf"
          : formatFloat(a, Character.toLowerCase(type), precision < 0 ? 6 : precision, alternate);
      if (Character.isUpperCase(type)) {
        magnitude = magnitude.toUpperCase(java.util.Locale.ROOT);
      }
      return sign + magnitude;
    }

    private String padded(String body, boolean numeric) {
      int length = (int) Py.len(body);
      if (width <= length) {
        return body;
      }
      Py.checkLength(width);
      String fill = " ".repeat(width - length);
      if (left) {
        return body + fill;
      }
      if (zero && numeric) {
        int signEnd = !body.isEmpty() && "+- ".indexOf(body.charAt(0)) >= 0 ? 1 : 0;
        if (body.startsWith("0x", signEnd) || body.startsWith("0X", signEnd) || body.startsWith("0o", signEnd)) {
          signEnd += 2;
        }
        return body.substring(0, signEnd) + "0".repeat(width - length) + body.substring(signEnd);
      }
      return fill + body;
    }
  }

  /** A non-negative finite double in C's %f, %e or %g, rounded half to even on its exact value. */
  static String formatFloat(double a, char type, int precision, boolean alternate) {
    BigDecimal exact = new BigDecimal(a);
    switch (type) {
      case 'f' -> {
        String s = exact.setScale(precision, RoundingMode.HALF_EVEN).toPlainString();
        return alternate && precision == 0 ? s + "." : s;
      }
      case 'e' -> {
        return exponential(exact, precision, alternate);
      }
      default -> {
        int p = precision == 0 ? 1 : precision;
        if (a == 0) {
          return alternate ? "0." + "0".repeat(p - 1) : "0";
        }
        BigDecimal rounded = exact.round(new java.math.MathContext(p, RoundingMode.HALF_EVEN));
        int x = rounded.precision() - rounded.scale() - 1;
        String s = x < -4 || x >= p ? exponential(exact, p - 1, alternate)
            : exact.setScale(Math.max(0, p - 1 - x), RoundingMode.HALF_EVEN).toPlainString();
        return alternate ? s : stripZeros(s);
      }
    }
  }

  private static String exponential(BigDecimal exact, int precision, boolean alternate) {
    if (exact.signum() == 0) {
      return "0" + (precision > 0 ? "." + "0".repeat(precision) : alternate ? "." : "") + "e+00";
    }
    BigDecimal rounded = exact.round(new java.math.MathContext(precision + 1, RoundingMode.HALF_EVEN));
    String digits = rounded.unscaledValue().toString();
    digits = (digits + "0".repeat(precision + 1)).substring(0, precision + 1);
    int exponent = rounded.precision() - rounded.scale() - 1;
    String mantissa = digits.charAt(0) + (precision > 0 ? "." + digits.substring(1) : alternate ? "." : "");
    return mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
  }

  /** %g without '#': no trailing zeros in the fraction, no bare point. */
  private static String stripZeros(String s) {
    int e = s.indexOf('e');
    String mantissa = e < 0 ? s : s.substring(0, e);
    String exponent = e < 0 ? "" : s.substring(e);
    if (mantissa.indexOf('.') >= 0) {
      mantissa = mantissa.replaceAll("0+$", "");
      if (mantissa.endsWith(".")) {
        mantissa = mantissa.substring(0, mantissa.length() - 1);
      }
    }
    return mantissa + exponent;
  }

  // ---- str.format ----

  /** {@code template.format(*args, **kwargs)}. */
  static String format(String template, List<Object> args, Map<String, Object> kwargs) {
    StringBuilder out = new StringBuilder();
    int auto = 0;
    for (int i = 0; i < template.length(); i++) {
      char c = template.charAt(i);
      if (c == '}' ) {
        if (i + 1 < template.length() && template.charAt(i + 1) == '}') {
          out.append('}');
          i++;
          continue;
        }
        throw JinjaException.value("Single '}' encountered in format string");
      }
      if (c != '{') {
        out.append(c);
        continue;
      }
      if (i + 1 < template.length() && template.charAt(i + 1) == '{') {
        out.append('{');
        i++;
        continue;
      }
      int close = template.indexOf('}', i);
      if (close < 0) {
        throw JinjaException.value("Single '{' encountered in format string");
      }
      String field = template.substring(i + 1, close);
      int colon = field.indexOf(':');
      String spec = colon < 0 ? "" : field.substring(colon + 1);
      String name = colon < 0 ? field : field.substring(0, colon);
      char conversion = 0;
      int bang = name.indexOf('!');
      if (bang >= 0) {
        conversion = bang + 1 < name.length() ? name.charAt(bang + 1) : '?';
        name = name.substring(0, bang);
      }
      Object value;
      if (name.isEmpty()) {
        value = positional(args, auto++);
      } else if (name.chars().allMatch(Character::isDigit)) {
        value = positional(args, Integer.parseInt(name));
      } else if (kwargs.containsKey(name)) {
        value = kwargs.get(name);
      } else {
        throw new JinjaException(JinjaException.Kind.VALUE, "KeyError: " + Py.repr(name));
      }
      if (conversion == 'r' || conversion == 'a') {
        value = Py.repr(value);
      } else if (conversion == 's') {
        value = Py.str(value);
      } else if (conversion != 0) {
        throw JinjaException.value("Unknown conversion specifier " + conversion);
      }
      out.append(formatSpec(value, spec));
      Py.checkLength(out.length());
      i = close;
    }
    return out.toString();
  }

  private static Object positional(List<Object> args, int index) {
    if (index >= args.size()) {
      throw new JinjaException(JinjaException.Kind.VALUE,
          "Replacement index " + index + " out of range for positional args tuple");
    }
    return args.get(index);
  }

  /** A value under a format spec: [[fill]align][sign][0][width][.precision][type]. */
  static String formatSpec(Object value, String spec) {
    if (spec.isEmpty()) {
      return Py.str(value);
    }
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("(?:(.)?([<>^=]))?([+\\- ])?(0)?(\\d+)?(?:\\.(\\d+))?([sdfFeEgGxXo%])?").matcher(spec);
    if (!m.matches()) {
      throw JinjaException.value("Invalid format specifier " + Py.repr(spec));
    }
    char type = m.group(7) == null ? (value instanceof String ? 's' : Py.isInt(value) ? 'd' : 'g') : m.group(7).charAt(0);
    String body;
    if (type == 's') {
      if (!(value instanceof String s)) {
        throw JinjaException.value("Unknown format code 's' for object of type '" + Py.typeName(value) + "'");
      }
      body = m.group(6) == null ? s : PyStrings.fromCodePoints(PyStrings.codePoints(s), 0,
          (int) Math.min(Py.len(s), Long.parseLong(m.group(6))));
    } else {
      String printf = "%" + (m.group(3) == null ? "" : m.group(3)) + (m.group(6) == null ? "" : "." + m.group(6))
          + (type == '%' ? "f" : String.valueOf(type));
      Object arg = type == '%' ? (Object) (Py.toDouble(value) * 100) : value;
      if (m.group(7) == null && value instanceof Double) {
        printf = m.group(6) == null ? "%r" : printf; // no type: str() of the float unless a precision is given
      }
      body = percent(printf, PyTuple.of(arg)) + (type == '%' ? "%" : "");
    }
    int width = m.group(5) == null ? 0 : Integer.parseInt(m.group(5));
    char align = m.group(2) == null ? (value instanceof String ? '<' : '>') : m.group(2).charAt(0);
    String fill = m.group(1) != null ? m.group(1) : m.group(4) != null ? "0" : " ";
    return align == '^' ? PyStrings.pad(body, width, fill, 'c') : align == '<' ? PyStrings.pad(body, width, fill, 'l')
        : PyStrings.pad(body, width, fill, 'r');
  }
}
