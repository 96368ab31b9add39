package dev.candor.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * Jinja2's {@code loop} inside a for loop: index, index0, revindex, revindex0, first, last, length, depth, depth0,
 * previtem, nextitem, cycle(...) and changed(...); a recursive loop is also callable ({@code loop(children)}).
 */
final class LoopContext implements PyCallable {
  /** Renders the loop's body again over another iterable, one level deeper (a recursive loop). */
  interface Recursion {
    String render(Object iterable, int depth0);
  }

  private final List<Object> items;
  private final int depth0;
  private final Recursion recursion;
  private Object lastChanged = Dicts.MISSING;
  int index0;

  LoopContext(List<Object> items, int depth0, Recursion recursion) {
    this.items = items;
    this.depth0 = depth0;
    this.recursion = recursion;
  }

  Object attribute(String name) {
    int length = items.size();
    return switch (name) {
      case "index" -> (long) index0 + 1;
      case "index0" -> (long) index0;
      case "revindex" -> (long) length - index0;
      case "revindex0" -> (long) length - index0 - 1;
      case "first" -> index0 == 0;
      case "last" -> index0 == length - 1;
      case "length" -> (long) length;
      case "depth" -> (long) depth0 + 1;
      case "depth0" -> (long) depth0;
      case "previtem" -> index0 > 0 ? items.get(index0 - 1) : Undefined.hint("there is no previous item");
      case "nextitem" -> index0 < length - 1 ? items.get(index0 + 1) : Undefined.hint("there is no next item");
      case "cycle" -> PyCallable.named("cycle", (args, kwargs) -> {
        if (args.isEmpty()) {
          throw JinjaException.type("no items for cycling given");
        }
        return args.get(index0 % args.size());
      });
      case "changed" -> PyCallable.named("changed", (args, kwargs) -> {
        PyTuple value = new PyTuple(args);
        if (lastChanged == Dicts.MISSING || !Py.eq(lastChanged, value)) {
          lastChanged = value;
          return true;
        }
        return false;
      });
      default -> Dicts.MISSING;
    };
  }

  @Override
  public Object call(List<Object> args, Map<String, Object> kwargs) {
    if (recursion == null) {
      throw JinjaException.type("Tried to call non recursive loop. Maybe you forgot the 'recursive' modifier.");
    }
    if (args.size() != 1 || !kwargs.isEmpty()) {
      throw JinjaException.type("loop() takes exactly one argument, the items to loop over");
    }
    return recursion.render(args.get(0), depth0 + 1);
  }

  @Override
  public String toString() {
    return "<LoopContext " + (index0 + 1) + "/" + items.size() + ">";
  }
}
