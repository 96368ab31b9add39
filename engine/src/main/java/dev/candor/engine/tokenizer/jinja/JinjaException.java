package dev.candor.engine.tokenizer.jinja;

/**
 * Every way a template can fail, as one exception with the Python exception Jinja2 would raise in its place
 * ({@link Kind}), so a caller can tell a template's syntax error from its {@code raise_exception} or from data it
 * cannot handle. Nothing else escapes {@link Template}: no Java exception type leaks from rendering untrusted input.
 */
public final class JinjaException extends RuntimeException {
  /** The Jinja2 / Python exception this stands for. */
  public enum Kind {
    /** TemplateSyntaxError: the template does not parse. */
    SYNTAX,
    /** UndefinedError: an undefined value was used as more than a missing value. */
    UNDEFINED,
    /** TypeError: an operation on the wrong types. */
    TYPE,
    /** ValueError, IndexError, ZeroDivisionError, OverflowError: the right types, a wrong value. */
    VALUE,
    /** SecurityError: the sandbox refused (a mutating method, a private attribute). */
    SECURITY,
    /** TemplateError raised by the template itself through {@code raise_exception(message)}. */
    RAISED,
    /** TemplateRuntimeError, or a limit of this engine (output size, work, nesting): never a hang or a crash. */
    RUNTIME
  }

  private final Kind kind;
  private final int line;

  public JinjaException(Kind kind, String message) {
    this(kind, message, 0);
  }

  public JinjaException(Kind kind, String message, int line) {
    super(message, null, false, false); // control flow for hostile input: no stack trace to fill
    this.kind = kind;
    this.line = line;
  }

  public Kind kind() {
    return kind;
  }

  /** The template line it happened on (1-based), or 0 when unknown. */
  public int line() {
    return line;
  }

  /** The same error, placed on {@code line} if it has no line yet. */
  JinjaException at(int line) {
    return this.line != 0 || line == 0 ? this : new JinjaException(kind, getMessage(), line);
  }

  static JinjaException syntax(String message, int line) {
    return new JinjaException(Kind.SYNTAX, message, line);
  }

  static JinjaException type(String message) {
    return new JinjaException(Kind.TYPE, message);
  }

  static JinjaException value(String message) {
    return new JinjaException(Kind.VALUE, message);
  }

  static JinjaException runtime(String message) {
    return new JinjaException(Kind.RUNTIME, message);
  }
}
