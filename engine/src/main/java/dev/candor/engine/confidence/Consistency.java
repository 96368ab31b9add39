package dev.candor.engine.confidence;

import java.util.ArrayList;
import java.util.List;

/**
 * Self-consistency as a confidence signal (multisampling, in the baselines of Gros &amp; Devanbu; Wang et al. 2023,
 * "Self-Consistency Improves Chain of Thought Reasoning"): sample the same prompt several times and ask, for each line
 * of the answer, in how many samples it appears. On the trace task a right line is one the model reproduces under
 * sampling, a wrong one a slip it does not repeat; it is the signal that tracks correctness best there, at the price
 * of the extra generations.
 *
 * <p>Agreement is of <em>whole lines</em> after alignment: the non-blank lines of the answer and of a sample (trailing
 * whitespace ignored) are aligned by a longest common subsequence, so a sample that inserts or drops a line still
 * agrees on the lines around it, and an answer line agrees with a sample when the alignment matches it to an equal
 * line. A line's agreement is the fraction of samples that agree with it; the response's, the fraction of samples
 * whose non-blank lines equal the answer's, all of them in order. Blank lines are not measured, as in
 * {@link Lines}.
 */
public final class Consistency {
  private Consistency() {}

  /**
   * One non-blank line of the answer and its agreement.
   *
   * @param charStart where the line starts in the answer
   * @param charEnd where it ends (after its '\n' when there is one)
   * @param agreement fraction of samples whose alignment matches this line to an equal one, in [0, 1]
   */
  public record LineAgreement(int charStart, int charEnd, double agreement) {}

  /**
   * Agreement of an answer with its samples.
   *
   * @param lines one per non-blank line of the answer, in order
   * @param response fraction of samples with exactly the answer's non-blank lines
   * @param samples how many samples there were
   */
  public record Result(List<LineAgreement> lines, double response, int samples) {
    /** The agreement of the non-blank line that holds character {@code offset}, or NaN when none does. */
    public double lineAt(int offset) {
      for (LineAgreement line : lines) {
        if (line.charStart() <= offset && offset < line.charEnd()) {
          return line.agreement();
        }
      }
      return Double.NaN;
    }
  }

  /** Scores {@code answer} against {@code samples}; with no samples every agreement is NaN (nothing measured). */
  public static Result of(String answer, List<String> samples) {
    List<int[]> spans = nonBlankSpans(answer); // [charStart, charEnd) per non-blank line
    List<String> lines = new ArrayList<>();
    for (int[] span : spans) {
      lines.add(key(answer.substring(span[0], span[1])));
    }
    int[] agreeing = new int[lines.size()];
    int identical = 0;
    for (String sample : samples) {
      List<String> other = new ArrayList<>();
      for (int[] span : nonBlankSpans(sample)) {
        other.add(key(sample.substring(span[0], span[1])));
      }
      boolean[] matched = align(lines, other);
      for (int l = 0; l < matched.length; l++) {
        agreeing[l] += matched[l] ? 1 : 0;
      }
      identical += lines.equals(other) ? 1 : 0;
    }
    List<LineAgreement> out = new ArrayList<>();
    for (int l = 0; l < spans.size(); l++) {
      double agreement = samples.isEmpty() ? Double.NaN : (double) agreeing[l] / samples.size();
      out.add(new LineAgreement(spans.get(l)[0], spans.get(l)[1], agreement));
    }
    return new Result(out, samples.isEmpty() ? Double.NaN : (double) identical / samples.size(), samples.size());
  }

  /**
   * Which lines of {@code a} a longest common subsequence with {@code b} matches [a.size()]. The table is the
   * textbook one (Cormen et al., ch. 15.4); the walk back prefers, on ties, to skip a line of {@code b}, so the match
   * is deterministic.
   */
  static boolean[] align(List<String> a, List<String> b) {
    int n = a.size();
    int m = b.size();
    int[][] lcs = new int[n + 1][m + 1]; // lcs[i][j]: LCS length of a[i..] and b[j..]
    for (int i = n - 1; i >= 0; i--) {
      for (int j = m - 1; j >= 0; j--) {
        lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    boolean[] matched = new boolean[n];
    for (int i = 0, j = 0; i < n && j < m; ) {
      if (a.get(i).equals(b.get(j))) {
        matched[i++] = true;
        j++;
      } else if (lcs[i][j + 1] >= lcs[i + 1][j]) {
        j++;
      } else {
        i++;
      }
    }
    return matched;
  }

  /** [charStart, charEnd) of each non-blank line of {@code text}, charEnd after its '\n'. */
  private static List<int[]> nonBlankSpans(String text) {
    List<int[]> spans = new ArrayList<>();
    for (int start = 0; start < text.length(); ) {
      int newline = text.indexOf('\n', start);
      int end = newline < 0 ? text.length() : newline + 1;
      if (!text.substring(start, end).isBlank()) {
        spans.add(new int[] {start, end});
      }
      start = end;
    }
    return spans;
  }

  /** A line as compared: without trailing whitespace (and so without its '\n'). */
  private static String key(String line) {
    return line.stripTrailing();
  }
}
