package dev.candor.engine.tokenizer.jinja;

import java.util.List;

/**
 * The template's syntax tree: statements ({@link Stmt}, each with its source line for error messages) and
 * expressions ({@link Expr}), named after Jinja2's own nodes ({@code jinja2.nodes}) so the two can be read side by
 * side. The interpreter switches over these sealed types; the compiler checks that every case is handled.
 */
final class Node {
  private Node() {}

  /** Positional and keyword arguments of a call, filter or test, with {@code *args} / {@code **kwargs}. */
  record Args(List<Expr> positional, List<Keyword> keywords, Expr starArgs, Expr starKwargs) {
    static final Args NONE = new Args(List.of(), List.of(), null, null);
  }

  record Keyword(String name, Expr value) {}

  // ---- statements ----

  sealed interface Stmt {
    int line();
  }

  /** Template text between tags, after whitespace control. */
  record Data(String text, int line) implements Stmt {}

  /** {@code {{ expr }}} and {@code {% print expr %}}. */
  record Output(Expr value, int line) implements Stmt {}

  /** {@code {% if %}}; an elif is an If in {@code orElse}. */
  record If(Expr test, List<Stmt> body, List<Stmt> orElse, int line) implements Stmt {}

  /** {@code {% for target in iter [if filter] [recursive] %}body{% else %}orElse{% endfor %}}. */
  record For(Target target, Expr iter, Expr filter, boolean recursive, List<Stmt> body, List<Stmt> orElse, int line)
      implements Stmt {}

  record Assign(Target target, Expr value, int line) implements Stmt {}

  /** {@code {% set target [| filters] %}body{% endset %}}; {@code filter} applies to the rendered body, or is null. */
  record AssignBlock(Target target, Expr filter, List<Stmt> body, int line) implements Stmt {}

  record Macro(String name, List<Param> params, List<Stmt> body, int line) implements Stmt {}

  /** {@code {% call(params) macro(args) %}body{% endcall %}}: {@code call} gets the body as {@code caller}. */
  record CallBlock(Expr call, List<Param> params, List<Stmt> body, int line) implements Stmt {}

  /** {@code {% filter f %}body{% endfilter %}}: {@code filter} is a chain whose innermost value is {@link BodyValue}. */
  record FilterBlock(Expr filter, List<Stmt> body, int line) implements Stmt {}

  record With(List<Target> targets, List<Expr> values, List<Stmt> body, int line) implements Stmt {}

  /** A body rendered in its own scope: Hugging Face's {@code {% generation %}} tag. */
  record Scoped(List<Stmt> body, int line) implements Stmt {}

  record Break(int line) implements Stmt {}

  record Continue(int line) implements Stmt {}

  record Param(String name, Expr defaultValue) {}

  // ---- assignment targets ----

  sealed interface Target {}

  record NameTarget(String name) implements Target {}

  record TupleTarget(List<Target> items) implements Target {}

  /** {@code ns.attr}: only a namespace() object can be assigned to. */
  record NamespaceTarget(String namespace, String attribute) implements Target {}

  // ---- expressions ----

  sealed interface Expr {}

  record Const(Object value) implements Expr {}

  record Name(String name) implements Expr {}

  record ListExpr(List<Expr> items) implements Expr {}

  record TupleExpr(List<Expr> items) implements Expr {}

  record DictExpr(List<Expr> keys, List<Expr> values) implements Expr {}

  /** {@code obj.attribute}: Python attribute first, then item (Jinja2's environment.getattr). */
  record GetAttr(Expr obj, String attribute) implements Expr {}

  /** {@code obj[key]}: item first, then attribute (Jinja2's environment.getitem). */
  record GetItem(Expr obj, Expr key) implements Expr {}

  /** {@code start:stop:step} inside brackets; parts may be null. */
  record Slice(Expr start, Expr stop, Expr step) implements Expr {}

  record Call(Expr function, Args args) implements Expr {}

  /** {@code value | name(args)}. */
  record Filter(Expr value, String name, Args args, int line) implements Expr {}

  /** {@code value is [not] name(args)} (the "not" is a {@link Not} around it). */
  record Test(Expr value, String name, Args args, int line) implements Expr {}

  /** The rendered body a {@code {% filter %}} or {@code {% set %}} block's filters apply to. */
  record BodyValue() implements Expr {}

  record Not(Expr value) implements Expr {}

  record Negate(Expr value) implements Expr {}

  record Plus(Expr value) implements Expr {}

  enum BinaryOp { ADD, SUB, MUL, DIV, FLOORDIV, MOD, POW, AND, OR }

  record Binary(BinaryOp op, Expr left, Expr right) implements Expr {}

  /** {@code a ~ b ~ c}: the str() of each, joined. */
  record Concat(List<Expr> items) implements Expr {}

  enum CompareOp { EQ, NE, LT, LE, GT, GE, IN, NOT_IN }

  /** {@code a < b <= c}: Python's chained comparison. */
  record Compare(Expr first, List<CompareOp> ops, List<Expr> rest) implements Expr {}

  /** {@code then if test else orElse}; without else, a false test gives undefined. */
  record CondExpr(Expr test, Expr then, Expr orElse) implements Expr {}
}
