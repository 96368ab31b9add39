package dev.candor.probes.eval;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The kind of a trace line, read from its text alone, as a deployer could: the cheapest content feature there is.
 * On the trace task it is most of what separates right lines from wrong ones (restating a constant is almost never
 * wrong, computing is often wrong), so every baseline that knows the content starts from it. Lines in no trace format
 * are {@link #OTHER}.
 */
public enum LineType {
  /** {@code x = 47}: a constant restated. */
  ASSIGNMENT,
  /** {@code x = a * 3 = 47 * 3 = 141} or a conditional: something computed. */
  OPERATION,
  /** {@code output: 141}. */
  OUTPUT,
  /** Anything else. */
  OTHER;

  private static final Pattern ASSIGN = Pattern.compile("^\\w+ = -?\\d+$");
  private static final Pattern COMPUTE = Pattern.compile("^\\w+ = .+ = .+$");

  public static LineType of(String line) {
    String text = line.strip();
    if (text.startsWith("output:")) {
      return OUTPUT;
    }
    if (ASSIGN.matcher(text).matches()) {
      return ASSIGNMENT;
    }
    if (COMPUTE.matcher(text).matches()) {
      return OPERATION;
    }
    return OTHER;
  }

  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }
}
