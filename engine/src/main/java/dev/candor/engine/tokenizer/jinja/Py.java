package dev.candor.engine.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python's semantics for the values a template sees: None is {@code null}, bool {@link Boolean}, int {@link Long}
 * (or {@link BigInteger} past 64 bits), float {@link Double}, str {@link String}, list {@link List}, tuple
 * {@link PyTuple}, dict {@link Map} (insertion-ordered), and Jinja2's {@link Undefined}, {@link Namespace}, loops,
 * macros and functions. Truth, {@code str()} and {@code repr()}, equality and ordering, arithmetic, {@code len},
 * iteration and {@code in} behave as CPython's do, including the errors (as {@link JinjaException}s of the matching
 * kind). Strings are measured and indexed in code points, as Python's are.
 */
final class Py {
  /** Longest string any operation may make (Python has no limit; a template that wants more is refused). */
  static final int MAX_STRING = 1 << 25;
  /** Largest int any operation may make, in bits (Python would compute 2 ** 10 ** 9; this engine refuses). */
  private static final int MAX_INT_BITS = 1 << 16;
  private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

  private Py() {}

  // ---- types ----

  static Object normalize(BigInteger v) {
    if (v.compareTo(LONG_MIN) >= 0 && v.compareTo(LONG_MAX) <= 0) {
      return v.longValue();
    }
    if (v.bitLength() > MAX_INT_BITS) {
      throw JinjaException.runtime("an integer of more than " + MAX_INT_BITS + " bits is too large for this engine");
    }
    return v;
  }

  static boolean isInt(Object o) {
    return o instanceof Long || o instanceof BigInteger || o instanceof Boolean;
  }

  static boolean isNumber(Object o) {
    return isInt(o) || o instanceof Double;
  }

  static boolean isList(Object o) {
    return o instanceof List<?> && !(o instanceof PyTuple);
  }

  static String typeName(Object o) {
    if (o == null) {
      return "NoneType";
    }
    return switch (o) {
      case Boolean b -> "bool";
      case Long l -> "int";
      case BigInteger b -> "int";
      case Double d -> "float";
      case String s -> "str";
      case PyTuple t -> "tuple";
      case Globals.PyRange r -> "range";
      case List<?> l -> "list";
      case Map<?, ?> m -> "dict";
      case Undefined u -> "Undefined";
      case Namespace n -> "Namespace";
      case LoopContext l -> "LoopContext";
      case Macro m -> "Macro";
      default -> "builtin_function_or_method";
    };
  }

  static BigInteger big(Object o) {
    return switch (o) {
      case Boolean b -> b ? BigInteger.ONE : BigInteger.ZERO;
      case Long l -> BigInteger.valueOf(l);
      case BigInteger b -> b;
      default -> throw new IllegalStateException("not an int: " + typeName(o));
    };
  }

  /** Python's float(x) of an int or float. */
  static double toDouble(Object o) {
    return switch (o) {
      case Double d -> d;
      case Boolean b -> b ? 1.0 : 0.0;
      case Long l -> (double) l;
      case BigInteger b -> {
        double d = b.doubleValue();
        if (Double.isInfinite(d)) {
          throw new JinjaException(JinjaException.Kind.VALUE, "int too large to convert to float");
        }
        yield d;
      }
      default -> throw new IllegalStateException("not a number: " + typeName(o));
    };
  }

  // ---- truth, str, repr ----

  static boolean truthy(Object o) {
    return switch (o) {
      case null -> false;
      case Boolean b -> b;
      case Long l -> l != 0;
      case BigInteger b -> b.signum() != 0;
      case Double d -> d != 0.0;
      case String s -> !s.isEmpty();
      case Collection<?> c -> !c.isEmpty();
      case Map<?, ?> m -> !m.isEmpty();
      case Undefined u -> false;
      default -> true;
    };
  }

  /** Python's str(x), with an undefined value as the empty string. */
  static String str(Object o) {
    return switch (o) {
      case String s -> s;
      case Undefined u -> "";
      case null, default -> repr(o);
    };
  }

  static String repr(Object o) {
    StringBuilder out = new StringBuilder();
    repr(o, out, new IdentityHashMap<>());
    return out.toString();
  }

  private static void repr(Object o, StringBuilder out, IdentityHashMap<Object, Boolean> open) {
    if (out.length() > MAX_STRING) {
      throw JinjaException.runtime("a value's text is longer than " + MAX_STRING + " characters");
    }
    switch (o) {
      case null -> out.append("None");
      case Boolean b -> out.append(b ? "True" : "False");
      case Long l -> out.append(l);
      case BigInteger b -> out.append(b);
      case Double d -> out.append(floatRepr(d));
      case String s -> PyStrings.repr(s, out);
      case Undefined u -> out.append("Undefined");
      case Globals.PyRange r -> out.append(r);
      case List<?> l -> sequenceRepr(l, out, open);
      case Map<?, ?> m -> mapRepr(m, out, open);
      case Namespace n -> {
        out.append("<Namespace ");
        mapRepr(n.attributes, out, open);
        out.append('>');
      }
      default -> out.append(o);
    }
  }

  private static void sequenceRepr(List<?> l, StringBuilder out, IdentityHashMap<Object, Boolean> open) {
    boolean tuple = l instanceof PyTuple;
    if (open.put(l, Boolean.TRUE) != null) {
      out.append(tuple ? "(...)" : "[...]");
      return;
    }
    out.append(tuple ? '(' : '[');
    for (int i = 0; i < l.size(); i++) {
      if (i > 0) {
        out.append(", ");
      }
      repr(l.get(i), out, open);
    }
    out.append(tuple && l.size() == 1 ? ",)" : tuple ? ")" : "]");
    open.remove(l);
  }

  private static void mapRepr(Map<?, ?> m, StringBuilder out, IdentityHashMap<Object, Boolean> open) {
    if (open.put(m, Boolean.TRUE) != null) {
      out.append("{...}");
      return;
    }
    out.append('{');
    boolean first = true;
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (!first) {
        out.append(", ");
      }
      first = false;
      repr(e.getKey(), out, open);
      out.append(": ");
      repr(e.getValue(), out, open);
    }
    out.append('}');
    open.remove(m);
  }

  /** Python's repr(float): the shortest digits that round-trip, fixed notation for 1e-4 <= |x| < 1e16. */
  static String floatRepr(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == 0) {
      return 1 / d < 0 ? "-0.0" : "0.0";
    }
    BigDecimal shortest = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
    String digits = shortest.unscaledValue().toString();
    int point = digits.length() - shortest.scale(); // value = 0.digits * 10^point
    String sign = d < 0 ? "-" : "";
    if (point <= -4 || point > 16) {
      String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      int exponent = point - 1;
      return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
          + Math.abs(exponent);
    }
    if (point <= 0) {
      return sign + "0." + "0".repeat(-point) + digits;
    }
    if (point >= digits.length()) {
      return sign + digits + "0".repeat(point - digits.length()) + ".0";
    }
    return sign + digits.substring(0, point) + "." + digits.substring(point);
  }

  // ---- equality and order ----

  static boolean eq(Object a, Object b) {
    if (a == b) {
      return true;
    }
    if (a instanceof Undefined || b instanceof Undefined) {
      return a instanceof Undefined && b instanceof Undefined;
    }
    if (isNumber(a) && isNumber(b)) {
      return compareNumbers(a, b) == 0;
    }
    if (a instanceof String s && b instanceof String t) {
      return s.equals(t);
    }
    if (a instanceof List<?> l && b instanceof List<?> m && (a instanceof PyTuple) == (b instanceof PyTuple)) {
      if (l.size() != m.size()) {
        return false;
      }
      for (int i = 0; i < l.size(); i++) {
        if (!eq(l.get(i), m.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Map<?, ?> m && b instanceof Map<?, ?> n) {
      if (m.size() != n.size()) {
        return false;
      }
      for (Map.Entry<?, ?> e : m.entrySet()) {
        Object other = Dicts.get(n, e.getKey(), Dicts.MISSING);
        if (other == Dicts.MISSING || !eq(e.getValue(), other)) {
          return false;
        }
      }
      return true;
    }
    return false;
  }

  /** Exact comparison of two Python numbers; 2 when either is NaN (unordered). */
  static int compareNumbers(Object a, Object b) {
    if (a instanceof Double || b instanceof Double) {
      double x = toDoubleLossy(a);
      double y = toDoubleLossy(b);
      if (Double.isNaN(x) || Double.isNaN(y)) {
        return 2;
      }
      if (Double.isInfinite(x) || Double.isInfinite(y) || (a instanceof Double && b instanceof Double)) {
        return Double.compare(x, y) == 0 ? 0 : x < y ? -1 : x > y ? 1 : 0;
      }
      return exact(a).compareTo(exact(b));
    }
    if (a instanceof Long x && b instanceof Long y) {
      return Long.compare(x, y);
    }
    return big(a).compareTo(big(b));
  }

  private static double toDoubleLossy(Object o) {
    return o instanceof BigInteger b ? b.doubleValue() : toDouble(o);
  }

  private static BigDecimal exact(Object o) {
    return o instanceof Double d ? new BigDecimal(d) : new BigDecimal(big(o));
  }

  /** Python's ordering for {@code <} and friends: numbers, strings by code point, lists and tuples in order. */
  static int compare(Object a, Object b, String op) {
    if (a instanceof Undefined u) {
      throw u.error();
    }
    if (b instanceof Undefined u) {
      throw u.error();
    }
    if (isNumber(a) && isNumber(b)) {
      return compareNumbers(a, b);
    }
    if (a instanceof String s && b instanceof String t) {
      return PyStrings.compare(s, t);
    }
    if (a instanceof List<?> l && b instanceof List<?> m && (a instanceof PyTuple) == (b instanceof PyTuple)) {
      int n = Math.min(l.size(), m.size());
      for (int i = 0; i < n; i++) {
        if (!eq(l.get(i), m.get(i))) {
          return compare(l.get(i), m.get(i), op);
        }
      }
      return Integer.compare(l.size(), m.size());
    }
    throw JinjaException.type("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
        + typeName(b) + "'");
  }

  // ---- arithmetic ----

  static Object add(Object a, Object b) {
    undefinedCheck(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (a instanceof Double || b instanceof Double) {
        return toDouble(a) + toDouble(b);
      }
      return a instanceof Long x && b instanceof Long y ? addExact(x, y) : normalize(big(a).add(big(b)));
    }
    if (a instanceof String s && b instanceof String t) {
      checkLength((long) s.length() + t.length());
      return s + t;
    }
    if (a instanceof List<?> l && b instanceof List<?> m && (a instanceof PyTuple) == (b instanceof PyTuple)) {
      checkLength((long) l.size() + m.size());
      List<Object> out = new ArrayList<>(l);
      out.addAll(m);
      return a instanceof PyTuple ? new PyTuple(out) : out;
    }
    if (a instanceof String || isList(a) || a instanceof PyTuple) {
      throw JinjaException.type("can only concatenate " + typeName(a) + " (not \"" + typeName(b) + "\") to "
          + typeName(a));
    }
    throw unsupported("+", a, b);
  }

  /** An int that a double holds exactly, so int / int can be done in doubles with one rounding. */
  private static boolean exactDouble(Object o) {
    return o instanceof Boolean || (o instanceof Long l && Math.abs(l) <= (1L << 53));
  }

  private static Object addExact(long x, long y) {
    long r = x + y;
    return ((x ^ r) & (y ^ r)) < 0 ? normalize(BigInteger.valueOf(x).add(BigInteger.valueOf(y))) : (Object) r;
  }

  static Object sub(Object a, Object b) {
    undefinedCheck(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (a instanceof Double || b instanceof Double) {
        return toDouble(a) - toDouble(b);
      }
      return normalize(big(a).subtract(big(b)));
    }
    throw unsupported("-", a, b);
  }

  static Object mul(Object a, Object b) {
    undefinedCheck(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (a instanceof Double || b instanceof Double) {
        return toDouble(a) * toDouble(b);
      }
      return normalize(big(a).multiply(big(b)));
    }
    if (isInt(b) && (a instanceof String || a instanceof List)) {
      return repeat(a, b);
    }
    if (isInt(a) && (b instanceof String || b instanceof List)) {
      return repeat(b, a);
    }
    throw isInt(a) || isInt(b) || a instanceof Double || b instanceof Double
        ? JinjaException.type("can't multiply sequence by non-int of type '" + typeName(
            a instanceof Double ? a : b) + "'")
        : unsupported("*", a, b);
  }

  private static Object repeat(Object seq, Object times) {
    BigInteger n = big(times);
    long count = n.signum() <= 0 ? 0 : n.bitLength() > 31 ? Long.MAX_VALUE : n.longValue();
    if (seq instanceof String s) {
      if (count == 0 || s.isEmpty()) {
        return "";
      }
      checkLength(s.length() * Math.min(count, MAX_STRING + 1L));
      return s.repeat((int) count);
    }
    List<?> l = (List<?>) seq;
    if (count > 0 && !l.isEmpty()) {
      checkLength(l.size() * Math.min(count, MAX_STRING + 1L));
    }
    List<Object> out = new ArrayList<>();
    for (long i = 0; i < count && !l.isEmpty(); i++) {
      out.addAll(l);
    }
    return seq instanceof PyTuple ? new PyTuple(out) : out;
  }

  static Object truediv(Object a, Object b) {
    undefinedCheck(a, b);
    if (!isNumber(a) || !isNumber(b)) {
      throw unsupported("/", a, b);
    }
    double y = toDouble(b);
    if (y == 0) {
      throw JinjaException.value(isInt(b) && isInt(a) ? "division by zero" : "float division by zero");
    }
    if (isInt(a) && isInt(b) && !(exactDouble(a) && exactDouble(b))) {
      return new BigDecimal(big(a)).divide(new BigDecimal(big(b)), java.math.MathContext.DECIMAL128).doubleValue();
    }
    return toDouble(a) / y;
  }

  static Object floordiv(Object a, Object b) {
    undefinedCheck(a, b);
    if (!isNumber(a) || !isNumber(b)) {
      throw unsupported("//", a, b);
    }
    if (isInt(a) && isInt(b)) {
      BigInteger y = big(b);
      if (y.signum() == 0) {
        throw JinjaException.value("integer division or modulo by zero");
      }
      BigInteger[] qr = big(a).divideAndRemainder(y);
      BigInteger q = qr[0];
      if (qr[1].signum() != 0 && (qr[1].signum() != y.signum())) {
        q = q.subtract(BigInteger.ONE);
      }
      return normalize(q);
    }
    return floatDivmod(toDouble(a), toDouble(b))[0];
  }

  static Object mod(Object a, Object b) {
    undefinedCheck(a, b);
    if (a instanceof String s) {
      return PyFormat.percent(s, b);
    }
    if (!isNumber(a) || !isNumber(b)) {
      throw unsupported("%", a, b);
    }
    if (isInt(a) && isInt(b)) {
      BigInteger y = big(b);
      if (y.signum() == 0) {
        throw JinjaException.value("integer division or modulo by zero");
      }
      BigInteger r = big(a).mod(y.abs());
      return normalize(y.signum() < 0 && r.signum() != 0 ? r.add(y) : r);
    }
    return floatDivmod(toDouble(a), toDouble(b))[1];
  }

  /** CPython's float_divmod: floor quotient and a remainder with the divisor's sign. */
  private static double[] floatDivmod(double vx, double wx) {
    if (wx == 0) {
      throw JinjaException.value("float divmod()");
    }
    double mod = vx % wx; // C fmod
    double div = (vx - mod) / wx;
    if (mod != 0) {
      if ((wx < 0) != (mod < 0)) {
        mod += wx;
        div -= 1.0;
      }
    } else {
      mod = Math.copySign(0.0, wx);
    }
    double floordiv;
    if (div != 0) {
      floordiv = Math.floor(div);
      if (div - floordiv > 0.5) {
        floordiv += 1.0;
      }
    } else {
      floordiv = Math.copySign(0.0, vx / wx);
    }
    return new double[] {floordiv, mod};
  }

  static Object pow(Object a, Object b) {
    undefinedCheck(a, b);
    if (!isNumber(a) || !isNumber(b)) {
      throw unsupported("** or pow()", a, b);
    }
    if (isInt(a) && isInt(b) && big(b).signum() >= 0) {
      return intPow(big(a), big(b));
    }
    double x = toDouble(a);
    double y = toDouble(b);
    if (x == 0 && y < 0) {
      throw JinjaException.value("0.0 cannot be raised to a negative power");
    }
    if (x < 0 && y != Math.rint(y) && !Double.isInfinite(y)) {
      throw JinjaException.value("a negative number to a fractional power is complex, which this engine does not"
          + " support");
    }
    return Math.pow(x, y);
  }

  private static Object intPow(BigInteger base, BigInteger exponent) {
    if (base.abs().compareTo(BigInteger.ONE) <= 0) { // 0, 1 and -1 to any power
      if (base.signum() == 0) {
        return exponent.signum() == 0 ? 1L : 0L;
      }
      return base.signum() > 0 || !exponent.testBit(0) ? 1L : -1L;
    }
    if (exponent.bitLength() > 31 || (long) base.bitLength() * exponent.intValue() > MAX_INT_BITS + 64L) {
      throw JinjaException.runtime("an integer of more than " + MAX_INT_BITS + " bits is too large for this engine");
    }
    return normalize(base.pow(exponent.intValue()));
  }

  static Object negate(Object a) {
    if (a instanceof Undefined u) {
      throw u.error();
    }
    return switch (a) {
      case Double d -> -d;
      case Long l -> l == Long.MIN_VALUE ? normalize(BigInteger.valueOf(l).negate()) : (Object) (-l);
      case BigInteger b -> normalize(b.negate());
      case Boolean b -> b ? -1L : 0L;
      case null, default -> throw JinjaException.type("bad operand type for unary -: '" + typeName(a) + "'");
    };
  }

  static Object plus(Object a) {
    if (a instanceof Undefined u) {
      throw u.error();
    }
    if (a instanceof Boolean b) {
      return b ? 1L : 0L;
    }
    if (!isNumber(a)) {
      throw JinjaException.type("bad operand type for unary +: '" + typeName(a) + "'");
    }
    return a;
  }

  private static void undefinedCheck(Object a, Object b) {
    if (a instanceof Undefined u) {
      throw u.error();
    }
    if (b instanceof Undefined u) {
      throw u.error();
    }
  }

  private static JinjaException unsupported(String op, Object a, Object b) {
    return JinjaException.type("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '"
        + typeName(b) + "'");
  }

  static void checkLength(long length) {
    if (length > MAX_STRING) {
      throw JinjaException.runtime("a value longer than " + MAX_STRING + " items is too large for this engine");
    }
  }

  // ---- containers ----

  static long len(Object o) {
    return switch (o) {
      case String s -> s.codePointCount(0, s.length());
      case Collection<?> c -> c.size();
      case Map<?, ?> m -> m.size();
      case Undefined u -> 0;
      case null, default -> throw JinjaException.type("object of type '" + typeName(o) + "' has no len()");
    };
  }

  /** The items a for loop (or list()) sees: a list's items, a dict's keys, a string's characters. */
  static List<Object> iterate(Object o) {
    return switch (o) {
      case List<?> l -> new ArrayList<>(l);
      case Map<?, ?> m -> new ArrayList<>(m.keySet());
      case String s -> PyStrings.characters(s);
      case Undefined u -> new ArrayList<>();
      case Collection<?> c -> new ArrayList<>(c);
      case null, default -> throw JinjaException.type("'" + typeName(o) + "' object is not iterable");
    };
  }

  static boolean contains(Object container, Object item) {
    switch (container) {
      case String s -> {
        if (!(item instanceof String t)) {
          throw JinjaException.type("'in <string>' requires string as left operand, not " + typeName(item));
        }
        return s.contains(t);
      }
      case Map<?, ?> m -> {
        Dicts.requireHashable(item);
        return Dicts.get(m, item, Dicts.MISSING) != Dicts.MISSING;
      }
      case Collection<?> c -> {
        for (Object o : c) {
          if (eq(o, item)) {
            return true;
          }
        }
        return false;
      }
      case Undefined u -> {
        return false;
      }
      case null, default -> throw JinjaException.type("argument of type '" + typeName(container)
          + "' is not iterable");
    }
  }

  /** Python's int index for a sequence: an int (or bool), or null when {@code key} is not one. */
  static Long index(Object key) {
    if (key instanceof Long l) {
      return l;
    }
    if (key instanceof Boolean b) {
      return b ? 1L : 0L;
    }
    if (key instanceof BigInteger b) {
      return b.signum() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return null;
  }
}
