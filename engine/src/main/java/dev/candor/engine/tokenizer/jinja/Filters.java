package dev.candor.engine.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Jinja2 3.1's built-in filters ({@code jinja2/filters.py}) with their argument names and quirks ({@code "42.23" |
 * int} is 42, {@code sort} and {@code unique} ignore case unless told, {@code map} and {@code select} take a filter
 * or test name), plus Hugging Face's {@code tojson}. A few filters Jinja2 has are known but refused when used
 * ({@link #UNSUPPORTED}): nothing a chat template needs, and their output could not match Python's.
 */
final class Filters {
  interface Filter {
    Object apply(Object value, CallArgs args, Interpreter interpreter);
  }

  static final Set<String> UNSUPPORTED = Set.of("filesizeformat", "groupby", "pprint", "random", "striptags",
      "urlencode", "urlize", "wordwrap", "xmlattr");
  private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)", Pattern.UNICODE_CHARACTER_CLASS);
  private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);
  private static final Map<String, Filter> FILTERS = new HashMap<>();

  static {
    FILTERS.put("abs", (v, a, in) -> abs(v, a));
    FILTERS.put("attr", (v, a, in) -> attr(v, a.accept(1, "name").string(0, "name", CallArgs.REQUIRED)));
    FILTERS.put("batch", Filters::batch);
    FILTERS.put("capitalize", (v, a, in) -> PyStrings.capitalize(Py.str(v)));
    FILTERS.put("center", (v, a, in) -> PyStrings.pad(Py.str(v), a.accept(1, "width").integer(0, "width", 80L), " ",
        'c'));
    FILTERS.put("count", (v, a, in) -> Py.len(v));
    FILTERS.put("default", Filters::defaultValue);
    FILTERS.put("d", Filters::defaultValue);
    FILTERS.put("dictsort", Filters::dictsort);
    FILTERS.put("escape", (v, a, in) -> escape(v));
    FILTERS.put("e", (v, a, in) -> escape(v));
    FILTERS.put("forceescape", (v, a, in) -> escape(v));
    FILTERS.put("first", (v, a, in) -> first(v));
    FILTERS.put("float", Filters::toFloat);
    FILTERS.put("format", Filters::format);
    FILTERS.put("indent", Filters::indent);
    FILTERS.put("int", Filters::toInt);
    FILTERS.put("items", (v, a, in) -> items(v));
    FILTERS.put("join", Filters::join);
    FILTERS.put("last", (v, a, in) -> last(v));
    FILTERS.put("length", (v, a, in) -> Py.len(v));
    FILTERS.put("list", (v, a, in) -> Py.iterate(v));
    FILTERS.put("lower", (v, a, in) -> PyStrings.lower(Py.str(v)));
    FILTERS.put("map", Filters::map);
    FILTERS.put("max", (v, a, in) -> minMax(v, a, true));
    FILTERS.put("min", (v, a, in) -> minMax(v, a, false));
    FILTERS.put("reject", (v, a, in) -> select(v, a, in, false, false));
    FILTERS.put("rejectattr", (v, a, in) -> select(v, a, in, false, true));
    FILTERS.put("replace", Filters::replace);
    FILTERS.put("reverse", (v, a, in) -> reverse(v));
    FILTERS.put("round", Filters::round);
    FILTERS.put("safe", (v, a, in) -> Py.str(v));
    FILTERS.put("select", (v, a, in) -> select(v, a, in, true, false));
    FILTERS.put("selectattr", (v, a, in) -> select(v, a, in, true, true));
    FILTERS.put("slice", Filters::slice);
    FILTERS.put("sort", Filters::sort);
    FILTERS.put("string", (v, a, in) -> Py.str(v));
    FILTERS.put("sum", Filters::sum);
    FILTERS.put("title", (v, a, in) -> title(Py.str(v)));
    FILTERS.put("tojson", Filters::tojson);
    FILTERS.put("trim", (v, a, in) -> PyStrings.strip(Py.str(v), a.accept(1, "chars").string(0, "chars", null)));
    FILTERS.put("truncate", Filters::truncate);
    FILTERS.put("unique", Filters::unique);
    FILTERS.put("upper", (v, a, in) -> PyStrings.upper(Py.str(v)));
    FILTERS.put("wordcount", (v, a, in) -> WORD.matcher(Py.str(v)).results().count());
  }

  private Filters() {}

  static boolean exists(String name) {
    return FILTERS.containsKey(name) || UNSUPPORTED.contains(name);
  }

  static Object apply(String name, Object value, CallArgs args, Interpreter interpreter) {
    Filter f = FILTERS.get(name);
    if (f == null) {
      throw JinjaException.runtime(UNSUPPORTED.contains(name)
          ? "the '" + name + "' filter is not supported by Candor's template engine"
          : "No filter named " + Py.repr(name) + " found.");
    }
    return f.apply(value, args, interpreter);
  }

  // ---- values ----

  private static Object defaultValue(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "default_value", "boolean");
    Object fallback = a.get(0, "default_value", "");
    boolean bool = a.bool(1, "boolean", false);
    return v instanceof Undefined || (bool && !Py.truthy(v)) ? fallback : v;
  }

  private static Object abs(Object v, CallArgs a) {
    return switch (v) {
      case Double d -> Math.abs(d);
      case Boolean b -> b ? 1L : 0L;
      case Long l -> l == Long.MIN_VALUE ? Py.normalize(BigInteger.valueOf(l).negate()) : (Object) Math.abs(l);
      case BigInteger b -> Py.normalize(b.abs());
      case Undefined u -> throw u.error();
      case null, default -> throw JinjaException.type("bad operand type for abs(): '" + Py.typeName(v) + "'");
    };
  }

  /** getattr only, never the item: {@code {'a': 1} | attr('a')} is undefined. */
  private static Object attr(Object v, String name) {
    if (v instanceof Undefined u) {
      throw u.error();
    }
    if (name.startsWith("_")) {
      return Undefined.unsafe(v, name);
    }
    if (v instanceof Namespace ns) {
      return ns.attributes.containsKey(name) ? ns.attributes.get(name) : Undefined.attribute(v, name);
    }
    Object value = Attributes.pythonAttribute(v, name);
    return value == Dicts.MISSING ? Undefined.attribute(v, name) : value;
  }

  private static Object toInt(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "default", "base");
    Object fallback = a.get(0, "default", 0L);
    Long base = a.integer(1, "base", 10L);
    if (v instanceof Undefined u) {
      throw u.error();
    }
    if (v instanceof String s) {
      Object parsed = PyNumbers.parseInt(s, base);
      if (parsed != null) {
        return parsed;
      }
      Double d = PyNumbers.parseFloat(s);
      return d == null || d.isNaN() ? fallback : PyNumbers.truncate(d);
    }
    if (v instanceof Double d) {
      return d.isNaN() ? fallback : PyNumbers.truncate(d);
    }
    return Py.isInt(v) ? Py.normalize(Py.big(v)) : fallback;
  }

  private static Object toFloat(Object v, CallArgs a, Interpreter in) {
    Object fallback = a.accept(1, "default").get(0, "default", 0.0);
    if (v instanceof Undefined u) {
      throw u.error();
    }
    if (v instanceof String s) {
      Double d = PyNumbers.parseFloat(s);
      return d == null ? fallback : d;
    }
    return Py.isNumber(v) ? Py.toDouble(v) : fallback;
  }

  private static Object round(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "precision", "method");
    long precision = a.integer(0, "precision", 0L);
    String method = a.string(1, "method", "common");
    if (!Set.of("common", "ceil", "floor").contains(method)) {
      throw JinjaException.runtime("method must be common, ceil or floor");
    }
    if (v instanceof Undefined u) {
      throw u.error();
    }
    if (!Py.isNumber(v)) {
      throw JinjaException.type("type " + Py.typeName(v) + " doesn't define __round__ method");
    }
    if (method.equals("common")) {
      if (Py.isInt(v)) {
        return precision >= 0 ? Py.normalize(Py.big(v)) : Py.normalize(new BigDecimal(Py.big(v))
            .setScale((int) precision, RoundingMode.HALF_EVEN).toBigInteger());
      }
      double d = (Double) v;
      if (Double.isNaN(d) || Double.isInfinite(d) || precision > 400) {
        return d;
      }
      return new BigDecimal(d).setScale((int) Math.max(precision, -400), RoundingMode.HALF_EVEN).doubleValue();
    }
    double scale = Math.pow(10, precision);
    double x = Py.toDouble(v) * scale;
    return (method.equals("ceil") ? Math.ceil(x) : Math.floor(x)) / scale;
  }

  private static Object format(Object v, CallArgs a, Interpreter in) {
    if (!a.positional.isEmpty() && !a.keywords.isEmpty()) {
      throw JinjaException.runtime("can't handle positional and keyword arguments at the same time");
    }
    Object values = !a.keywords.isEmpty() ? new java.util.LinkedHashMap<Object, Object>(a.keywords)
        : new PyTuple(a.positional);
    return PyFormat.percent(Py.str(v), values);
  }

  private static Object tojson(Object v, CallArgs a, Interpreter in) {
    a.accept(4, "ensure_ascii", "indent", "separators", "sort_keys");
    return PyJson.dumps(v, a.bool(0, "ensure_ascii", false), a.get(1, "indent", null), a.get(2, "separators", null),
        a.bool(3, "sort_keys", false));
  }

  private static Object escape(Object v) {
    String s = Py.str(v);
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&#34;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  // ---- strings ----

  private static Object replace(Object v, CallArgs a, Interpreter in) {
    a.accept(3, "old", "new", "count");
    Object count = a.get(2, "count", null);
    return PyStrings.replace(Py.str(v), Py.str(a.get(0, "old", CallArgs.REQUIRED)),
        Py.str(a.get(1, "new", CallArgs.REQUIRED)), count == null ? -1 : a.integer(2, "count", null));
  }

  /** Jinja2's title: each word's first character upper-cased, the rest lowered; words begin after - ( { [ < and space. */
  private static String title(String s) {
    StringBuilder out = new StringBuilder(s.length());
    java.util.regex.Matcher m = WORD_BEGINNING.matcher(s);
    int last = 0;
    while (m.find()) {
      titleWord(s.substring(last, m.start()), out);
      titleWord(m.group(), out);
      last = m.end();
    }
    titleWord(s.substring(last), out);
    return out.toString();
  }

  private static void titleWord(String item, StringBuilder out) {
    if (!item.isEmpty()) {
      int first = item.codePointAt(0);
      out.append(PyStrings.upper(Character.toString(first)))
          .append(PyStrings.lower(item.substring(Character.charCount(first))));
    }
  }

  private static Object indent(Object v, CallArgs a, Interpreter in) {
    a.accept(3, "width", "first", "blank");
    Object width = a.get(0, "width", 4L);
    String indention = width instanceof String w ? w : " ".repeat((int) Math.max(0, Math.min(Py.MAX_STRING,
        a.integer(0, "width", 4L))));
    boolean first = a.bool(1, "first", false);
    boolean blank = a.bool(2, "blank", false);
    String s = Py.str(v) + "\n";
    List<Object> lines = PyStrings.splitlines(s, false);
    StringBuilder out = new StringBuilder();
    if (blank) {
      for (int i = 0; i < lines.size(); i++) {
        out.append(i == 0 ? "" : "\n" + indention).append(lines.get(i));
        Py.checkLength(out.length());
      }
    } else {
      out.append(lines.get(0));
      for (int i = 1; i < lines.size(); i++) {
        String line = (String) lines.get(i);
        out.append('\n').append(line.isEmpty() ? "" : indention).append(line);
        Py.checkLength(out.length());
      }
    }
    return first ? indention + out : out.toString();
  }

  private static Object truncate(Object v, CallArgs a, Interpreter in) {
    a.accept(4, "length", "killwords", "end", "leeway");
    String s = Py.str(v);
    long length = a.integer(0, "length", 255L);
    boolean killwords = a.bool(1, "killwords", false);
    String end = a.string(2, "end", "...");
    long leeway = a.integer(3, "leeway", 5L);
    if (length < Py.len(end) || leeway < 0) {
      throw JinjaException.runtime("truncate: expected length >= " + Py.len(end) + " and leeway >= 0");
    }
    if (Py.len(s) <= length + leeway) {
      return s;
    }
    int[] cps = PyStrings.codePoints(s);
    String head = PyStrings.fromCodePoints(cps, 0, (int) (length - Py.len(end)));
    if (killwords) {
      return head + end;
    }
    return PyStrings.rsplit(head, " ", 1).get(0) + end;
  }

  private static Object join(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "d", "attribute");
    String separator = Py.str(a.get(0, "d", ""));
    Object attribute = a.get(1, "attribute", null);
    StringBuilder out = new StringBuilder();
    boolean firstItem = true;
    for (Object item : Py.iterate(v)) {
      if (!firstItem) {
        out.append(separator);
      }
      firstItem = false;
      out.append(Py.str(attribute == null ? item : itemAttribute(item, attribute, null)));
      Py.checkLength(out.length());
    }
    return out.toString();
  }

  // ---- sequences ----

  private static Object first(Object v) {
    List<Object> items = Py.iterate(v);
    return items.isEmpty() ? Undefined.hint("No first item, sequence was empty.") : items.get(0);
  }

  private static Object last(Object v) {
    List<Object> items = Py.iterate(v);
    return items.isEmpty() ? Undefined.hint("No last item, sequence was empty.") : items.get(items.size() - 1);
  }

  private static Object reverse(Object v) {
    if (v instanceof String s) {
      return new StringBuilder(s).reverse().toString();
    }
    List<Object> items = Py.iterate(v);
    java.util.Collections.reverse(items);
    return items;
  }

  private static Object items(Object v) {
    if (v instanceof Undefined) {
      return new ArrayList<>();
    }
    if (!(v instanceof Map<?, ?> m)) {
      throw JinjaException.type("Can only get item pairs from a mapping.");
    }
    List<Object> out = new ArrayList<>(m.size());
    m.forEach((k, val) -> out.add(PyTuple.of(k, val)));
    return out;
  }

  private static Object dictsort(Object v, CallArgs a, Interpreter in) {
    a.accept(3, "case_sensitive", "by", "reverse");
    boolean caseSensitive = a.bool(0, "case_sensitive", false);
    String by = a.string(1, "by", "key");
    boolean reverse = a.bool(2, "reverse", false);
    if (!by.equals("key") && !by.equals("value")) {
      throw JinjaException.runtime("You can only sort by either \"key\" or \"value\"");
    }
    if (!(v instanceof Map<?, ?>)) {
      throw JinjaException.type("dictsort: " + Py.typeName(v) + " object has no attribute 'items'");
    }
    @SuppressWarnings("unchecked")
    List<Object> pairs = (List<Object>) items(v);
    int position = by.equals("key") ? 0 : 1;
    sorted(pairs, item -> caseKey(((PyTuple) item).get(position), caseSensitive), reverse);
    return pairs;
  }

  private static Object sort(Object v, CallArgs a, Interpreter in) {
    a.accept(3, "reverse", "case_sensitive", "attribute");
    boolean reverse = a.bool(0, "reverse", false);
    boolean caseSensitive = a.bool(1, "case_sensitive", false);
    Object attribute = a.get(2, "attribute", null);
    List<Object> items = Py.iterate(v);
    List<Object> paths = attribute instanceof String s ? new ArrayList<>(List.of(s.split(",", -1))) : null;
    sorted(items, item -> {
      if (paths == null) {
        return caseKey(attribute == null ? item : itemAttribute(item, attribute, null), caseSensitive);
      }
      List<Object> key = new ArrayList<>();
      for (Object path : paths) {
        key.add(caseKey(itemAttribute(item, path, null), caseSensitive));
      }
      return paths.size() == 1 ? key.get(0) : new PyTuple(key);
    }, reverse);
    return items;
  }

  private static Object unique(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "case_sensitive", "attribute");
    boolean caseSensitive = a.bool(0, "case_sensitive", false);
    Object attribute = a.get(1, "attribute", null);
    List<Object> out = new ArrayList<>();
    List<Object> seen = new ArrayList<>();
    for (Object item : Py.iterate(v)) {
      Object key = caseKey(attribute == null ? item : itemAttribute(item, attribute, null), caseSensitive);
      Dicts.requireHashable(key);
      if (seen.stream().noneMatch(s -> Py.eq(s, key))) {
        seen.add(key);
        out.add(item);
      }
    }
    return out;
  }

  private static Object minMax(Object v, CallArgs a, boolean max) {
    a.accept(2, "case_sensitive", "attribute");
    boolean caseSensitive = a.bool(0, "case_sensitive", false);
    Object attribute = a.get(1, "attribute", null);
    List<Object> items = Py.iterate(v);
    if (items.isEmpty()) {
      return Undefined.hint("No aggregated item, sequence was empty.");
    }
    Object best = items.get(0);
    Object bestKey = caseKey(attribute == null ? best : itemAttribute(best, attribute, null), caseSensitive);
    for (Object item : items.subList(1, items.size())) {
      Object key = caseKey(attribute == null ? item : itemAttribute(item, attribute, null), caseSensitive);
      int c = Py.compare(key, bestKey, max ? ">" : "<");
      if (max ? c == 1 : c == -1) {
        best = item;
        bestKey = key;
      }
    }
    return best;
  }

  private static Object sum(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "attribute", "start");
    Object attribute = a.get(0, "attribute", null);
    Object total = a.get(1, "start", 0L);
    for (Object item : Py.iterate(v)) {
      total = Py.add(total, attribute == null ? item : itemAttribute(item, attribute, null));
    }
    return total;
  }

  private static Object batch(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "linecount", "fill_with");
    long size = a.integer(0, "linecount", CallArgs.REQUIRED);
    Object fill = a.get(1, "fill_with", null);
    if (size <= 0) {
      throw JinjaException.value("batch size must be positive");
    }
    List<Object> out = new ArrayList<>();
    List<Object> row = new ArrayList<>();
    for (Object item : Py.iterate(v)) {
      if (row.size() == size) {
        out.add(row);
        row = new ArrayList<>();
      }
      row.add(item);
    }
    if (!row.isEmpty()) {
      while (fill != null && row.size() < size) {
        row.add(fill);
      }
      out.add(row);
    }
    return out;
  }

  private static Object slice(Object v, CallArgs a, Interpreter in) {
    a.accept(2, "slices", "fill_with");
    long slices = a.integer(0, "slices", CallArgs.REQUIRED);
    Object fill = a.get(1, "fill_with", null);
    if (slices <= 0 || slices > Globals.MAX_RANGE) {
      throw JinjaException.value("slices must be between 1 and " + Globals.MAX_RANGE);
    }
    List<Object> seq = Py.iterate(v);
    int length = seq.size();
    int perSlice = (int) (length / slices);
    int withExtra = (int) (length % slices);
    int offset = 0;
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < slices; i++) {
      int start = offset + i * perSlice;
      if (i < withExtra) {
        offset++;
      }
      int end = offset + (i + 1) * perSlice;
      List<Object> part = new ArrayList<>(seq.subList(start, end));
      if (fill != null && i >= withExtra) {
        part.add(fill);
      }
      out.add(part);
    }
    return out;
  }

  private static Object map(Object v, CallArgs a, Interpreter in) {
    List<Object> out = new ArrayList<>();
    if (a.positional.isEmpty() && a.keywords.containsKey("attribute")) {
      a.accept(0, "attribute", "default");
      Object attribute = a.keywords.get("attribute");
      Object fallback = a.keywords.get("default");
      for (Object item : Py.iterate(v)) {
        out.add(itemAttribute(item, attribute, fallback));
      }
      return out;
    }
    if (a.positional.isEmpty() || !(a.positional.get(0) instanceof String name)) {
      throw JinjaException.runtime("map requires a filter argument");
    }
    if (!exists(name)) {
      throw JinjaException.runtime("No filter named " + Py.repr(name) + ".");
    }
    CallArgs rest = new CallArgs(name, a.positional.subList(1, a.positional.size()), a.keywords);
    for (Object item : Py.iterate(v)) {
      out.add(apply(name, item, rest, in));
    }
    return out;
  }

  private static Object select(Object v, CallArgs a, Interpreter in, boolean keep, boolean byAttribute) {
    int offset = 0;
    Object attribute = null;
    if (byAttribute) {
      if (a.positional.isEmpty()) {
        throw JinjaException.runtime("Missing parameter for attribute name");
      }
      attribute = a.positional.get(0);
      offset = 1;
    }
    String test = a.positional.size() > offset ? Py.str(a.positional.get(offset)) : null;
    if (test != null && !Tests.exists(test)) {
      throw JinjaException.runtime("No test named " + Py.repr(test) + ".");
    }
    CallArgs rest = new CallArgs(test, a.positional.subList(Math.min(a.positional.size(), offset + 1),
        a.positional.size()), a.keywords);
    List<Object> out = new ArrayList<>();
    for (Object item : Py.iterate(v)) {
      Object x = byAttribute ? itemAttribute(item, attribute, null) : item;
      boolean passes = test == null ? Py.truthy(x) : Py.truthy(Tests.apply(test, x, rest, in));
      if (passes == keep) {
        out.add(item);
      }
    }
    return out;
  }

  // ---- helpers ----

  /** Jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0; a missing value becomes {@code fallback}. */
  static Object itemAttribute(Object item, Object attribute, Object fallback) {
    List<Object> parts = new ArrayList<>();
    if (attribute instanceof String s) {
      for (String part : s.split("\\.", -1)) {
        parts.add(!part.isEmpty() && part.chars().allMatch(Character::isDigit) ? Py.normalize(new BigInteger(part))
            : part);
      }
    } else {
      parts.add(attribute);
    }
    Object value = item;
    for (Object part : parts) {
      value = Attributes.getitem(value, part);
    }
    return fallback != null && value instanceof Undefined ? fallback : value;
  }

  private static Object caseKey(Object value, boolean caseSensitive) {
    return !caseSensitive && value instanceof String s ? PyStrings.lower(s) : value;
  }

  /** Python's sorted(): stable, by a key, with reverse keeping equal items in their order. */
  private static void sorted(List<Object> items, java.util.function.Function<Object, Object> key, boolean reverse) {
    List<Object> keys = new ArrayList<>(items.size());
    for (Object item : items) {
      keys.add(key.apply(item));
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      order.add(i);
    }
    Comparator<Integer> byKey = (x, y) -> {
      int c = Py.compare(keys.get(x), keys.get(y), "<");
      return c == 2 ? 0 : c;
    };
    order.sort(reverse ? byKey.reversed() : byKey);
    List<Object> copy = new ArrayList<>(items);
    for (int i = 0; i < order.size(); i++) {
      items.set(i, copy.get(order.get(i)));
    }
  }
}
