package dev.candor.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * A function a template can call: a global such as {@code range} or Hugging Face's {@code raise_exception}, a
 * method bound to a value ({@code message.content.startswith}), a macro. Arguments are Python values (see
 * {@link Template}); a failure is a {@link JinjaException}.
 */
@FunctionalInterface
public interface PyCallable {
  Object call(List<Object> args, Map<String, Object> kwargs);

  /** A named function, so that it prints as Python would print a built-in. */
  static PyCallable named(String name, PyCallable body) {
    return new Builtin(name, body);
  }

  /** A built-in function or bound method and the name it prints with. */
  record Builtin(String name, PyCallable body) implements PyCallable {
    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
      return body.call(args, kwargs);
    }

    @Override
    public String toString() {
      return "<built-in function " + name + ">";
    }
  }

  /** A method bound to its receiver, e.g. "startswith of str object". */
  record Method(String label, PyCallable body) implements PyCallable {
    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
      return body.call(args, kwargs);
    }

    @Override
    public String toString() {
      return "<built-in method " + label + ">";
    }
  }
}
