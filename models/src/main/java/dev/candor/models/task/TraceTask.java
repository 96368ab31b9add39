package dev.candor.models.task;

import dev.candor.engine.tokenizer.ChatTemplate;
import java.util.List;

/**
 * The code-trace task as a chat: the user asks to trace a program, the assistant answers with the trace. Grading is
 * line by line against the true trace, which is also the "fixed" answer the probe pipeline diffs against.
 */
public final class TraceTask {
  public static final String INSTRUCTION = "Trace this program:\n";

  private TraceTask() {}

  /** The conversation that asks for the trace. */
  public static List<ChatTemplate.Message> messages(Program program) {
    return List.of(new ChatTemplate.Message("user", INSTRUCTION + program.source()));
  }

  /** Lines of {@code answer} that match the true trace line at the same position. */
  public static int correctLines(Program program, String answer) {
    List<String> expected = program.traceLines();
    String[] got = answer.split("\n", -1);
    int correct = 0;
    for (int i = 0; i < expected.size() && i < got.length; i++) {
      if (got[i].equals(expected.get(i))) {
        correct++;
      }
    }
    return correct;
  }

  /** Whether line i of the true trace computes something (an operation or a conditional), not just restates. */
  public static boolean isOperation(Program program, int line) {
    Program.Statement s = program.statements().get(line);
    return s instanceof Program.Binary || s instanceof Program.Conditional;
  }
}
