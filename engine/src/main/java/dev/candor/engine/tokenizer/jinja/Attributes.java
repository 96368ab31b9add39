package dev.candor.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code obj.name} and {@code obj[key]} as Jinja2's ImmutableSandboxedEnvironment resolves them. getattr tries the
 * Python attribute first, then the item ({@code message.items} is the dict method, not a key "items"); getitem the
 * item first, then the attribute. A miss is {@link Undefined}. The methods a template may call are the read-only ones
 * of str, dict and list; a mutating method ({@code append}, {@code update}, ...) or a dunder attribute is the
 * sandbox's unsafe undefined, which raises a SecurityError when used. No Java reflection is ever involved: what a
 * template can reach is exactly what is listed here.
 */
final class Attributes {
  private static final Set<String> DICT_MUTATORS = Set.of("clear", "pop", "popitem", "setdefault", "update");
  private static final Set<String> LIST_MUTATORS = Set.of("append", "clear", "extend", "insert", "pop", "remove",
      "reverse", "sort");
  private static final Set<String> DICT_METHODS = Set.of("get", "items", "keys", "values", "copy");
  private static final Set<String> LIST_METHODS = Set.of("count", "index", "copy");
  private static final Set<String> TUPLE_METHODS = Set.of("count", "index");

  private Attributes() {}

  static Object getattr(Object obj, String name) {
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    if (name.startsWith("__") && name.endsWith("__") && name.length() > 4) {
      return Undefined.unsafe(obj, name);
    }
    Object attribute = pythonAttribute(obj, name);
    if (attribute != Dicts.MISSING) {
      return attribute;
    }
    return item(obj, name);
  }

  static Object getitem(Object obj, Object key) {
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    Object item = item(obj, key);
    if (!(item instanceof Undefined) || !(key instanceof String name)) {
      return item;
    }
    if (name.startsWith("__") && name.endsWith("__") && name.length() > 4) {
      return Undefined.unsafe(obj, name);
    }
    Object attribute = pythonAttribute(obj, name);
    return attribute != Dicts.MISSING ? attribute : item;
  }

  /** {@code obj[key]}, or an undefined naming what is missing. */
  private static Object item(Object obj, Object key) {
    switch (obj) {
      case Map<?, ?> m -> {
        if (key instanceof List<?> && !(key instanceof PyTuple) || key instanceof Map<?, ?>) {
          return Undefined.attribute(obj, key); // unhashable: TypeError, which the sandbox turns into undefined
        }
        Object v = Dicts.get(m, key, Dicts.MISSING);
        return v != Dicts.MISSING ? v : Undefined.attribute(obj, key);
      }
      case List<?> l -> {
        return sequenceItem(obj, l, key, l.size());
      }
      case String s -> {
        return stringItem(s, key);
      }
      case Namespace n -> {
        return key instanceof String k && n.attributes.containsKey(k) ? n.attributes.get(k)
            : Undefined.attribute(obj, key);
      }
      case null, default -> {
        return Undefined.attribute(obj, key);
      }
    }
  }

  private static Object sequenceItem(Object obj, List<?> l, Object key, int length) {
    if (key instanceof PySlice slice) {
      List<Integer> indices = slice.indices(length);
      if (indices == null) {
        return Undefined.attribute(obj, key);
      }
      List<Object> out = new ArrayList<>(indices.size());
      for (int i : indices) {
        out.add(l.get(i));
      }
      return obj instanceof PyTuple ? new PyTuple(out) : out;
    }
    Long index = Py.index(key);
    if (index == null) {
      return Undefined.attribute(obj, key);
    }
    long i = index < 0 ? index + length : index;
    return i >= 0 && i < length ? l.get((int) i) : Undefined.attribute(obj, key);
  }

  private static Object stringItem(String s, Object key) {
    if (!(key instanceof PySlice) && Py.index(key) == null) {
      return Undefined.attribute(s, key);
    }
    int[] cps = PyStrings.codePoints(s);
    if (key instanceof PySlice slice) {
      List<Integer> indices = slice.indices(cps.length);
      if (indices == null) {
        return Undefined.attribute(s, key);
      }
      StringBuilder out = new StringBuilder(indices.size());
      for (int i : indices) {
        out.appendCodePoint(cps[i]);
      }
      return out.toString();
    }
    long i = Py.index(key);
    i = i < 0 ? i + cps.length : i;
    return i >= 0 && i < cps.length ? Character.toString(cps[(int) i]) : Undefined.attribute(s, key);
  }

  /** The Python attribute {@code name} of {@code obj} (a bound method, a loop's property), or MISSING. */
  static Object pythonAttribute(Object obj, String name) {
    switch (obj) {
      case Map<?, ?> m -> {
        if (DICT_MUTATORS.contains(name)) {
          return Undefined.unsafe(obj, name);
        }
        return DICT_METHODS.contains(name) ? bound(obj, name) : Dicts.MISSING;
      }
      case PyTuple t -> {
        return TUPLE_METHODS.contains(name) ? bound(obj, name) : Dicts.MISSING;
      }
      case List<?> l -> {
        if (LIST_MUTATORS.contains(name)) {
          return Undefined.unsafe(obj, name);
        }
        return LIST_METHODS.contains(name) ? bound(obj, name) : Dicts.MISSING;
      }
      case String s -> {
        return StrMethods.NAMES.contains(name) ? bound(obj, name) : Dicts.MISSING;
      }
      case LoopContext loop -> {
        return loop.attribute(name);
      }
      case Globals.Cycler c -> {
        return c.attribute(name);
      }
      case Boolean b -> {
        return Dicts.MISSING;
      }
      case Long l -> {
        return numberAttribute(obj, name);
      }
      case java.math.BigInteger b -> {
        return numberAttribute(obj, name);
      }
      case Double d -> {
        return switch (name) {
          case "real" -> d;
          case "imag" -> 0.0;
          case "is_integer" -> PyCallable.named("is_integer", (a, k) -> !d.isInfinite() && d == Math.rint(d));
          default -> Dicts.MISSING;
        };
      }
      case null, default -> {
        return Dicts.MISSING;
      }
    }
  }

  /** The data attributes of a Python int. */
  private static Object numberAttribute(Object i, String name) {
    return switch (name) {
      case "real", "numerator" -> i;
      case "imag" -> 0L;
      case "denominator" -> 1L;
      default -> Dicts.MISSING;
    };
  }

  private static PyCallable bound(Object receiver, String name) {
    String label = name + " of " + Py.typeName(receiver) + " object";
    return new PyCallable.Method(label, (args, kwargs) -> {
      CallArgs a = new CallArgs(Py.typeName(receiver) + "." + name, args, kwargs);
      return switch (receiver) {
        case String s -> StrMethods.call(s, name, a);
        case Map<?, ?> m -> dictMethod(m, name, a);
        default -> listMethod((List<?>) receiver, name, a);
      };
    });
  }

  private static Object dictMethod(Map<?, ?> m, String name, CallArgs a) {
    switch (name) {
      case "get" -> {
        a.accept(2);
        Object key = a.get(0, null, CallArgs.REQUIRED);
        Dicts.requireHashable(key);
        Object v = Dicts.get(m, key, Dicts.MISSING);
        return v != Dicts.MISSING ? v : a.get(1, null, null);
      }
      case "items" -> {
        a.accept(0);
        List<Object> items = new ArrayList<>(m.size());
        m.forEach((k, v) -> items.add(PyTuple.of(k, v)));
        return items;
      }
      case "keys" -> {
        a.accept(0);
        return new ArrayList<Object>(m.keySet());
      }
      case "values" -> {
        a.accept(0);
        return new ArrayList<Object>(m.values());
      }
      default -> {
        a.accept(0);
        return new java.util.LinkedHashMap<Object, Object>(m);
      }
    }
  }

  private static Object listMethod(List<?> l, String name, CallArgs a) {
    switch (name) {
      case "count" -> {
        a.accept(1);
        Object x = a.get(0, null, CallArgs.REQUIRED);
        return l.stream().filter(item -> Py.eq(item, x)).count();
      }
      case "index" -> {
        a.accept(3);
        Object x = a.get(0, null, CallArgs.REQUIRED);
        int[] b = PyStrings.bounds(a.integer(1, null, null), a.integer(2, null, null), l.size());
        for (int i = b[0]; i < b[1]; i++) {
          if (Py.eq(l.get(i), x)) {
            return (long) i;
          }
        }
        throw JinjaException.value(Py.repr(x) + " is not in list");
      }
      default -> {
        a.accept(0);
        return new ArrayList<Object>(l);
      }
    }
  }
}
