package dev.candor.engine.tokenizer.jinja;

import dev.candor.engine.tokenizer.jinja.Node.Args;
import dev.candor.engine.tokenizer.jinja.Node.Expr;
import dev.candor.engine.tokenizer.jinja.Node.Keyword;
import dev.candor.engine.tokenizer.jinja.Node.Param;
import dev.candor.engine.tokenizer.jinja.Node.Stmt;
import dev.candor.engine.tokenizer.jinja.Node.Target;
import dev.candor.engine.tokenizer.jinja.Token.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Tokens to a syntax tree, following Jinja2 3.1's recursive-descent parser ({@code jinja2/parser.py}) method for
 * method, so precedence and the odd corners agree: filters and tests bind tighter than arithmetic ({@code a + b |
 * length} is {@code a + (b | length)}), {@code **} is left-associative, the iterable of a for loop and the test of an
 * if take no inline if-expression, adjacent string literals concatenate. Statements are the ones Hugging Face's
 * environment has: Jinja2's core tags less inheritance and includes (no loader), loopcontrols' break and continue,
 * and HF's {@code generation}. Nesting is bounded so a hostile template cannot overflow the stack.
 */
final class Parser {
  private static final int MAX_DEPTH = 200;
  private static final Set<String> COMPARE = Set.of("==", "!=", "<", "<=", ">", ">=");
  private static final Set<String> UNSUPPORTED_TAGS = Set.of("extends", "include", "import", "from", "block",
      "autoescape");

  private final List<Token> tokens;
  private int index;
  private int depth;
  private int loopDepth;

  private Parser(List<Token> tokens) {
    this.tokens = tokens;
  }

  static List<Stmt> parse(String source) {
    Parser p = new Parser(Lexer.tokenize(source));
    List<Stmt> body = p.subparse(null);
    Validator.check(body);
    return body;
  }

  // ---- the token stream ----

  private Token current() {
    return tokens.get(index);
  }

  private Token look() {
    return tokens.get(Math.min(index + 1, tokens.size() - 1));
  }

  private Token next() {
    Token t = tokens.get(index);
    if (index < tokens.size() - 1) {
      index++;
    }
    return t;
  }

  private boolean skipOp(String op) {
    if (current().isOp(op)) {
      next();
      return true;
    }
    return false;
  }

  private boolean skipName(String name) {
    if (current().isName(name)) {
      next();
      return true;
    }
    return false;
  }

  private Token expect(Type type) {
    if (current().type() != type) {
      throw fail("expected token '" + describe(type) + "', got '" + current().describe() + "'");
    }
    return next();
  }

  private void expectOp(String op) {
    if (!current().isOp(op)) {
      throw fail("expected token '" + op + "', got '" + current().describe() + "'");
    }
    next();
  }

  private void expectName(String name) {
    if (!current().isName(name)) {
      throw fail("expected token '" + name + "', got '" + current().describe() + "'");
    }
    next();
  }

  private static String describe(Type type) {
    return switch (type) {
      case BLOCK_END -> "end of statement block";
      case VARIABLE_END -> "end of print statement";
      case NAME -> "name";
      default -> type.name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  private JinjaException fail(String message) {
    return JinjaException.syntax(message, current().line());
  }

  private void enter() {
    if (++depth > MAX_DEPTH) {
      throw fail("the template nests more than " + MAX_DEPTH + " levels deep");
    }
  }

  // ---- statements ----

  /** Statements until EOF or a block whose tag name is in {@code endTokens} (left unconsumed). */
  private List<Stmt> subparse(Set<String> endTokens) {
    List<Stmt> body = new ArrayList<>();
    while (true) {
      Token t = current();
      switch (t.type()) {
        case DATA -> body.add(new Node.Data(next().text(), t.line()));
        case VARIABLE_BEGIN -> {
          next();
          body.add(new Node.Output(parseTuple(false, true, null, false), t.line()));
          expect(Type.VARIABLE_END);
        }
        case BLOCK_BEGIN -> {
          next();
          if (endTokens != null && current().type() == Type.NAME && endTokens.contains(current().text())) {
            return body;
          }
          body.add(parseStatement());
          expect(Type.BLOCK_END);
        }
        case EOF -> {
          return body;
        }
        default -> throw fail("unexpected '" + t.describe() + "'");
      }
    }
  }

  private List<Stmt> parseStatements(Set<String> endTokens, boolean dropNeedle) {
    skipOp(":");
    expect(Type.BLOCK_END);
    List<Stmt> body = subparse(endTokens);
    if (current().type() == Type.EOF) {
      throw fail("Unexpected end of template. Jinja was looking for the following tags: "
          + String.join(" or ", endTokens.stream().sorted().map(s -> "'" + s + "'").toList())
          + ". The innermost block that needs to be closed is the one opened before.");
    }
    if (dropNeedle) {
      next();
    }
    return body;
  }

  private Stmt parseStatement() {
    Token t = current();
    if (t.type() != Type.NAME) {
      throw fail("tag name expected");
    }
    enter();
    try {
      return switch (t.text()) {
        case "for" -> parseFor();
        case "if" -> parseIf();
        case "set" -> parseSet();
        case "macro" -> parseMacro();
        case "call" -> parseCallBlock();
        case "filter" -> parseFilterBlock();
        case "with" -> parseWith();
        case "print" -> parsePrint();
        case "generation" -> parseGeneration();
        case "break", "continue" -> parseLoopControl();
        default -> throw unknownTag(t.text());
      };
    } finally {
      depth--;
    }
  }

  private JinjaException unknownTag(String name) {
    if (UNSUPPORTED_TAGS.contains(name)) {
      return fail("the '" + name + "' tag is not supported: a chat template renders alone, with no other templates"
          + " to load and no HTML escaping");
    }
    return fail("Encountered unknown tag '" + name + "'.");
  }

  private Stmt parseFor() {
    int line = next().line();
    Target target = parseAssignTarget(true, false, Set.of("in"));
    expectName("in");
    Expr iter = parseTuple(false, false, Set.of("recursive"), false);
    Expr filter = skipName("if") ? parseExpression(true) : null;
    boolean recursive = skipName("recursive");
    loopDepth++;
    List<Stmt> body = parseStatements(Set.of("endfor", "else"), false);
    loopDepth--;
    List<Stmt> orElse = next().text().equals("endfor") ? List.of() : parseStatements(Set.of("endfor"), true);
    return new Node.For(target, iter, filter, recursive, body, orElse, line);
  }

  /** if, any number of elifs (each becomes an If in the else branch of the one before), else, endif. */
  private Stmt parseIf() {
    List<Integer> lines = new ArrayList<>();
    List<Expr> tests = new ArrayList<>();
    List<List<Stmt>> bodies = new ArrayList<>();
    List<Stmt> orElse = List.of();
    lines.add(next().line());
    while (true) {
      tests.add(parseTuple(false, false, null, false));
      bodies.add(parseStatements(Set.of("elif", "else", "endif"), false));
      Token t = next();
      if (t.isName("elif")) {
        lines.add(t.line());
        continue;
      }
      if (t.isName("else")) {
        orElse = parseStatements(Set.of("endif"), true);
      }
      break;
    }
    for (int i = tests.size() - 1; i > 0; i--) {
      orElse = List.of(new Node.If(tests.get(i), bodies.get(i), orElse, lines.get(i)));
    }
    return new Node.If(tests.get(0), bodies.get(0), orElse, lines.get(0));
  }

  private Stmt parseSet() {
    int line = next().line();
    Target target = parseAssignTarget(true, true, null);
    if (skipOp("=")) {
      return new Node.Assign(target, parseTuple(false, true, null, false), line);
    }
    Expr filter = current().isOp("|") ? parseFilter(new Node.BodyValue(), false) : null;
    List<Stmt> body = parseStatements(Set.of("endset"), true);
    return new Node.AssignBlock(target, filter, body, line);
  }

  private Stmt parseMacro() {
    int line = next().line();
    String name = expect(Type.NAME).text();
    List<Param> params = parseSignature();
    int outerLoops = loopDepth;
    loopDepth = 0; // a macro is a function: break and continue do not reach an enclosing loop
    List<Stmt> body = parseStatements(Set.of("endmacro"), true);
    loopDepth = outerLoops;
    return new Node.Macro(name, params, body, line);
  }

  private List<Param> parseSignature() {
    List<Param> params = new ArrayList<>();
    expectOp("(");
    boolean defaults = false;
    while (!current().isOp(")")) {
      if (!params.isEmpty()) {
        expectOp(",");
      }
      String name = expect(Type.NAME).text();
      Expr defaultValue = skipOp("=") ? parseExpression(true) : null;
      if (defaultValue == null && defaults) {
        throw fail("non-default argument follows default argument");
      }
      defaults |= defaultValue != null;
      params.add(new Param(name, defaultValue));
    }
    expectOp(")");
    return params;
  }

  private Stmt parseCallBlock() {
    int line = next().line();
    List<Param> params = current().isOp("(") ? parseSignature() : List.of();
    Expr call = parseExpression(true);
    if (!(call instanceof Node.Call)) {
      throw fail("expected call");
    }
    int outerLoops = loopDepth;
    loopDepth = 0;
    List<Stmt> body = parseStatements(Set.of("endcall"), true);
    loopDepth = outerLoops;
    return new Node.CallBlock(call, params, body, line);
  }

  private Stmt parseFilterBlock() {
    int line = next().line();
    Expr filter = parseFilter(new Node.BodyValue(), true);
    List<Stmt> body = parseStatements(Set.of("endfilter"), true);
    return new Node.FilterBlock(filter, body, line);
  }

  private Stmt parseWith() {
    int line = next().line();
    List<Target> targets = new ArrayList<>();
    List<Expr> values = new ArrayList<>();
    while (current().type() != Type.BLOCK_END) {
      if (!targets.isEmpty()) {
        expectOp(",");
      }
      targets.add(parseAssignTarget(true, false, null));
      expectOp("=");
      values.add(parseExpression(true));
    }
    return new Node.With(targets, values, parseStatements(Set.of("endwith"), true), line);
  }

  private Stmt parsePrint() {
    int line = next().line();
    List<Expr> items = new ArrayList<>();
    while (current().type() != Type.BLOCK_END) {
      if (!items.isEmpty()) {
        expectOp(",");
      }
      items.add(parseExpression(true));
    }
    return items.size() == 1 ? new Node.Output(items.get(0), line)
        : new Node.Scoped(items.stream().map(e -> (Stmt) new Node.Output(e, line)).toList(), line);
  }

  private Stmt parseGeneration() {
    int line = next().line();
    return new Node.Scoped(parseStatements(Set.of("endgeneration"), true), line);
  }

  private Stmt parseLoopControl() {
    Token t = next();
    if (loopDepth == 0) {
      throw JinjaException.syntax("'" + t.text() + "' outside loop", t.line());
    }
    return t.text().equals("break") ? new Node.Break(t.line()) : new Node.Continue(t.line());
  }

  /** An assignment target: a name, a tuple of names, or (for set) {@code ns.attr}. */
  private Target parseAssignTarget(boolean withTuple, boolean withNamespace, Set<String> extraEnd) {
    if (withNamespace && look().isOp(".")) {
      String ns = expect(Type.NAME).text();
      next();
      return new Node.NamespaceTarget(ns, expect(Type.NAME).text());
    }
    Expr e = withTuple ? parseTuple(true, true, extraEnd, false) : parsePrimary();
    return toTarget(e);
  }

  private Target toTarget(Expr e) {
    if (e instanceof Node.Name n) {
      return new Node.NameTarget(n.name());
    }
    if (e instanceof Node.TupleExpr t) {
      List<Target> items = new ArrayList<>();
      for (Expr item : t.items()) {
        items.add(toTarget(item));
      }
      return new Node.TupleTarget(items);
    }
    throw fail("can't assign to " + (e instanceof Node.Const ? "'Const'" : "this expression"));
  }

  // ---- expressions ----

  private Expr parseExpression(boolean withCondexpr) {
    enter();
    try {
      return withCondexpr ? parseCondexpr() : parseOr();
    } finally {
      depth--;
    }
  }

  private Expr parseCondexpr() {
    Expr expr = parseOr();
    while (skipName("if")) {
      Expr test = parseOr();
      Expr orElse = skipName("else") ? parseExpression(true) : null;
      expr = new Node.CondExpr(test, expr, orElse);
    }
    return expr;
  }

  private Expr parseOr() {
    Expr left = parseAnd();
    int chain = depth;
    try {
      while (skipName("or")) {
        enter();
        left = new Node.Binary(Node.BinaryOp.OR, left, parseAnd());
      }
      return left;
    } finally {
      depth = chain;
    }
  }

  private Expr parseAnd() {
    Expr left = parseNot();
    int chain = depth;
    try {
      while (skipName("and")) {
        enter();
        left = new Node.Binary(Node.BinaryOp.AND, left, parseNot());
      }
      return left;
    } finally {
      depth = chain;
    }
  }

  private Expr parseNot() {
    if (current().isName("not")) {
      next();
      enter();
      try {
        return new Node.Not(parseNot());
      } finally {
        depth--;
      }
    }
    return parseCompare();
  }

  private Expr parseCompare() {
    Expr first = parseMath1();
    List<Node.CompareOp> ops = new ArrayList<>();
    List<Expr> rest = new ArrayList<>();
    while (true) {
      Token t = current();
      if (t.type() == Type.OPERATOR && COMPARE.contains(t.text())) {
        next();
        ops.add(switch (t.text()) {
          case "==" -> Node.CompareOp.EQ;
          case "!=" -> Node.CompareOp.NE;
          case "<" -> Node.CompareOp.LT;
          case "<=" -> Node.CompareOp.LE;
          case ">" -> Node.CompareOp.GT;
          default -> Node.CompareOp.GE;
        });
      } else if (skipName("in")) {
        ops.add(Node.CompareOp.IN);
      } else if (t.isName("not") && look().isName("in")) {
        next();
        next();
        ops.add(Node.CompareOp.NOT_IN);
      } else {
        break;
      }
      rest.add(parseMath1());
    }
    return ops.isEmpty() ? first : new Node.Compare(first, ops, rest);
  }

  private Expr parseMath1() {
    Expr left = parseConcat();
    int chain = depth;
    try {
      while (current().isOp("+") || current().isOp("-")) {
        Node.BinaryOp op = next().text().equals("+") ? Node.BinaryOp.ADD : Node.BinaryOp.SUB;
        enter();
        left = new Node.Binary(op, left, parseConcat());
      }
      return left;
    } finally {
      depth = chain;
    }
  }

  private Expr parseConcat() {
    List<Expr> items = new ArrayList<>();
    items.add(parseMath2());
    while (skipOp("~")) {
      items.add(parseMath2());
      if (items.size() > MAX_DEPTH * 8) {
        throw fail("more than " + MAX_DEPTH * 8 + " operands of ~ in one expression");
      }
    }
    return items.size() == 1 ? items.get(0) : new Node.Concat(items);
  }

  private Expr parseMath2() {
    Expr left = parsePow();
    int chain = depth;
    try {
      return math2(left);
    } finally {
      depth = chain;
    }
  }

  private Expr math2(Expr left) {
    while (true) {
      Node.BinaryOp op = switch (current().type() == Type.OPERATOR ? current().text() : "") {
        case "*" -> Node.BinaryOp.MUL;
        case "/" -> Node.BinaryOp.DIV;
        case "//" -> Node.BinaryOp.FLOORDIV;
        case "%" -> Node.BinaryOp.MOD;
        default -> null;
      };
      if (op == null) {
        return left;
      }
      next();
      enter();
      left = new Node.Binary(op, left, parsePow());
    }
  }

  private Expr parsePow() {
    Expr left = parseUnary(true);
    int chain = depth;
    try {
      while (skipOp("**")) {
        enter();
        left = new Node.Binary(Node.BinaryOp.POW, left, parseUnary(true));
      }
      return left;
    } finally {
      depth = chain;
    }
  }

  private Expr parseUnary(boolean withFilter) {
    Expr node;
    if (current().isOp("-") || current().isOp("+")) {
      boolean negate = next().text().equals("-");
      enter();
      try {
        Expr operand = parseUnary(false);
        node = negate ? new Node.Negate(operand) : new Node.Plus(operand);
      } finally {
        depth--;
      }
    } else {
      node = parsePrimary();
    }
    node = parsePostfix(node);
    return withFilter ? parseFilterExpr(node) : node;
  }

  private Expr parsePrimary() {
    Token t = current();
    switch (t.type()) {
      case NAME -> {
        next();
        return switch (t.text()) {
          case "true", "True" -> new Node.Const(Boolean.TRUE);
          case "false", "False" -> new Node.Const(Boolean.FALSE);
          case "none", "None" -> new Node.Const(null);
          default -> new Node.Name(t.text());
        };
      }
      case STRING -> {
        StringBuilder s = new StringBuilder();
        while (current().type() == Type.STRING) {
          s.append(next().text());
        }
        return new Node.Const(s.toString());
      }
      case INTEGER, FLOAT -> {
        next();
        return new Node.Const(t.value());
      }
      case OPERATOR -> {
        return parseBracketed(t);
      }
      default -> throw fail("unexpected '" + t.describe() + "'");
    }
  }

  private Expr parseBracketed(Token t) {
    enter();
    try {
      switch (t.text()) {
        case "(" -> {
          next();
          Expr e = parseTuple(false, true, null, true);
          expectOp(")");
          return e;
        }
        case "[" -> {
          return parseList();
        }
        case "{" -> {
          return parseDict();
        }
        default -> throw fail("unexpected '" + t.describe() + "'");
      }
    } finally {
      depth--;
    }
  }

  /**
   * A comma-separated expression: one item alone, a tuple if there is a comma. {@code simplified} items are primaries
   * (assignment targets); a tuple ends at a closing tag, a ')' or one of {@code extraEnd}'s names.
   */
  private Expr parseTuple(boolean simplified, boolean withCondexpr, Set<String> extraEnd, boolean explicitParens) {
    List<Expr> items = new ArrayList<>();
    boolean isTuple = false;
    while (true) {
      if (!items.isEmpty()) {
        expectOp(",");
      }
      if (isTupleEnd(extraEnd)) {
        break;
      }
      items.add(simplified ? parsePrimary() : parseExpression(withCondexpr));
      if (current().isOp(",")) {
        isTuple = true;
      } else {
        break;
      }
    }
    if (!isTuple) {
      if (!items.isEmpty()) {
        return items.get(0);
      }
      if (!explicitParens) {
        throw fail("Expected an expression, got '" + current().describe() + "'");
      }
    }
    return new Node.TupleExpr(items);
  }

  private boolean isTupleEnd(Set<String> extraEnd) {
    Token t = current();
    if (t.type() == Type.VARIABLE_END || t.type() == Type.BLOCK_END || t.isOp(")")) {
      return true;
    }
    return extraEnd != null && t.type() == Type.NAME && extraEnd.contains(t.text());
  }

  private Expr parseList() {
    expectOp("[");
    List<Expr> items = new ArrayList<>();
    while (!current().isOp("]")) {
      if (!items.isEmpty()) {
        expectOp(",");
      }
      if (current().isOp("]")) {
        break;
      }
      items.add(parseExpression(true));
    }
    expectOp("]");
    return new Node.ListExpr(items);
  }

  private Expr parseDict() {
    expectOp("{");
    List<Expr> keys = new ArrayList<>();
    List<Expr> values = new ArrayList<>();
    while (!current().isOp("}")) {
      if (!keys.isEmpty()) {
        expectOp(",");
      }
      if (current().isOp("}")) {
        break;
      }
      keys.add(parseExpression(true));
      expectOp(":");
      values.add(parseExpression(true));
    }
    expectOp("}");
    return new Node.DictExpr(keys, values);
  }

  private Expr parsePostfix(Expr node) {
    int chain = depth;
    try {
      while (true) {
        if (current().isOp(".") || current().isOp("[")) {
          enter();
          node = parseSubscript(node);
        } else if (current().isOp("(")) {
          enter();
          node = new Node.Call(node, parseCallArgs());
        } else {
          return node;
        }
      }
    } finally {
      depth = chain;
    }
  }

  private Expr parseFilterExpr(Expr node) {
    int chain = depth;
    try {
      while (true) {
        if (current().isOp("|")) {
          node = parseFilter(node, false);
        } else if (current().isName("is")) {
          enter();
          node = parseTest(node);
        } else if (current().isOp("(")) {
          enter();
          node = new Node.Call(node, parseCallArgs());
        } else {
          return node;
        }
      }
    } finally {
      depth = chain;
    }
  }

  private Expr parseSubscript(Expr node) {
    Token t = next();
    if (t.isOp(".")) {
      Token attr = next();
      if (attr.type() == Type.NAME) {
        return new Node.GetAttr(node, attr.text());
      }
      if (attr.type() != Type.INTEGER) {
        throw JinjaException.syntax("expected name or number", attr.line());
      }
      return new Node.GetItem(node, new Node.Const(attr.value()));
    }
    List<Expr> args = new ArrayList<>();
    enter();
    try {
      while (!current().isOp("]")) {
        if (!args.isEmpty()) {
          expectOp(",");
        }
        args.add(parseSubscribed());
      }
    } finally {
      depth--;
    }
    expectOp("]");
    return new Node.GetItem(node, args.size() == 1 ? args.get(0) : new Node.TupleExpr(args));
  }

  private Expr parseSubscribed() {
    Expr start = null;
    if (!current().isOp(":")) {
      start = parseExpression(true);
      if (!current().isOp(":")) {
        return start;
      }
    }
    next();
    Expr stop = null;
    if (!current().isOp(":") && !current().isOp("]") && !current().isOp(",")) {
      stop = parseExpression(true);
    }
    Expr step = null;
    if (skipOp(":") && !current().isOp("]") && !current().isOp(",")) {
      step = parseExpression(true);
    }
    return new Node.Slice(start, stop, step);
  }

  private Args parseCallArgs() {
    expectOp("(");
    List<Expr> positional = new ArrayList<>();
    List<Keyword> keywords = new ArrayList<>();
    Expr starArgs = null;
    Expr starKwargs = null;
    boolean requireComma = false;
    while (!current().isOp(")")) {
      if (requireComma) {
        expectOp(",");
        if (current().isOp(")")) {
          break;
        }
      }
      if (current().isOp("*")) {
        ensure(starArgs == null && starKwargs == null);
        next();
        starArgs = parseExpression(true);
      } else if (current().isOp("**")) {
        ensure(starKwargs == null);
        next();
        starKwargs = parseExpression(true);
      } else if (current().type() == Type.NAME && look().isOp("=")) {
        ensure(starKwargs == null);
        String key = next().text();
        next();
        keywords.add(new Keyword(key, parseExpression(true)));
      } else {
        ensure(starArgs == null && starKwargs == null && keywords.isEmpty());
        positional.add(parseExpression(true));
      }
      requireComma = true;
    }
    expectOp(")");
    return new Args(positional, keywords, starArgs, starKwargs);
  }

  private void ensure(boolean ok) {
    if (!ok) {
      throw fail("invalid syntax for function call expression");
    }
  }

  /** {@code | name(args) | name ...}; with {@code startInline} the first name has no pipe (filter blocks). */
  private Expr parseFilter(Expr node, boolean startInline) {
    int chain = depth;
    try {
      return filterChain(node, startInline);
    } finally {
      depth = chain;
    }
  }

  private Expr filterChain(Expr node, boolean startInline) {
    while (current().isOp("|") || startInline) {
      enter();
      if (!startInline) {
        next();
      }
      int line = current().line();
      String name = dottedName();
      Args args = current().isOp("(") ? parseCallArgs() : Args.NONE;
      node = new Node.Filter(node, name, args, line);
      startInline = false;
    }
    return node;
  }

  private Expr parseTest(Expr node) {
    next(); // 'is'
    boolean negated = skipName("not");
    int line = current().line();
    String name = dottedName();
    Args args = Args.NONE;
    Token t = current();
    if (t.isOp("(")) {
      args = parseCallArgs();
    } else if ((t.type() == Type.NAME || t.type() == Type.STRING || t.type() == Type.INTEGER
        || t.type() == Type.FLOAT || t.isOp("(") || t.isOp("[") || t.isOp("{"))
        && !t.isName("else") && !t.isName("or") && !t.isName("and")) {
      if (t.isName("is")) {
        throw fail("You cannot chain multiple tests with is");
      }
      args = new Args(List.of(parsePostfix(parsePrimary())), List.of(), null, null);
    }
    Expr test = new Node.Test(node, name, args, line);
    return negated ? new Node.Not(test) : test;
  }

  private String dottedName() {
    StringBuilder name = new StringBuilder(expect(Type.NAME).text());
    while (current().isOp(".")) {
      next();
      name.append('.').append(expect(Type.NAME).text());
    }
    return name.toString();
  }
}
