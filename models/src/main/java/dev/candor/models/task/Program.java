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
      lines.add(traceLine(s, env));
      if (!(s instanceof Print)) {
        env.put(target(s), evaluate(s, env));
      }
    }
    return lines;
  }

  /**
   * One statement's trace line with the variables' values taken from {@code env} (which this does not change):
   * {@code b = a * 3 = 47 * 3 = 141}, {@code output: 141}. Throws when a variable is missing or a division is by
   * zero.
   */
  public static String traceLine(Statement statement, Map<String, Long> env) {
    return switch (statement) {
      case Assign a -> a.source();
      case Binary b -> {
        long l = b.left().value(env);
        long r = b.right().value(env);
        yield b.source() + " = " + l + " " + b.op() + " " + r + " = " + apply(l, b.op(), r);
      }
      case Conditional c -> c.source() + " = " + c.then().value(env) + " if " + c.left().value(env) + " "
          + c.comparison() + " " + c.right().value(env) + " else " + c.otherwise().value(env) + " = "
          + evaluate(c, env);
      case Print p -> "output: " + new Var(p.variable()).value(env);
    };
  }

  /** The variable a statement assigns (a print's is the printed one). */
  public static String target(Statement statement) {
    return switch (statement) {
      case Assign a -> a.target();
      case Binary b -> b.target();
      case Conditional c -> c.target();
      case Print p -> p.variable();
    };
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
