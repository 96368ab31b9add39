package dev.candor.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Jinja2's default globals under the sandbox: {@code range} (refusing more than 100,000 items, as the sandbox's
 * safe_range does), {@code dict}, {@code namespace}, {@code cycler} and {@code joiner}. ({@code lipsum}, random
 * text, is left out: a chat template has no use for it and its output could not be reproduced.)
 */
final class Globals {
  /** The sandbox's MAX_RANGE. */
  static final int MAX_RANGE = 100_000;

  private Globals() {}

  static Map<String, Object> defaults() {
    Map<String, Object> g = new LinkedHashMap<>();
    g.put("range", PyCallable.named("range", Globals::range));
    g.put("dict", PyCallable.named("dict", (args, kwargs) -> dict("dict", args, kwargs)));
    g.put("namespace", PyCallable.named("namespace", (args, kwargs) -> {
      Namespace ns = new Namespace();
      dict("namespace", args, kwargs).forEach((k, v) -> ns.attributes.put(Py.str(k), v));
      return ns;
    }));
    g.put("cycler", PyCallable.named("cycler", (args, kwargs) -> {
      if (args.isEmpty()) {
        throw JinjaException.runtime("at least one item has to be provided");
      }
      return new Cycler(args);
    }));
    g.put("joiner", PyCallable.named("joiner", (args, kwargs) -> {
      String sep = new CallArgs("joiner", args, kwargs).accept(1, "sep").string(0, "sep", ", ");
      boolean[] used = {false};
      return PyCallable.named("joiner", (a, k) -> {
        boolean first = !used[0];
        used[0] = true;
        return first ? "" : sep;
      });
    }));
    return g;
  }

  private static Object range(List<Object> args, Map<String, Object> kwargs) {
    if (!kwargs.isEmpty()) {
      throw JinjaException.type("range() takes no keyword arguments");
    }
    if (args.isEmpty() || args.size() > 3) {
      throw JinjaException.type("range expected at most 3 arguments, got " + args.size());
    }
    long[] v = new long[args.size()];
    for (int i = 0; i < v.length; i++) {
      Long l = Py.index(args.get(i));
      if (l == null) {
        throw JinjaException.type("'" + Py.typeName(args.get(i)) + "' object cannot be interpreted as an integer");
      }
      v[i] = l;
    }
    long start = v.length == 1 ? 0 : v[0];
    long stop = v.length == 1 ? v[0] : v[1];
    long step = v.length == 3 ? v[2] : 1;
    if (step == 0) {
      throw JinjaException.value("range() arg 3 must not be zero");
    }
    java.math.BigInteger span = java.math.BigInteger.valueOf(stop).subtract(java.math.BigInteger.valueOf(start));
    java.math.BigInteger count = step > 0 ? ceilDiv(span, step) : ceilDiv(span.negate(), -step);
    if (count.signum() < 0) {
      count = java.math.BigInteger.ZERO;
    }
    if (count.compareTo(java.math.BigInteger.valueOf(MAX_RANGE)) > 0) {
      throw JinjaException.value("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + MAX_RANGE + ").");
    }
    return new PyRange(start, stop, step, count.intValue());
  }

  private static java.math.BigInteger ceilDiv(java.math.BigInteger a, long b) {
    java.math.BigInteger[] qr = a.divideAndRemainder(java.math.BigInteger.valueOf(b));
    return qr[1].signum() > 0 ? qr[0].add(java.math.BigInteger.ONE) : qr[0];
  }

  /** dict(mapping or pairs, **kwargs). */
  static Map<Object, Object> dict(String function, List<Object> args, Map<String, Object> kwargs) {
    if (args.size() > 1) {
      throw JinjaException.type(function + " expected at most 1 argument, got " + args.size());
    }
    Map<Object, Object> out = new LinkedHashMap<>();
    if (!args.isEmpty()) {
      Object source = args.get(0);
      if (source instanceof Map<?, ?> m) {
        m.forEach((k, v) -> Dicts.put(out, k, v));
      } else {
        for (Object pair : Py.iterate(source)) {
          List<Object> kv = Py.iterate(pair);
          if (kv.size() != 2) {
            throw JinjaException.value("dictionary update sequence element has length " + kv.size() + "; 2 is required");
          }
          Dicts.put(out, kv.get(0), kv.get(1));
        }
      }
    }
    kwargs.forEach(out::put);
    return out;
  }

  /** range(start, stop, step): a list that prints as Python prints a range. */
  static final class PyRange extends java.util.AbstractList<Object> {
    private final long start;
    private final long stop;
    private final long step;
    private final int size;

    PyRange(long start, long stop, long step, int size) {
      this.start = start;
      this.stop = stop;
      this.step = step;
      this.size = size;
    }

    @Override
    public Object get(int index) {
      return start + index * step;
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public String toString() {
      return "range(" + start + ", " + stop + (step == 1 ? "" : ", " + step) + ")";
    }
  }

  /** cycler(*items): next(), reset() and current. */
  static final class Cycler {
    private final List<Object> items;
    private int position;

    Cycler(List<Object> items) {
      this.items = new ArrayList<>(items);
    }

    Object attribute(String name) {
      return switch (name) {
        case "current" -> items.get(position);
        case "next" -> PyCallable.named("next", (a, k) -> {
          Object current = items.get(position);
          position = (position + 1) % items.size();
          return current;
        });
        case "reset" -> PyCallable.named("reset", (a, k) -> {
          position = 0;
          return null;
        });
        default -> Dicts.MISSING;
      };
    }
  }
}
