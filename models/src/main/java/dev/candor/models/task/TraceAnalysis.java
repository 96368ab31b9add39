package dev.candor.models.task;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What kind of mistake each line of a model's trace is. A wrong line is either the line's own error (it miscomputes
 * from the values the model itself wrote above) or a <em>propagated</em> one: given the model's own earlier values it
 * is exactly right, and wrong only because a value it builds on was. Propagated errors are where the token
 * probability is blind (the model computes confidently and correctly from a wrong input), so the probe report
 * evaluates them as a subset. Lines past the program's trace are tagged {@link #EXTRA}; right lines get no tag.
 */
public final class TraceAnalysis {
  public static final String PROPAGATED = "propagated";
  public static final String OWN_ERROR = "own_error";
  public static final String EXTRA = "extra";

  private TraceAnalysis() {}

  /** Tags per non-blank line of {@code answer}, in order (the dataset's {@code line_tags}). */
  public static List<List<String>> lineTags(Program program, String answer) {
    List<String> expected = program.traceLines();
    List<String> got = nonBlankLines(answer);
    Map<String, Long> modelValues = new HashMap<>(); // each variable's value as the model wrote it
    List<List<String>> tags = new ArrayList<>();
    for (int l = 0; l < got.size(); l++) {
      if (l >= expected.size()) {
        tags.add(List.of(EXTRA));
        continue;
      }
      Program.Statement statement = program.statements().get(l);
      String line = got.get(l);
      if (line.equals(expected.get(l))) {
        tags.add(List.of());
      } else {
        tags.add(List.of(line.equals(selfConsistent(statement, modelValues)) ? PROPAGATED : OWN_ERROR));
      }
      if (!(statement instanceof Program.Print)) {
        Long value = statedValue(line, Program.target(statement));
        if (value == null) {
          modelValues.remove(Program.target(statement));
        } else {
          modelValues.put(Program.target(statement), value);
        }
      }
    }
    return tags;
  }

  /** The lines of {@code text} that hold more than whitespace. */
  public static List<String> nonBlankLines(String text) {
    List<String> lines = new ArrayList<>();
    for (String line : text.split("\n", -1)) {
      if (!line.isBlank()) {
        lines.add(line);
      }
    }
    return lines;
  }

  /** The statement's trace line computed from the model's own values; null when they do not allow it. */
  private static String selfConsistent(Program.Statement statement, Map<String, Long> modelValues) {
    try {
      return Program.traceLine(statement, modelValues);
    } catch (IllegalStateException | ArithmeticException e) {
      return null; // a value the model never wrote legibly, or a division by a zero it wrote
    }
  }

  /** The value a trace line assigns to {@code target}: the number after its last " = ", if it is one. */
  static Long statedValue(String line, String target) {
    if (!line.startsWith(target + " = ")) {
      return null;
    }
    String last = line.substring(line.lastIndexOf(" = ") + 3).strip();
    try {
      return Long.parseLong(last);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
