package dev.candor.engine.confidence;

import java.util.ArrayList;
import java.util.List;

/**
 * How output tokens group into lines, the unit of localized confidence (Gros &amp; Devanbu). A line is the text up to
 * and including its '\n'; a token belongs to the line its first character falls in. So a token "\n" belongs to the
 * line it ends, and every token belongs to exactly one line. The probe pipeline's labels and the server's
 * {@code confidence.lines} both use this one rule.
 */
public final class Lines {
  private Lines() {}

  /**
   * One line: tokens [tokenStart, tokenEnd) and characters [charStart, charEnd) of the text (charEnd after the '\n'
   * when there is one).
   */
  public record Line(int tokenStart, int tokenEnd, int charStart, int charEnd) {
    public int size() {
      return tokenEnd - tokenStart;
    }
  }

  /**
   * Splits {@code text} into lines and assigns tokens by their start offsets ({@code offsets}, non-decreasing).
   * Lines that no token starts in are left out, so every returned line has at least one token.
   */
  public static List<Line> of(String text, List<Integer> offsets) {
    List<Line> lines = new ArrayList<>();
    int lineStart = 0;
    int token = 0;
    int n = offsets.size();
    while (lineStart < text.length() || token < n) {
      int newline = text.indexOf('\n', lineStart);
      int lineEnd = newline < 0 ? text.length() : newline + 1;
      int first = token;
      while (token < n && (offsets.get(token) < lineEnd || lineEnd == text.length())) {
        token++;
      }
      if (token > first) {
        lines.add(new Line(first, token, lineStart, lineEnd));
      }
      if (lineEnd >= text.length()) {
        break;
      }
      lineStart = lineEnd;
    }
    return lines;
  }
}
