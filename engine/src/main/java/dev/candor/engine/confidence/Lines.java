package dev.candor.engine.confidence;

import java.util.ArrayList;
import java.util.List;

/**
 * How output tokens group into lines, the unit of localized confidence (Gros &amp; Devanbu). A line is the text up to
 * and including its '\n'; a token belongs to the line its first character falls in. So a token "\n" belongs to the
 * line it ends, and every token belongs to exactly one line. The probe pipeline's labels and the server's
 * {@code confidence.lines} both use this one rule.
 *
 * <p>A line is <em>blank</em> when the text of its tokens is whitespace only ({@link #isBlank}). Blank lines carry no
 * code to be right or wrong about, so the probe is neither trained nor evaluated on them, and a probe scores them
 * "not measured" online: the same rule, on the same tokens, in both places.
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

  /**
   * Whether a line's tokens spell whitespace only. {@code offsets} are the tokens' start offsets in {@code text}, as
   * given to {@link #of}; a line's tokens span [offset of its first token, offset of the next line's first token).
   */
  public static boolean isBlank(String text, List<Integer> offsets, Line line) {
    int from = offsets.get(line.tokenStart());
    int to = line.tokenEnd() < offsets.size() ? offsets.get(line.tokenEnd()) : text.length();
    return text.substring(from, to).isBlank();
  }

  /** Whether tokens whose bytes, in order, are {@code bytes} spell whitespace only (decoded as UTF-8 together). */
  public static boolean isBlank(List<byte[]> bytes) {
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    bytes.forEach(all::writeBytes);
    return all.toString(java.nio.charset.StandardCharsets.UTF_8).isBlank();
  }

  /** The lines of {@link #of} that are not {@link #isBlank blank}: the lines of code. */
  public static List<Line> code(String text, List<Integer> offsets) {
    List<Line> code = new ArrayList<>();
    for (Line line : of(text, offsets)) {
      if (!isBlank(text, offsets, line)) {
        code.add(line);
      }
    }
    return code;
  }
}
