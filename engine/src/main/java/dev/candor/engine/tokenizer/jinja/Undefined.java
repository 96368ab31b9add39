package dev.candor.engine.tokenizer.jinja;

/**
 * Jinja2's default {@code Undefined}: what a missing variable, key, attribute or index evaluates to. It prints as
 * nothing, is false, empty and iterable, equals only another undefined, and fails with an UndefinedError as soon as it
 * is used for more (arithmetic, attribute access, a call). The sandbox's "unsafe" attribute is one too, failing with a
 * SecurityError instead.
 */
final class Undefined {
  private final String message;
  private final JinjaException.Kind kind;

  private Undefined(String message, JinjaException.Kind kind) {
    this.message = message;
    this.kind = kind;
  }

  /** A variable that is not defined: "'name' is undefined". */
  static Undefined name(String name) {
    return new Undefined(Py.repr(name) + " is undefined", JinjaException.Kind.UNDEFINED);
  }

  /** A missing attribute or key of {@code obj}: "'dict object' has no attribute 'x'". */
  static Undefined attribute(Object obj, Object name) {
    String owner = obj == null ? "None" : Py.typeName(obj) + " object";
    String what = name instanceof String s ? "has no attribute " + Py.repr(s) : "has no element " + Py.repr(name);
    return new Undefined(Py.repr(owner) + " " + what, JinjaException.Kind.UNDEFINED);
  }

  /** An undefined with its own message (an inline if without else, an empty sequence's first item). */
  static Undefined hint(String message) {
    return new Undefined(message, JinjaException.Kind.UNDEFINED);
  }

  /** The sandbox's refusal of a mutating method or private attribute. */
  static Undefined unsafe(Object obj, String attribute) {
    return new Undefined("access to attribute " + Py.repr(attribute) + " of " + Py.repr(Py.typeName(obj))
        + " object is unsafe.", JinjaException.Kind.SECURITY);
  }

  /** The error raised when this value is used for more than being missing. */
  JinjaException error() {
    return new JinjaException(kind, message);
  }

  @Override
  public String toString() {
    return "";
  }
}
