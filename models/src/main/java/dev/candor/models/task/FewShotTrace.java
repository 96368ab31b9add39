package dev.candor.models.task;

import dev.candor.engine.tokenizer.ChatTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The code-trace task for a real instruct model, which was never trained on it: a system message that states the
 * format, two worked examples as earlier turns (few-shot), then the problem. The examples fix the answer's format
 * (one line per statement, values substituted, {@code output: VALUE} last), so a model's answer can be cut where the
 * trace ends and labelled by diff against the correct trace; anything that is not the trace (prose, code fences) is
 * wrong by that diff, as it is not what the format asked for.
 */
public final class FewShotTrace {
  public static final String SYSTEM = "You trace straight-line Python programs. Restate every line of the program in "
      + "order, with the values of its variables substituted and the result computed, exactly in the format of the "
      + "examples, one line per statement; a print(x) line becomes 'output: ' and the value. Write nothing else.";

  /** A line in the trace format: an assignment restated, or the output line. */
  private static final Pattern TRACE_LINE = Pattern.compile("^([a-z] = .*|output: .*)$");

  /** The worked examples' program stream (disjoint from every other) and their difficulties. */
  static final long EXAMPLE_PROGRAMS = 6;
  private static final double[] EXAMPLE_DIFFICULTIES = {0.3, 0.8};

  private FewShotTrace() {}

  /** System message, two worked examples, then {@code program}. */
  public static List<ChatTemplate.Message> messages(Program program) {
    List<ChatTemplate.Message> messages = new ArrayList<>();
    messages.add(new ChatTemplate.Message("system", SYSTEM));
    ProgramGenerator examples = new ProgramGenerator(EXAMPLE_PROGRAMS);
    for (int i = 0; i < EXAMPLE_DIFFICULTIES.length; i++) {
      Program example = examples.generate(i, EXAMPLE_DIFFICULTIES[i]);
      messages.addAll(TraceTask.messages(example));
      messages.add(new ChatTemplate.Message("assistant", example.trace()));
    }
    messages.addAll(TraceTask.messages(program));
    return messages;
  }

  /**
   * The answer as the probe sees it: the model's output up to and including the first {@code output:} line (the
   * whole output when there is none), so that teacher-forcing it reproduces the model's own states.
   */
  public static String cut(String output) {
    int at = 0;
    while (at < output.length()) {
      int newline = output.indexOf('\n', at);
      int end = newline < 0 ? output.length() : newline + 1;
      if (output.startsWith("output:", at)) {
        return output.substring(0, end);
      }
      at = end;
    }
    return output;
  }

  /** How many non-blank lines of {@code answer} are in the trace format (the rest is prose or markup). */
  public static int traceFormatLines(String answer) {
    int n = 0;
    for (String line : TraceAnalysis.nonBlankLines(answer)) {
      n += TRACE_LINE.matcher(line).matches() ? 1 : 0;
    }
    return n;
  }
}
