package dev.candor.engine.tokenizer.jinja;

import dev.candor.engine.tokenizer.jinja.Node.Args;
import dev.candor.engine.tokenizer.jinja.Node.Expr;
import dev.candor.engine.tokenizer.jinja.Node.Stmt;
import java.util.List;

/**
 * Jinja2's compile-time check of filter and test names: an unknown name is a syntax error, except inside an if (its
 * test and branches) or an inline if-expression, where Jinja2 3.1 defers it to run time, so that {@code {% if 'f' is
 * filter %}{{ x | f }}{% endif %}} works; a for, macro, call, filter, with or block set inside an if starts a new
 * frame, where names are checked again.
 */
final class Validator {
  private Validator() {}

  static void check(List<Stmt> body) {
    statements(body, false);
  }

  private static void statements(List<Stmt> body, boolean soft) {
    for (Stmt s : body) {
      statement(s, soft);
    }
  }

  private static void statement(Stmt s, boolean soft) {
    switch (s) {
      case Node.Data d -> { }
      case Node.Output o -> expr(o.value(), soft);
      case Node.If first -> {
        Node.If i = first;
        while (true) { // an elif chain, walked in a loop as the interpreter walks it
          expr(i.test(), true);
          statements(i.body(), true);
          if (i.orElse().size() == 1 && i.orElse().get(0) instanceof Node.If elif) {
            i = elif;
          } else {
            statements(i.orElse(), true);
            break;
          }
        }
      }
      case Node.For f -> {
        expr(f.iter(), soft);
        if (f.filter() != null) {
          expr(f.filter(), false);
        }
        statements(f.body(), false);
        statements(f.orElse(), false);
      }
      case Node.Assign a -> expr(a.value(), soft);
      case Node.AssignBlock a -> {
        if (a.filter() != null) {
          expr(a.filter(), false);
        }
        statements(a.body(), false);
      }
      case Node.Macro m -> {
        params(m.params());
        statements(m.body(), false);
      }
      case Node.CallBlock c -> {
        expr(c.call(), soft);
        params(c.params());
        statements(c.body(), false);
      }
      case Node.FilterBlock f -> {
        expr(f.filter(), false);
        statements(f.body(), false);
      }
      case Node.With w -> {
        w.values().forEach(v -> expr(v, soft));
        statements(w.body(), false);
      }
      case Node.Scoped sc -> statements(sc.body(), false);
      case Node.Break b -> { }
      case Node.Continue c -> { }
    }
  }

  private static void params(List<Node.Param> params) {
    for (Node.Param p : params) {
      if (p.defaultValue() != null) {
        expr(p.defaultValue(), false);
      }
    }
  }

  private static void expr(Expr e, boolean soft) {
    switch (e) {
      case null -> { }
      case Node.Const c -> { }
      case Node.Name n -> { }
      case Node.BodyValue b -> { }
      case Node.ListExpr l -> l.items().forEach(x -> expr(x, soft));
      case Node.TupleExpr t -> t.items().forEach(x -> expr(x, soft));
      case Node.DictExpr d -> {
        d.keys().forEach(x -> expr(x, soft));
        d.values().forEach(x -> expr(x, soft));
      }
      case Node.GetAttr g -> expr(g.obj(), soft);
      case Node.GetItem g -> {
        expr(g.obj(), soft);
        expr(g.key(), soft);
      }
      case Node.Slice sl -> {
        expr(sl.start(), soft);
        expr(sl.stop(), soft);
        expr(sl.step(), soft);
      }
      case Node.Call c -> {
        expr(c.function(), soft);
        args(c.args(), soft);
      }
      case Node.Filter f -> {
        if (!soft && !Filters.exists(f.name())) {
          throw JinjaException.syntax("No filter named '" + f.name() + "'.", f.line());
        }
        expr(f.value(), soft);
        args(f.args(), soft);
      }
      case Node.Test t -> {
        if (!soft && !Tests.exists(t.name())) {
          throw JinjaException.syntax("No test named '" + t.name() + "'.", t.line());
        }
        expr(t.value(), soft);
        args(t.args(), soft);
      }
      case Node.Not n -> expr(n.value(), soft);
      case Node.Negate n -> expr(n.value(), soft);
      case Node.Plus p -> expr(p.value(), soft);
      case Node.Binary b -> {
        expr(b.left(), soft);
        expr(b.right(), soft);
      }
      case Node.Concat c -> c.items().forEach(x -> expr(x, soft));
      case Node.Compare c -> {
        expr(c.first(), soft);
        c.rest().forEach(x -> expr(x, soft));
      }
      case Node.CondExpr c -> {
        expr(c.test(), true);
        expr(c.then(), true);
        expr(c.orElse(), true);
      }
    }
  }

  private static void args(Args a, boolean soft) {
    a.positional().forEach(x -> expr(x, soft));
    a.keywords().forEach(k -> expr(k.value(), soft));
    expr(a.starArgs(), soft);
    expr(a.starKwargs(), soft);
  }
}
