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
  private final Map<String, Object> vars = new HashMap<>(8);

  Scope(Scope parent) {
    this.parent = parent;
  }

  Object lookup(String name) {
    for (Scope s = this; s != null; s = s.parent) {
      if (s.vars.containsKey(name)) {
        return s.vars.get(name);
      }
    }
    return MISSING;
  }

  void set(String name, Object value) {
    vars.put(name, value);
  }

  void setAll(Map<String, ?> values) {
    vars.putAll(values);
  }
}
