package dev.candor.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/** Dict keys as Python compares them: 1, 1.0 and True are one key; a list or dict cannot be a key. */
final class Dicts {
  /** Returned by {@link #get} for a key that is not there (a value may itself be None). */
  static final Object MISSING = new Object();

  private Dicts() {}

  static Object get(Map<?, ?> map, Object key, Object fallback) {
    if (map.containsKey(key)) {
      return map.get(key);
    }
    if (Py.isNumber(key)) { // the same number under another Java type
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (Py.isNumber(e.getKey()) && Py.eq(e.getKey(), key)) {
          return e.getValue();
        }
      }
    }
    return fallback;
  }

  /** Puts {@code key}, replacing an equal key's value in place (Python keeps the first key and its position). */
  static void put(Map<Object, Object> map, Object key, Object value) {
    requireHashable(key);
    if (!map.containsKey(key) && Py.isNumber(key)) {
      for (Map.Entry<Object, Object> e : map.entrySet()) {
        if (Py.isNumber(e.getKey()) && Py.eq(e.getKey(), key)) {
          e.setValue(value);
          return;
        }
      }
    }
    map.put(key, value);
  }

  static void requireHashable(Object key) {
    if ((key instanceof List<?> && !(key instanceof PyTuple)) || key instanceof Map<?, ?> || key instanceof Namespace) {
      throw JinjaException.type("unhashable type: '" + Py.typeName(key) + "'");
    }
    if (key instanceof PyTuple t) {
      for (Object item : t) {
        requireHashable(item);
      }
    }
  }
}
