package dev.candor.models.task;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded generator of {@link Program}s, with a difficulty knob. The same (seed, index) always gives the same program,
 * so training, held-out evaluation and the calibration dataset draw from disjoint, reproducible streams.
 *
 * <p>Difficulty in [0, 1] scales the number of lines (3 → 7), the size of constants (up to 20 → 499) and turns on
 * the harder operators (* then // and %, then conditional expressions). Every intermediate value stays in
 * [0, {@link #MAX_VALUE}] (operations that would leave it are redrawn), so the arithmetic is well-defined and the
 * trace never needs a minus sign.
 */
public final class ProgramGenerator {
  public static final long MAX_VALUE = 9999;
  private static final String NAMES = "abcdefghjkmnpqrstuvwxyz";

  private final long seed;

  public ProgramGenerator(long seed) {
    this.seed = seed;
  }

  /** Program number {@code index} at {@code difficulty}. */
  public Program generate(long index, double difficulty) {
    if (!(difficulty >= 0 && difficulty <= 1)) {
      throw new IllegalArgumentException("difficulty must lie in [0, 1], got " + difficulty);
    }
    SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
    int assignments = 2 + (int) Math.round(difficulty * 3) + random.nextInt(2); // 2..6 lines before the print
    long maxConst = Math.round(20 + difficulty * 479);
    List<String> ops = new ArrayList<>(List.of("+", "-"));
    if (difficulty >= 0.15) {
      ops.add("*");
    }
    if (difficulty >= 0.35) {
      ops.add("//");
      ops.add("%");
    }
    boolean conditionals = difficulty >= 0.55;

    List<Program.Statement> statements = new ArrayList<>();
    Map<String, Long> env = new HashMap<>();
    List<String> names = new ArrayList<>();
    while (statements.size() < assignments) {
      String target = freshName(random, names);
      Program.Statement statement;
      if (names.isEmpty() || (statements.size() < 2 && random.nextInt(3) > 0) || random.nextInt(6) == 0) {
        statement = new Program.Assign(target, random.nextLong(maxConst + 1));
      } else if (conditionals && random.nextInt(5) == 0) {
        statement = conditional(random, target, names, maxConst);
      } else {
        statement = binary(random, target, names, ops, maxConst, env);
        if (statement == null) {
          continue;
        }
      }
      statements.add(statement);
      names.add(target);
      env.put(target, Program.evaluate(statement, env));
    }
    statements.add(new Program.Print(names.getLast()));
    return new Program(statements);
  }

  private static String freshName(SplittableRandom random, List<String> used) {
    while (true) {
      String name = String.valueOf(NAMES.charAt(random.nextInt(NAMES.length())));
      if (!used.contains(name)) {
        return name;
      }
    }
  }

  private static Program.Operand operand(SplittableRandom random, List<String> names, long maxConst) {
    return random.nextInt(3) == 0
        ? new Program.Const(random.nextLong(maxConst + 1))
        : new Program.Var(names.get(random.nextInt(names.size())));
  }

  private static Program.Statement binary(SplittableRandom random, String target, List<String> names,
      List<String> ops, long maxConst, Map<String, Long> env) {
    for (int attempt = 0; attempt < 20; attempt++) {
      String op = ops.get(random.nextInt(ops.size()));
      Program.Operand left = new Program.Var(names.get(random.nextInt(names.size())));
      Program.Operand right = operand(random, names, op.equals("*") ? Math.min(maxConst, 12) : maxConst);
      if (right.equals(left) && names.size() > 1 && random.nextInt(4) > 0) {
        continue; // "y - y" now and then, not a third of the time
      }
      if (random.nextBoolean() && !op.equals("-")) {
        Program.Operand t = left;
        left = right;
        right = t;
      }
      long l = left.value(env);
      long r = right.value(env);
      if ((op.equals("//") || op.equals("%")) && r == 0) {
        continue;
      }
      long v = Program.apply(l, op, r);
      if (v >= 0 && v <= MAX_VALUE) {
        return new Program.Binary(target, left, op, right);
      }
    }
    return null;
  }

  private static Program.Statement conditional(SplittableRandom random, String target, List<String> names,
      long maxConst) {
    String comparison = List.of("<", ">", "==").get(random.nextInt(3));
    Program.Operand a = new Program.Var(names.get(random.nextInt(names.size())));
    Program.Operand b = operand(random, names, maxConst);
    return random.nextBoolean()
        ? new Program.Conditional(target, a, a, comparison, b, b)
        : new Program.Conditional(target, operand(random, names, maxConst), a, comparison, b,
            operand(random, names, maxConst));
  }
}
