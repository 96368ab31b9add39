package dev.candor.models.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A straight-line program in a Python-like syntax: assignments of integer constants, binary operations
 * (+ − * // %) on variables and constants, conditional expressions, and a final print. Its {@link #trace} restates
 * every line with the values substituted and the result computed, so each line of a model's answer can be checked.
 *
 * @param statements the program, one statement per line, the last a print
 */
public record Program(List<Statement> statements) {

  /** An operand: a variable name or an integer constant. */
  public sealed interface Operand {
    String text();

    long value(Map<String, Long> env);
  }

  public record Var(String name) implements Operand {
    @Override
    public String text() {
      return name;
    }

    @Override
    public long value(Map<String, Long> env) {
      Long v = env.get(name);
      if (v == null) {
        throw new IllegalStateException("variable " + name + " used before assignment");
      }
      return v;
    }
  }

  public record Const(long value) implements Operand {
    @Override
    public String text() {
      return Long.toString(value);
    }

    @Override
    public long value(Map<String, Long> env) {
      return value;
    }
  }

  /** One line of the program. */
  public sealed interface Statement {
    /** The line as written in the program. */
    String source();
  }

  /** {@code x = 47} */
  public record Assign(String target, long value) implements Statement {
    @Override
    public String source() {
      return target + " = " + value;
    }
  }

  /** {@code x = a * 3} with op one of + - * // % */
  public record Binary(String target, Operand left, String op, Operand right) implements Statement {
    @Override
    public String source() {
      return target + " = " + left.text() + " " + op + " " + right.text();
    }
  }

  /** {@code x = a if a < b else b} with comparison one of < > == */
  public record Conditional(String target, Operand then, Operand left, String comparison, Operand right,
      Operand otherwise) implements Statement {
    @Override
    public String source() {
      return target + " = " + then.text() + " if " + left.text() + " " + comparison + " " + right.text() + " else "
          + otherwise.text();
    }
  }

  /** {@code print(x)} */
  public record Print(String variable) implements Statement {
    @Override
    public String source() {
      return "print(" + variable + ")";
    }
  }

  /** The program's text: one statement per line. */
  public String source() {
    StringBuilder out = new StringBuilder();
    for (Statement s : statements) {
      out.append(s.source()).append('\n');
    }
    return out.toString();
  }

  /**
   * The correct trace: every line restated with the variables' values substituted and the result, ending with the
   * printed output. For example {@code b = a * 3} after {@code a = 47} traces as {@code b = a * 3 = 47 * 3 = 141}, and
   * {@code print(b)} as {@code output: 141}.
   */
  public String trace() {
    StringBuilder out = new StringBuilder();
    for (String line : traceLines()) {
      out.append(line).append('\n');
    }
    return out.toString();
  }

  public List<String> traceLines() {
    Map<String, Long> env = new java.util.HashMap<>();
    List<String> lines = new ArrayList<>();
    for (Statement s : statements) {
      switch (s) {
        case Assign a -> {
          env.put(a.target(), a.value());
          lines.add(a.source());
        }
        case Binary b -> {
          long l = b.left().value(env);
          long r = b.right().value(env);
          long v = apply(l, b.op(), r);
          env.put(b.target(), v);
          lines.add(b.source() + " = " + l + " " + b.op() + " " + r + " = " + v);
        }
        case Conditional c -> {
          long then = c.then().value(env);
          long l = c.left().value(env);
          long r = c.right().value(env);
          long otherwise = c.otherwise().value(env);
          long v = compare(l, c.comparison(), r) ? then : otherwise;
          env.put(c.target(), v);
          lines.add(c.source() + " = " + then + " if " + l + " " + c.comparison() + " " + r + " else " + otherwise
              + " = " + v);
        }
        case Print p -> lines.add("output: " + env.get(p.variable()));
      }
    }
    return lines;
  }

  /** The value a statement assigns, given the variables so far (a print evaluates to the printed value). */
  public static long evaluate(Statement statement, Map<String, Long> env) {
    return switch (statement) {
      case Assign a -> a.value();
      case Binary b -> apply(b.left().value(env), b.op(), b.right().value(env));
      case Conditional c -> compare(c.left().value(env), c.comparison(), c.right().value(env))
          ? c.then().value(env) : c.otherwise().value(env);
      case Print p -> new Var(p.variable()).value(env);
    };
  }

  /** Python's semantics for the operators used (values are kept non-negative, so // and % agree with Java's). */
  static long apply(long l, String op, long r) {
    return switch (op) {
      case "+" -> l + r;
      case "-" -> l - r;
      case "*" -> l * r;
      case "//" -> Math.floorDiv(l, r);
      case "%" -> Math.floorMod(l, r);
      default -> throw new IllegalArgumentException("unknown operator " + op);
    };
  }

  static boolean compare(long l, String comparison, long r) {
    return switch (comparison) {
      case "<" -> l < r;
      case ">" -> l > r;
      case "==" -> l == r;
      default -> throw new IllegalArgumentException("unknown comparison " + comparison);
    };
  }
}
