package dev.candor.engine.tokenizer.jinja;

import java.util.HashMap;
import java.util.Map;

/**
 * One level of variables. Jinja2 gives each for-loop iteration, macro call, {@code with}, filter block and block
 * {@code set} its own level: a {@code {% set %}} inside writes there and is gone afterwards (hence namespace()), while
 * {@code if} shares its enclosing level. Lookups walk outwards to the render variables and the globals.
 */
final class Scope {
  static final Object MISSING = new Object();

  private final Scope parent;
  private Map<String, Object> vars; // made on the first set: most loop iterations set two names, many scopes none

  Scope(Scope parent) {
    this.parent = parent;
  }

  Object lookup(String name) {
    for (Scope s = this; s != null; s = s.parent) {
      if (s.vars != null) {
        Object v = s.vars.getOrDefault(name, MISSING);
        if (v != MISSING) {
          return v;
        }
      }
    }
    return MISSING;
  }

  void set(String name, Object value) {
    if (vars == null) {
      vars = new HashMap<>(4);
    }
    vars.put(name, value);
  }

  void setAll(Map<String, ?> values) {
    if (vars == null) {
      vars = new HashMap<>(values.size() * 2);
    }
    vars.putAll(values);
  }
}
