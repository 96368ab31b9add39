package dev.candor.engine.tokenizer.jinja;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii, indent, separators, sort_keys)}, which is Hugging Face's
 * {@code tojson} filter: item separator {@code ", "} (or {@code ","} with an indent) and key separator {@code ": "}
 * unless given, keys that are numbers, booleans or None written as strings, NaN and infinities as {@code NaN} and
 * {@code Infinity}, and with {@code ensure_ascii} off only {@code "}, {@code \} and control characters escaped.
 */
final class PyJson {
  private final boolean ensureAscii;
  private final String indent; // null: one line
  private final String itemSeparator;
  private final String keySeparator;
  private final boolean sortKeys;
  private final StringBuilder out = new StringBuilder();
  private final IdentityHashMap<Object, Boolean> open = new IdentityHashMap<>();

  private PyJson(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
    this.ensureAscii = ensureAscii;
    this.indent = indent;
    this.itemSeparator = itemSeparator;
    this.keySeparator = keySeparator;
    this.sortKeys = sortKeys;
  }

  /**
   * @param indent null, an int (that many spaces; negative is none) or a string
   * @param separators null, or a 2-item list or tuple (item separator, key separator)
   */
  static String dumps(Object value, boolean ensureAscii, Object indent, Object separators, boolean sortKeys) {
    String indentText = switch (indent) {
      case null -> null;
      case String s -> s;
      case Boolean b -> throw JinjaException.type("indent must be an int or a string");
      default -> {
        if (!Py.isInt(indent)) {
          throw JinjaException.type("can't multiply sequence by non-int of type '" + Py.typeName(indent) + "'");
        }
        long n = Py.big(indent).max(BigInteger.ZERO).min(BigInteger.valueOf(Py.MAX_STRING)).longValue();
        yield " ".repeat((int) n);
      }
    };
    String item = indentText == null ? ", " : ",";
    String key = ": ";
    if (separators != null) {
      if (!(separators instanceof List<?> l) || l.size() != 2 || !(l.get(0) instanceof String i)
          || !(l.get(1) instanceof String k)) {
        throw JinjaException.value("separators must be a (item_separator, key_separator) pair of strings");
      }
      item = i;
      key = k;
    }
    PyJson json = new PyJson(ensureAscii, indentText, item, key, sortKeys);
    json.write(value, 0);
    return json.out.toString();
  }

  private void write(Object value, int level) {
    Py.checkLength(out.length());
    switch (value) {
      case null -> out.append("null");
      case Boolean b -> out.append(b ? "true" : "false");
      case Long l -> out.append(l);
      case BigInteger b -> out.append(b);
      case Double d -> out.append(number(d));
      case String s -> string(s);
      case List<?> l -> list(l, level);
      case Map<?, ?> m -> map(m, level);
      default -> throw JinjaException.type("Object of type " + Py.typeName(value) + " is not JSON serializable");
    }
  }

  private static String number(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    return Py.floatRepr(d);
  }

  private void list(List<?> l, int level) {
    if (l.isEmpty()) {
      out.append("[]");
      return;
    }
    enter(l);
    out.append('[');
    String separator = newline(level + 1);
    for (int i = 0; i < l.size(); i++) {
      out.append(i == 0 ? "" : itemSeparator).append(separator);
      write(l.get(i), level + 1);
    }
    out.append(newline(level)).append(']');
    open.remove(l);
  }

  private void map(Map<?, ?> m, int level) {
    if (m.isEmpty()) {
      out.append("{}");
      return;
    }
    enter(m);
    List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
    if (sortKeys) {
      entries.sort((a, b) -> Py.compare(a.getKey(), b.getKey(), "<")); // the keys as they are, as sorted() does
    }
    out.append('{');
    String separator = newline(level + 1);
    boolean first = true;
    for (Map.Entry<?, ?> e : entries) {
      out.append(first ? "" : itemSeparator).append(separator);
      first = false;
      string(key(e.getKey()));
      out.append(keySeparator);
      write(e.getValue(), level + 1);
    }
    out.append(newline(level)).append('}');
    open.remove(m);
  }

  private void enter(Object container) {
    if (open.put(container, Boolean.TRUE) != null) {
      throw JinjaException.value("Circular reference detected");
    }
  }

  private String newline(int level) {
    return indent == null ? "" : "\n" + indent.repeat(level);
  }

  private String key(Object k) {
    return switch (k) {
      case String s -> s;
      case null -> "null";
      case Boolean b -> b ? "true" : "false";
      case Long l -> l.toString();
      case BigInteger b -> b.toString();
      case Double d -> number(d);
      default -> throw JinjaException.type("keys must be str, int, float, bool or None, not " + Py.typeName(k));
    };
  }

  private void string(String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20 || (ensureAscii && c > 0x7e)) {
            out.append(String.format("\\u%04x", (int) c)); // UTF-16 units: astral characters as surrogate pairs
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
