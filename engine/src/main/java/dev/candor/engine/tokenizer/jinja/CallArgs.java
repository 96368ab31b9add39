package dev.candor.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The evaluated arguments of one call of a filter, test, method or global, with Python's binding rules: an
 * argument is taken by position or by keyword; too many positional arguments, an unknown keyword or a missing
 * required argument is a TypeError naming the function.
 */
final class CallArgs {
  /** The default of a required argument. */
  static final Object REQUIRED = new Object();

  final String function;
  final List<Object> positional;
  final Map<String, Object> keywords;

  CallArgs(String function, List<Object> positional, Map<String, Object> keywords) {
    this.function = function;
    this.positional = positional;
    this.keywords = keywords;
  }

  /** Argument {@code index} (counting from 0 after the value a filter or method applies to), or keyword {@code name}. */
  Object get(int index, String name, Object fallback) {
    if (index < positional.size()) {
      if (name != null && keywords.containsKey(name)) {
        throw JinjaException.type(function + "() got multiple values for argument '" + name + "'");
      }
      return positional.get(index);
    }
    if (name != null && keywords.containsKey(name)) {
      return keywords.get(name);
    }
    if (fallback == REQUIRED) {
      throw JinjaException.type(function + "() missing required argument" + (name == null ? "" : " '" + name + "'"));
    }
    return fallback;
  }

  /** Refuses more than {@code max} positional arguments or a keyword not in {@code names}. */
  CallArgs accept(int max, String... names) {
    if (positional.size() > max) {
      throw JinjaException.type(function + "() takes at most " + max + " argument" + (max == 1 ? "" : "s") + " ("
          + positional.size() + " given)");
    }
    Set<String> allowed = Set.of(names);
    for (String k : keywords.keySet()) {
      if (!allowed.contains(k)) {
        throw JinjaException.type(function + "() got an unexpected keyword argument '" + k + "'");
      }
    }
    return this;
  }

  String string(int index, String name, Object fallback) {
    Object v = get(index, name, fallback);
    if (v != null && !(v instanceof String)) {
      throw JinjaException.type(function + "() argument must be str, not " + Py.typeName(v));
    }
    return (String) v;
  }

  /** An int argument, or null when it is None or absent with a null fallback. */
  Long integer(int index, String name, Object fallback) {
    Object v = get(index, name, fallback);
    if (v == null) {
      return null;
    }
    Long l = Py.index(v);
    if (l == null) {
      throw JinjaException.type("'" + Py.typeName(v) + "' object cannot be interpreted as an integer");
    }
    return l;
  }

  boolean bool(int index, String name, boolean fallback) {
    return Py.truthy(get(index, name, fallback));
  }
}
