package dev.candor.probes.labels;

import java.util.List;

/**
 * Token-level correctness labels by diff, after Gros &amp; Devanbu: a generated token is correct when the diff to
 * the fixed program keeps it. The diff is {@link SequenceMatcher} of the completion's token ids against the fixed
 * program's; a token is correct iff it lies in an {@code equal} block and nothing is inserted immediately before it.
 *
 * <ul>
 *   <li>{@code replace} and {@code delete} tokens are wrong: the fix changes or removes them.
 *   <li>An {@code insert} before token i marks token i wrong: the model went on at i where something was missing.
 *   <li>An {@code insert} at the very end (i1 == completion length: the completion stopped too early) marks the
 *       <em>last</em> token wrong, since that is where the model chose to stop; otherwise a truncated answer would be
 *       labelled all correct.
 * </ul>
 */
public final class TokenLabels {
  private TokenLabels() {}

  /** Per completion token [completion.length]: true iff the diff against {@code fixed} keeps it, as above. */
  public static boolean[] label(int[] completion, int[] fixed) {
    boolean[] correct = new boolean[completion.length];
    List<SequenceMatcher.Opcode> opcodes = new SequenceMatcher(completion, fixed).opcodes();
    // replace and delete tokens stay false
    for (SequenceMatcher.Opcode op : opcodes) {
      if (op.tag() == SequenceMatcher.Opcode.Tag.EQUAL) {
        for (int i = op.i1(); i < op.i2(); i++) {
          correct[i] = true;
        }
      }
    }
    // after the equal blocks: an insert comes just before the equal block whose first token it marks
    for (SequenceMatcher.Opcode op : opcodes) {
      if (op.tag() == SequenceMatcher.Opcode.Tag.INSERT) {
        if (op.i1() < completion.length) {
          correct[op.i1()] = false;
        } else if (completion.length > 0) {
          correct[completion.length - 1] = false;
        }
      }
    }
    return correct;
  }
}
