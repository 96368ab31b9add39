package dev.candor.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;

/** {@code seq[start:stop:step]}: the evaluated bounds, and the indices they select as CPython computes them. */
record PySlice(Object start, Object stop, Object step) {
  /** The indices selected from a sequence of {@code length}, or null when a bound is not an int (then undefined). */
  List<Integer> indices(int length) {
    Long st = bound(step);
    Long s = bound(start);
    Long e = bound(stop);
    if (invalid(st) || invalid(s) || invalid(e)) {
      return null;
    }
    long by = st == null ? 1 : st;
    if (by == 0) {
      throw JinjaException.value("slice step cannot be zero");
    }
    long from = clamp(s, by > 0 ? 0 : length - 1, length, by);
    long to = clamp(e, by > 0 ? length : -1, length, by);
    List<Integer> out = new ArrayList<>();
    for (long i = from; by > 0 ? i < to : i > to; i += by) {
      out.add((int) i);
    }
    return out;
  }

  private static boolean invalid(Long bound) {
    return bound != null && bound == Long.MIN_VALUE;
  }

  private static long clamp(Long v, long fallback, int length, long step) {
    if (v == null) {
      return fallback;
    }
    long x = v < 0 ? v + length : v;
    if (x < 0) {
      return step < 0 ? -1 : 0;
    }
    if (x >= length) {
      return step < 0 ? length - 1 : length;
    }
    return x;
  }

  /** null for None, MIN_VALUE for a bound that is not an int. */
  private static Long bound(Object v) {
    if (v == null) {
      return null;
    }
    Long l = Py.index(v);
    if (l == null) {
      return Long.MIN_VALUE;
    }
    return l == Long.MIN_VALUE ? Long.MIN_VALUE + 1 : l;
  }
}
