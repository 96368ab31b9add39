package dev.candor.probes.labels;

import dev.candor.engine.confidence.Lines;
import java.util.List;

/**
 * Line- and problem-level labels from token labels (Gros &amp; Devanbu): a line is correct iff all its tokens are, a
 * problem iff all its tokens (hence all its lines) are. Lines are the engine's {@link Lines}, so the labels the probe
 * is evaluated on and the {@code confidence.lines} the server reports group tokens by the same rule.
 *
 * <p>Only lines of code are evaluated: whitespace-only lines ({@link #codeLines}) are dropped from line-level
 * evaluation, since they carry no code to be right or wrong about and, being trivially predictable, would inflate
 * every method's line-level scores. A wrong token on such a line (say, a missing blank line) still makes the problem
 * wrong.
 */
public final class LineLabels {
  private LineLabels() {}

  /** The lines of code: {@link Lines#code}, the engine's rule, so that the server skips the same blank lines. */
  public static List<Lines.Line> codeLines(String text, List<Integer> offsets) {
    return Lines.code(text, offsets);
  }

  /** Per line [lines.size()]: true iff every token of the line is correct in {@code tokenLabels} [tokens]. */
  public static boolean[] lineLabels(boolean[] tokenLabels, List<Lines.Line> lines) {
    boolean[] correct = new boolean[lines.size()];
    for (int l = 0; l < lines.size(); l++) {
      Lines.Line line = lines.get(l);
      if (line.tokenStart() < 0 || line.tokenEnd() > tokenLabels.length) {
        throw new IllegalArgumentException("line " + line + " is outside the " + tokenLabels.length + " tokens");
      }
      boolean all = true;
      for (int t = line.tokenStart(); t < line.tokenEnd() && all; t++) {
        all = tokenLabels[t];
      }
      correct[l] = all;
    }
    return correct;
  }

  /**
   * The problem's label: true iff there is at least one token and every token is correct, so that every line, blank
   * or not, is correct too. An empty completion is wrong: {@link TokenLabels} has no token to mark, but nothing was
   * written where a fix was needed.
   */
  public static boolean problemLabel(boolean[] tokenLabels) {
    if (tokenLabels.length == 0) {
      return false;
    }
    for (boolean correct : tokenLabels) {
      if (!correct) {
        return false;
      }
    }
    return true;
  }
}
