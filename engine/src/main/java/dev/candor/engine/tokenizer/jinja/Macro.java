package dev.candor.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * A defined {@code {% macro %}} (or a call block's {@code caller}): callable, it renders its body in a new scope
 * whose parent is the scope it was defined in, with its parameters bound, and returns the text.
 */
record Macro(Node.Macro definition, Scope closure, Interpreter interpreter) implements PyCallable {
  @Override
  public Object call(List<Object> args, Map<String, Object> kwargs) {
    return interpreter.callMacro(this, args, kwargs);
  }

  @Override
  public String toString() {
    return "<Macro " + Py.repr(definition.name()) + ">";
  }
}
