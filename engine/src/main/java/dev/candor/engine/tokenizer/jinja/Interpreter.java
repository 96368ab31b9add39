package dev.candor.engine.tokenizer.jinja;

import dev.candor.engine.tokenizer.jinja.Node.Expr;
import dev.candor.engine.tokenizer.jinja.Node.Stmt;
import dev.candor.engine.tokenizer.jinja.Node.Target;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Walks the syntax tree of one render: statements write to a buffer, expressions evaluate to Python values
 * ({@link Py}). Scoping is Jinja2's (see {@link Scope}). Every render has a budget, so that no template, however
 * hostile, runs long or grows large: statements and loop iterations ({@link #MAX_STEPS}), characters of strings it
 * builds ({@link #MAX_CHARS_BUILT}), output length ({@link Py#MAX_STRING}), macro nesting ({@link #MAX_CALL_DEPTH}).
 */
final class Interpreter {
  static final long MAX_STEPS = 5_000_000;
  static final long MAX_CHARS_BUILT = 1L << 30;
  static final int MAX_CALL_DEPTH = 64;

  /** What a statement tells the loop around it. */
  enum Flow { NORMAL, BREAK, CONTINUE }

  private long steps;
  private long charsBuilt;
  private int callDepth;

  // ---- statements ----

  String render(List<Stmt> body, Scope scope) {
    StringBuilder out = new StringBuilder();
    run(body, scope, out);
    return out.toString();
  }

  Flow run(List<Stmt> body, Scope scope, StringBuilder out) {
    for (Stmt s : body) {
      Flow flow;
      try {
        flow = exec(s, scope, out);
      } catch (JinjaException e) {
        throw e.at(s.line());
      }
      if (flow != Flow.NORMAL) {
        return flow;
      }
    }
    return Flow.NORMAL;
  }

  private Flow exec(Stmt s, Scope scope, StringBuilder out) {
    step();
    switch (s) {
      case Node.Data d -> write(out, d.text());
      case Node.Output o -> write(out, Py.str(eval(o.value(), scope)));
      case Node.If i -> {
        return execIf(i, scope, out);
      }
      case Node.For f -> loop(f, eval(f.iter(), scope), scope, out, 0);
      case Node.Assign a -> assign(a.target(), eval(a.value(), scope), scope);
      case Node.AssignBlock a -> {
        String body = render(a.body(), new Scope(scope));
        assign(a.target(), a.filter() == null ? body : evalFilterChain(a.filter(), body, scope), scope);
      }
      case Node.Macro m -> scope.set(m.name(), new Macro(m, scope, this));
      case Node.CallBlock c -> write(out, Py.str(callBlock(c, scope)));
      case Node.FilterBlock f -> write(out, Py.str(evalFilterChain(f.filter(), render(f.body(), new Scope(scope)),
          scope)));
      case Node.With w -> {
        return with(w, scope, out);
      }
      case Node.Scoped sc -> {
        return run(sc.body(), new Scope(scope), out);
      }
      case Node.Break b -> {
        return Flow.BREAK;
      }
      case Node.Continue c -> {
        return Flow.CONTINUE;
      }
    }
    return Flow.NORMAL;
  }

  /** An if and its elif chain, walked in a loop (a chain of a thousand elifs must not deepen the stack). */
  private Flow execIf(Node.If first, Scope scope, StringBuilder out) {
    Node.If node = first;
    while (true) {
      if (Py.truthy(eval(node.test(), scope))) {
        return run(node.body(), scope, out);
      }
      if (node.orElse().size() == 1 && node.orElse().get(0) instanceof Node.If elif) {
        step();
        node = elif;
        continue;
      }
      return run(node.orElse(), scope, out);
    }
  }

  /** One for loop over {@code iterable} (a recursive loop's nested call comes back here one level deeper). */
  private void loop(Node.For f, Object iterable, Scope scope, StringBuilder out, int depth0) {
    List<Object> items = Py.iterate(iterable);
    if (f.filter() != null) {
      List<Object> kept = new ArrayList<>();
      for (Object item : items) {
        step();
        Scope s = new Scope(scope);
        assign(f.target(), item, s);
        if (Py.truthy(eval(f.filter(), s))) {
          kept.add(item);
        }
      }
      items = kept;
    }
    if (items.isEmpty()) {
      run(f.orElse(), new Scope(scope), out);
      return;
    }
    LoopContext context = new LoopContext(items, depth0, !f.recursive() ? null : (nested, depth) -> {
      StringBuilder sub = new StringBuilder();
      enterCall();
      try {
        loop(f, nested, scope, sub, depth);
      } finally {
        callDepth--;
      }
      return sub.toString();
    });
    for (int i = 0; i < items.size(); i++) {
      step();
      context.index0 = i;
      Scope s = new Scope(scope);
      assign(f.target(), items.get(i), s);
      s.set("loop", context);
      if (run(f.body(), s, out) == Flow.BREAK) {
        break;
      }
    }
  }

  private Flow with(Node.With w, Scope scope, StringBuilder out) {
    List<Object> values = new ArrayList<>();
    for (Expr e : w.values()) {
      values.add(eval(e, scope));
    }
    Scope inner = new Scope(scope);
    for (int i = 0; i < values.size(); i++) {
      assign(w.targets().get(i), values.get(i), inner);
    }
    return run(w.body(), inner, out);
  }

  private void assign(Target target, Object value, Scope scope) {
    switch (target) {
      case Node.NameTarget n -> scope.set(n.name(), value);
      case Node.TupleTarget t -> {
        if (!(value instanceof List<?>) && !(value instanceof String) && !(value instanceof Map<?, ?>)) {
          throw JinjaException.type("cannot unpack non-iterable " + Py.typeName(value) + " object");
        }
        List<Object> items = Py.iterate(value);
        if (items.size() != t.items().size()) {
          throw JinjaException.value(items.size() < t.items().size()
              ? "not enough values to unpack (expected " + t.items().size() + ", got " + items.size() + ")"
              : "too many values to unpack (expected " + t.items().size() + ")");
        }
        for (int i = 0; i < items.size(); i++) {
          assign(t.items().get(i), items.get(i), scope);
        }
      }
      case Node.NamespaceTarget ns -> {
        if (!(scope.lookup(ns.namespace()) instanceof Namespace namespace)) {
          throw JinjaException.runtime("cannot assign attribute on non-namespace object");
        }
        namespace.attributes.put(ns.attribute(), value);
      }
    }
  }

  // ---- macros ----

  Object callMacro(Macro macro, List<Object> args, Map<String, Object> kwargs) {
    enterCall();
    try {
      Scope s = new Scope(macro.closure());
      List<Node.Param> params = macro.definition().params();
      Map<String, Object> extraKwargs = new LinkedHashMap<>(kwargs);
      for (int i = 0; i < params.size(); i++) {
        Node.Param p = params.get(i);
        if (i < args.size()) {
          if (extraKwargs.containsKey(p.name())) {
            throw JinjaException.type("macro " + Py.repr(macro.definition().name())
                + " got multiple values for argument " + Py.repr(p.name()));
          }
          s.set(p.name(), args.get(i));
        } else if (extraKwargs.containsKey(p.name())) {
          s.set(p.name(), extraKwargs.remove(p.name()));
        } else {
          s.set(p.name(), p.defaultValue() != null ? eval(p.defaultValue(), s)
              : Undefined.hint("parameter " + Py.repr(p.name()) + " was not provided"));
        }
      }
      Object caller = extraKwargs.remove("caller");
      s.set("caller", caller != null ? caller : Undefined.name("caller"));
      s.set("varargs", new PyTuple(args.size() > params.size() ? args.subList(params.size(), args.size()) : List.of()));
      s.set("kwargs", new LinkedHashMap<Object, Object>(extraKwargs));
      return render(macro.definition().body(), s);
    } finally {
      callDepth--;
    }
  }

  private Object callBlock(Node.CallBlock c, Scope scope) {
    Node.Macro body = new Node.Macro("caller", c.params(), c.body(), c.line());
    Node.Call call = (Node.Call) c.call();
    Object function = eval(call.function(), scope);
    CallArgs args = evalArgs("call", call.args(), scope);
    Map<String, Object> kwargs = new LinkedHashMap<>(args.keywords);
    kwargs.put("caller", new Macro(body, scope, this));
    return callValue(function, args.positional, kwargs);
  }

  private void enterCall() {
    if (++callDepth > MAX_CALL_DEPTH) {
      callDepth--;
      throw JinjaException.runtime("maximum recursion depth exceeded (" + MAX_CALL_DEPTH + " nested macro calls)");
    }
  }

  // ---- expressions ----

  Object eval(Expr e, Scope scope) {
    return switch (e) {
      case Node.Const c -> c.value();
      case Node.Name n -> {
        Object v = scope.lookup(n.name());
        yield v == Scope.MISSING ? Undefined.name(n.name()) : v;
      }
      case Node.ListExpr l -> evalAll(l.items(), scope);
      case Node.TupleExpr t -> new PyTuple(evalAll(t.items(), scope));
      case Node.DictExpr d -> dict(d, scope);
      case Node.GetAttr g -> Attributes.getattr(eval(g.obj(), scope), g.attribute());
      case Node.GetItem g -> Attributes.getitem(eval(g.obj(), scope), g.key() instanceof Node.Slice sl
          ? new PySlice(evalOrNull(sl.start(), scope), evalOrNull(sl.stop(), scope), evalOrNull(sl.step(), scope))
          : eval(g.key(), scope));
      case Node.Slice sl -> throw JinjaException.syntax("a slice outside brackets", 0);
      case Node.Call c -> built(callValue(eval(c.function(), scope), evalArgs("call", c.args(), scope)));
      case Node.Filter f -> built(Filters.apply(f.name(), eval(f.value(), scope), evalArgs(f.name(), f.args(), scope),
          this));
      case Node.Test t -> Tests.apply(t.name(), eval(t.value(), scope), evalArgs(t.name(), t.args(), scope), this);
      case Node.BodyValue b -> throw JinjaException.runtime("a filter block's value outside its block");
      case Node.Not n -> !Py.truthy(eval(n.value(), scope));
      case Node.Negate n -> Py.negate(eval(n.value(), scope));
      case Node.Plus p -> Py.plus(eval(p.value(), scope));
      case Node.Binary b -> binary(b, scope);
      case Node.Concat c -> concat(c, scope);
      case Node.Compare c -> compare(c, scope);
      case Node.CondExpr c -> Py.truthy(eval(c.test(), scope)) ? eval(c.then(), scope)
          : c.orElse() != null ? eval(c.orElse(), scope)
          : Undefined.hint("the inline if-expression evaluated to false and no else section was defined.");
    };
  }

  private Object evalOrNull(Expr e, Scope scope) {
    return e == null ? null : eval(e, scope);
  }

  private List<Object> evalAll(List<Expr> items, Scope scope) {
    List<Object> out = new ArrayList<>(items.size());
    for (Expr item : items) {
      out.add(eval(item, scope));
    }
    return out;
  }

  private Map<Object, Object> dict(Node.DictExpr d, Scope scope) {
    Map<Object, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < d.keys().size(); i++) {
      Object key = eval(d.keys().get(i), scope);
      Dicts.put(out, key, eval(d.values().get(i), scope));
    }
    return out;
  }

  CallArgs evalArgs(String function, Node.Args args, Scope scope) {
    List<Object> positional = evalAll(args.positional(), scope);
    Map<String, Object> keywords = new LinkedHashMap<>();
    for (Node.Keyword k : args.keywords()) {
      keywords.put(k.name(), eval(k.value(), scope));
    }
    if (args.starArgs() != null) {
      positional.addAll(Py.iterate(eval(args.starArgs(), scope)));
    }
    if (args.starKwargs() != null) {
      Object extra = eval(args.starKwargs(), scope);
      if (!(extra instanceof Map<?, ?> m)) {
        throw JinjaException.type("argument after ** must be a mapping, not " + Py.typeName(extra));
      }
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!(e.getKey() instanceof String k)) {
          throw JinjaException.type("keywords must be strings");
        }
        keywords.put(k, e.getValue());
      }
    }
    return new CallArgs(function, positional, keywords);
  }

  Object callValue(Object function, CallArgs args) {
    return callValue(function, args.positional, args.keywords);
  }

  private Object callValue(Object function, List<Object> positional, Map<String, Object> keywords) {
    step();
    if (function instanceof Undefined u) {
      throw u.error();
    }
    if (!(function instanceof PyCallable callable)) {
      throw JinjaException.type("'" + Py.typeName(function) + "' object is not callable");
    }
    return callable.call(positional, keywords);
  }

  /** A filter chain whose innermost value is a block's rendered body. */
  Object evalFilterChain(Expr chain, String body, Scope scope) {
    if (chain instanceof Node.Filter f) {
      Object value = f.value() instanceof Node.BodyValue ? body : evalFilterChain(f.value(), body, scope);
      return built(Filters.apply(f.name(), value, evalArgs(f.name(), f.args(), scope), this));
    }
    return body;
  }

  private Object binary(Node.Binary b, Scope scope) {
    Object left = eval(b.left(), scope);
    switch (b.op()) {
      case AND -> {
        return Py.truthy(left) ? eval(b.right(), scope) : left;
      }
      case OR -> {
        return Py.truthy(left) ? left : eval(b.right(), scope);
      }
      default -> { }
    }
    Object right = eval(b.right(), scope);
    return built(switch (b.op()) {
      case ADD -> Py.add(left, right);
      case SUB -> Py.sub(left, right);
      case MUL -> Py.mul(left, right);
      case DIV -> Py.truediv(left, right);
      case FLOORDIV -> Py.floordiv(left, right);
      case MOD -> Py.mod(left, right);
      case POW -> Py.pow(left, right);
      case AND, OR -> throw new IllegalStateException("handled above");
    });
  }

  private Object concat(Node.Concat c, Scope scope) {
    StringBuilder out = new StringBuilder();
    for (Expr item : c.items()) {
      out.append(Py.str(eval(item, scope)));
      Py.checkLength(out.length());
    }
    return built(out.toString());
  }

  private Object compare(Node.Compare c, Scope scope) {
    Object left = eval(c.first(), scope);
    for (int i = 0; i < c.ops().size(); i++) {
      Object right = eval(c.rest().get(i), scope);
      boolean ok = switch (c.ops().get(i)) {
        case EQ -> Py.eq(left, right);
        case NE -> !Py.eq(left, right);
        case LT -> Py.compare(left, right, "<") == -1;
        case LE -> Py.compare(left, right, "<=") == -1 || Py.compare(left, right, "<=") == 0;
        case GT -> Py.compare(left, right, ">") == 1;
        case GE -> Py.compare(left, right, ">=") == 1 || Py.compare(left, right, ">=") == 0;
        case IN -> Py.contains(right, left);
        case NOT_IN -> !Py.contains(right, left);
      };
      if (!ok) {
        return false;
      }
      left = right;
    }
    return true;
  }

  // ---- the budget ----

  private void step() {
    if (++steps > MAX_STEPS) {
      throw JinjaException.runtime("the template ran more than " + MAX_STEPS + " steps");
    }
  }

  /** Counts the characters of a string an operation made, so repeated building of large strings is bounded. */
  private Object built(Object value) {
    if (value instanceof String s && (charsBuilt += s.length()) > MAX_CHARS_BUILT) {
      throw JinjaException.runtime("the template built more than " + MAX_CHARS_BUILT + " characters of text");
    }
    return value;
  }

  private static void write(StringBuilder out, String text) {
    if ((long) out.length() + text.length() > Py.MAX_STRING) {
      throw JinjaException.runtime("the output is longer than " + Py.MAX_STRING + " characters");
    }
    out.append(text);
  }
}
