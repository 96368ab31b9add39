package dev.candor.models.task;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A counterfactual trace: the correct trace with one wrong value injected into an operation line, and every line
 * after it recomputed, correctly, from that wrong value. Teacher-forced through the model, it asks the question the
 * token probability cannot answer: downstream lines are computed exactly as the model would compute them (so their
 * token probabilities stay high), yet they are wrong. Does the probe flag them?
 *
 * <p>The wrong value is the right one with its last digit changed, so it looks like a slip of the model's own kind.
 * Each line is tagged by its role: {@code before} the injection, {@code injected}, {@code downstream} (its text
 * differs from the true trace's because of the injection) or {@code unaffected} (after it, but the same text).
 *
 * @param trace the counterfactual trace (the completion to teacher-force)
 * @param roles one role per trace line
 */
public record Counterfactual(String trace, List<String> roles) {
  public static final String BEFORE = "before";
  public static final String INJECTED = "injected";
  public static final String DOWNSTREAM = "downstream";
  public static final String UNAFFECTED = "unaffected";

  /**
   * A counterfactual of {@code program}, or null when it has no operation line whose value a later line uses (or no
   * changed digit keeps every later line computable).
   */
  public static Counterfactual of(Program program, SplittableRandom random) {
    List<Program.Statement> statements = program.statements();
    List<Integer> candidates = new ArrayList<>();
    for (int i = 0; i < statements.size() - 1; i++) {
      if (TraceTask.isOperation(program, i) && usedLater(statements, i)) {
        candidates.add(i);
      }
    }
    if (candidates.isEmpty()) {
      return null;
    }
    int at = candidates.get(random.nextInt(candidates.size()));
    int shift = 1 + random.nextInt(9);
    for (int attempt = 0; attempt < 9; attempt++, shift = shift % 9 + 1) {
      Counterfactual c = inject(program, at, shift);
      if (c != null) {
        return c;
      }
    }
    return null;
  }

  /** The trace with line {@code at}'s value's last digit moved up by {@code shift} (mod 10); null if not computable. */
  static Counterfactual inject(Program program, int at, int shift) {
    List<String> expected = program.traceLines();
    Map<String, Long> env = new HashMap<>();
    StringBuilder trace = new StringBuilder();
    List<String> roles = new ArrayList<>();
    try {
      for (int i = 0; i < program.statements().size(); i++) {
        Program.Statement s = program.statements().get(i);
        String line = Program.traceLine(s, env);
        String role = i < at ? BEFORE : i == at ? INJECTED : line.equals(expected.get(i)) ? UNAFFECTED : DOWNSTREAM;
        if (!(s instanceof Program.Print)) {
          long value = Program.evaluate(s, env);
          if (i == at) {
            long wrong = value - value % 10 + (value % 10 + shift) % 10;
            line = line.substring(0, line.lastIndexOf(" = ") + 3) + wrong;
            value = wrong;
          }
          if (value < 0 || value > ProgramGenerator.MAX_VALUE) {
            return null;
          }
          env.put(Program.target(s), value);
        }
        trace.append(line).append('\n');
        roles.add(role);
      }
    } catch (ArithmeticException e) {
      return null; // the wrong value is a divisor that became 0
    }
    return new Counterfactual(trace.toString(), roles);
  }

  private static boolean usedLater(List<Program.Statement> statements, int i) {
    String target = Program.target(statements.get(i));
    for (int j = i + 1; j < statements.size(); j++) {
      if (statements.get(j).source().matches(".*\\b" + target + "\\b.*")) {
        return true;
      }
    }
    return false;
  }
}
