package dev.candor.engine.tokenizer.jinja;

import java.util.List;
import java.util.Set;

/**
 * The methods of a Python {@code str} a template may call ({@code content.startswith('<think>')},
 * {@code text.split('</think>')[-1].lstrip('\n')}), with CPython's argument rules and results.
 */
final class StrMethods {
  static final Set<String> NAMES = Set.of("capitalize", "casefold", "center", "count", "endswith", "find", "format",
      "index", "isalnum", "isalpha", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper",
      "join", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
      "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
      "upper", "zfill");

  private StrMethods() {}

  static Object call(String s, String name, CallArgs a) {
    return switch (name) {
      case "startswith", "endswith" -> affix(s, a, name.equals("endswith"));
      case "strip", "lstrip", "rstrip" -> {
        String chars = a.accept(1).string(0, null, null);
        yield name.equals("strip") ? PyStrings.strip(s, chars) : name.equals("lstrip") ? PyStrings.lstrip(s, chars)
            : PyStrings.rstrip(s, chars);
      }
      case "split", "rsplit" -> {
        a.accept(2, "sep", "maxsplit");
        String sep = a.string(0, "sep", null);
        long max = a.integer(1, "maxsplit", -1L);
        yield name.equals("split") ? PyStrings.split(s, sep, max) : PyStrings.rsplit(s, sep, max);
      }
      case "splitlines" -> PyStrings.splitlines(s, a.accept(1, "keepends").bool(0, "keepends", false));
      case "replace" -> {
        a.accept(3, "count");
        yield PyStrings.replace(s, a.string(0, null, CallArgs.REQUIRED), a.string(1, null, CallArgs.REQUIRED),
            a.integer(2, "count", -1L));
      }
      case "find", "rfind", "index", "rindex" -> find(s, name, a);
      case "count" -> {
        a.accept(3);
        yield PyStrings.count(s, a.string(0, null, CallArgs.REQUIRED), a.integer(1, null, null),
            a.integer(2, null, null));
      }
      case "join" -> join(s, a.accept(1).get(0, null, CallArgs.REQUIRED));
      case "format" -> PyFormat.format(s, a.positional, a.keywords);
      case "center", "ljust", "rjust" -> {
        a.accept(2);
        yield PyStrings.pad(s, a.integer(0, null, CallArgs.REQUIRED), a.string(1, null, " "), name.charAt(0));
      }
      case "zfill" -> PyStrings.zfill(s, a.accept(1).integer(0, null, CallArgs.REQUIRED));
      case "partition", "rpartition" -> partition(s, a.accept(1).string(0, null, CallArgs.REQUIRED),
          name.equals("rpartition"));
      case "removeprefix" -> {
        String p = a.accept(1).string(0, null, CallArgs.REQUIRED);
        yield s.startsWith(p) ? s.substring(p.length()) : s;
      }
      case "removesuffix" -> {
        String p = a.accept(1).string(0, null, CallArgs.REQUIRED);
        yield !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s;
      }
      default -> noArguments(s, name, a.accept(0));
    };
  }

  private static Object noArguments(String s, String name, CallArgs a) {
    return switch (name) {
      case "lower", "casefold" -> PyStrings.lower(s);
      case "upper" -> PyStrings.upper(s);
      case "title" -> PyStrings.title(s);
      case "capitalize" -> PyStrings.capitalize(s);
      case "swapcase" -> PyStrings.swapcase(s);
      case "isalpha" -> PyStrings.all(s, Character::isLetter);
      case "isalnum" -> PyStrings.all(s, Character::isLetterOrDigit);
      case "isdigit", "isdecimal" -> PyStrings.all(s, Character::isDigit);
      case "isnumeric" -> PyStrings.all(s, c -> Character.isDigit(c) || Character.getNumericValue(c) >= 0);
      case "isspace" -> PyStrings.all(s, PyStrings::isSpace);
      case "islower" -> PyStrings.isLower(s);
      case "isupper" -> PyStrings.isUpper(s);
      case "istitle" -> !s.isEmpty() && PyStrings.title(s).equals(s) && s.codePoints().anyMatch(PyStrings::isCased);
      default -> throw new IllegalStateException("str." + name + " is listed but not implemented");
    };
  }

  private static boolean affix(String s, CallArgs a, boolean suffix) {
    a.accept(3);
    Object affix = a.get(0, null, CallArgs.REQUIRED);
    Long start = a.integer(1, null, null);
    Long end = a.integer(2, null, null);
    if (affix instanceof PyTuple options) {
      for (Object o : options) {
        if (!(o instanceof String option)) {
          throw JinjaException.type("tuple for " + a.function + " must only contain str, not " + Py.typeName(o));
        }
        if (PyStrings.hasAffix(s, option, start, end, suffix)) {
          return true;
        }
      }
      return false;
    }
    if (!(affix instanceof String one)) {
      throw JinjaException.type(a.function.substring(4) + " first arg must be str or a tuple of str, not "
          + Py.typeName(affix));
    }
    return PyStrings.hasAffix(s, one, start, end, suffix);
  }

  private static long find(String s, String name, CallArgs a) {
    a.accept(3);
    long at = PyStrings.find(s, a.string(0, null, CallArgs.REQUIRED), a.integer(1, null, null),
        a.integer(2, null, null), name.startsWith("r"));
    if (at < 0 && name.endsWith("index")) {
      throw JinjaException.value("substring not found");
    }
    return at;
  }

  static String join(String separator, Object iterable) {
    List<Object> items = Py.iterate(iterable);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < items.size(); i++) {
      if (!(items.get(i) instanceof String item)) {
        throw JinjaException.type("sequence item " + i + ": expected str instance, " + Py.typeName(items.get(i))
            + " found");
      }
      if (i > 0) {
        out.append(separator);
      }
      out.append(item);
      Py.checkLength(out.length());
    }
    return out.toString();
  }

  private static PyTuple partition(String s, String sep, boolean fromRight) {
    if (sep.isEmpty()) {
      throw JinjaException.value("empty separator");
    }
    int at = fromRight ? s.lastIndexOf(sep) : s.indexOf(sep);
    if (at < 0) {
      return fromRight ? PyTuple.of("", "", s) : PyTuple.of(s, "", "");
    }
    return PyTuple.of(s.substring(0, at), sep, s.substring(at + sep.length()));
  }
}
