package dev.candor.engine.tokenizer.jinja;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Jinja2 3.1's built-in tests ({@code jinja2/tests.py}): {@code x is defined}, {@code x is string}, ... */
final class Tests {
  interface Test {
    boolean apply(Object value, CallArgs args);
  }

  private static final Map<String, Test> TESTS = new HashMap<>();

  static {
    TESTS.put("defined", (v, a) -> !(v instanceof Undefined));
    TESTS.put("undefined", (v, a) -> v instanceof Undefined);
    TESTS.put("none", (v, a) -> v == null);
    TESTS.put("boolean", (v, a) -> v instanceof Boolean);
    TESTS.put("true", (v, a) -> Boolean.TRUE.equals(v));
    TESTS.put("false", (v, a) -> Boolean.FALSE.equals(v));
    TESTS.put("integer", (v, a) -> v instanceof Long || v instanceof java.math.BigInteger);
    TESTS.put("float", (v, a) -> v instanceof Double);
    TESTS.put("number", (v, a) -> Py.isNumber(v));
    TESTS.put("string", (v, a) -> v instanceof String);
    TESTS.put("mapping", (v, a) -> v instanceof Map<?, ?>);
    TESTS.put("sequence", (v, a) -> v instanceof String || v instanceof List<?> || v instanceof Map<?, ?>
        || v instanceof Undefined);
    TESTS.put("iterable", (v, a) -> v instanceof String || v instanceof List<?> || v instanceof Map<?, ?>
        || v instanceof Undefined);
    TESTS.put("callable", (v, a) -> v instanceof PyCallable);
    TESTS.put("escaped", (v, a) -> false);
    TESTS.put("odd", (v, a) -> Py.eq(Py.mod(v, 2L), 1L));
    TESTS.put("even", (v, a) -> Py.eq(Py.mod(v, 2L), 0L));
    TESTS.put("divisibleby", (v, a) -> Py.eq(Py.mod(v, a.accept(1, "num").get(0, "num", CallArgs.REQUIRED)), 0L));
    TESTS.put("lower", (v, a) -> PyStrings.isLower(Py.str(v)));
    TESTS.put("upper", (v, a) -> PyStrings.isUpper(Py.str(v)));
    TESTS.put("in", (v, a) -> Py.contains(a.accept(1, "seq").get(0, "seq", CallArgs.REQUIRED), v));
    TESTS.put("sameas", (v, a) -> sameAs(v, a.accept(1, "other").get(0, "other", CallArgs.REQUIRED)));
    TESTS.put("filter", (v, a) -> v instanceof String s && Filters.exists(s));
    TESTS.put("test", (v, a) -> v instanceof String s && exists(s));
    for (String name : List.of("eq", "==", "equalto")) {
      TESTS.put(name, (v, a) -> Py.eq(v, other(a)));
    }
    for (String name : List.of("ne", "!=")) {
      TESTS.put(name, (v, a) -> !Py.eq(v, other(a)));
    }
    for (String name : List.of("lt", "<", "lessthan")) {
      TESTS.put(name, (v, a) -> Py.compare(v, other(a), "<") == -1);
    }
    for (String name : List.of("le", "<=")) {
      TESTS.put(name, (v, a) -> Py.compare(v, other(a), "<=") == -1 || Py.compare(v, other(a), "<=") == 0);
    }
    for (String name : List.of("gt", ">", "greaterthan")) {
      TESTS.put(name, (v, a) -> Py.compare(v, other(a), ">") == 1);
    }
    for (String name : List.of("ge", ">=")) {
      TESTS.put(name, (v, a) -> Py.compare(v, other(a), ">=") == 1 || Py.compare(v, other(a), ">=") == 0);
    }
  }

  private Tests() {}

  static boolean exists(String name) {
    return TESTS.containsKey(name);
  }

  static boolean apply(String name, Object value, CallArgs args, Interpreter interpreter) {
    Test t = TESTS.get(name);
    if (t == null) {
      throw JinjaException.runtime("No test named " + Py.repr(name) + " found.");
    }
    return t.apply(value, args);
  }

  private static Object other(CallArgs a) {
    return a.accept(1, "other", "b").get(0, a.keywords.containsKey("b") ? "b" : "other", CallArgs.REQUIRED);
  }

  /** Python's "is": identity, which for None, booleans and small ints is equality of value. */
  private static boolean sameAs(Object v, Object other) {
    if (v == other) {
      return true;
    }
    if (v instanceof Boolean || other instanceof Boolean || v == null || other == null) {
      return false;
    }
    return v instanceof Long x && other instanceof Long y && x.equals(y) && x >= -5 && x <= 256;
  }
}
