package dev.candor.models.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The task's traces are right: checked by an independent little interpreter of the program text. */
class ProgramGeneratorTest {
  private static final Pattern ASSIGN = Pattern.compile("(\\w) = (\\d+)");
  private static final Pattern BINARY = Pattern.compile("(\\w) = (\\w+) (\\+|-|\\*|//|%) (\\w+)");
  private static final Pattern CONDITIONAL = Pattern.compile("(\\w) = (\\w+) if (\\w+) (<|>|==) (\\w+) else (\\w+)");
  private static final Pattern PRINT = Pattern.compile("print\\((\\w)\\)");

  /** Evaluates the program's SOURCE TEXT, line by line, with Python semantics: the printed value. */
  static long interpret(String source) {
    Map<String, Long> env = new HashMap<>();
    for (String line : source.split("\n")) {
      Matcher m;
      if ((m = CONDITIONAL.matcher(line)).matches()) {
        long l = value(m.group(3), env);
        long r = value(m.group(5), env);
        boolean c = switch (m.group(4)) {
          case "<" -> l < r;
          case ">" -> l > r;
          default -> l == r;
        };
        env.put(m.group(1), c ? value(m.group(2), env) : value(m.group(6), env));
      } else if ((m = BINARY.matcher(line)).matches()) {
        long l = value(m.group(2), env);
        long r = value(m.group(4), env);
        env.put(m.group(1), switch (m.group(3)) {
          case "+" -> l + r;
          case "-" -> l - r;
          case "*" -> l * r;
          case "//" -> Math.floorDiv(l, r);
          default -> Math.floorMod(l, r);
        });
      } else if ((m = ASSIGN.matcher(line)).matches()) {
        env.put(m.group(1), Long.parseLong(m.group(2)));
      } else if ((m = PRINT.matcher(line)).matches()) {
        return env.get(m.group(1));
      } else {
        throw new AssertionError("unparseable line: " + line);
      }
    }
    throw new AssertionError("no print");
  }

  static long value(String token, Map<String, Long> env) {
    return Character.isDigit(token.charAt(0)) ? Long.parseLong(token) : env.get(token);
  }

  @Test
  void tracesAgreeWithAnIndependentInterpreter() {
    ProgramGenerator generator = new ProgramGenerator(1);
    for (double difficulty : new double[] {0, 0.3, 0.6, 1}) {
      for (int i = 0; i < 500; i++) {
        Program p = generator.generate(i, difficulty);
        List<String> trace = p.traceLines();
        assertEquals(p.statements().size(), trace.size());
        String output = trace.getLast();
        assertEquals("output: " + interpret(p.source()), output, p.source());
        // every traced line ends with its value, and that value is what the interpreter computes up to there
        String[] sourceLines = p.source().split("\n");
        for (int line = 0; line < sourceLines.length - 1; line++) {
          String prefix = String.join("\n", java.util.Arrays.copyOf(sourceLines, line + 1)) + "\nprint("
              + sourceLines[line].charAt(0) + ")\n";
          assertTrue(trace.get(line).startsWith(sourceLines[line]), trace.get(line));
          assertTrue(trace.get(line).endsWith(" " + interpret(prefix)) || trace.get(line).equals(sourceLines[line]),
              trace.get(line) + " vs " + interpret(prefix));
        }
      }
    }
  }

  @Test
  void valuesStayInRangeAndDifficultyShapesThePrograms() {
    ProgramGenerator generator = new ProgramGenerator(2);
    double easyLines = 0;
    double hardLines = 0;
    boolean sawConditional = false;
    boolean sawModulo = false;
    for (int i = 0; i < 300; i++) {
      Program easy = generator.generate(i, 0);
      Program hard = generator.generate(i, 1);
      easyLines += easy.statements().size();
      hardLines += hard.statements().size();
      assertTrue(easy.source().matches("[a-z0-9 =+\\-()\\n]*print[a-z0-9 =+\\-()\\n]*"), easy.source());
      sawConditional |= hard.source().contains(" if ");
      sawModulo |= hard.source().contains(" % ");
      for (String line : hard.traceLines()) {
        long v = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
        assertTrue(v >= 0 && v <= ProgramGenerator.MAX_VALUE, line);
      }
    }
    assertTrue(hardLines > easyLines * 1.5, easyLines + " vs " + hardLines);
    assertTrue(sawConditional && sawModulo);
  }

  @Test
  void seedsAndIndicesAreReproducibleAndDistinct() {
    assertEquals(new ProgramGenerator(5).generate(17, 0.5).source(), new ProgramGenerator(5).generate(17, 0.5).source());
    assertNotEquals(new ProgramGenerator(5).generate(17, 0.5).source(), new ProgramGenerator(6).generate(17, 0.5).source());
    assertNotEquals(new ProgramGenerator(5).generate(17, 0.5).source(), new ProgramGenerator(5).generate(18, 0.5).source());
  }

  @Test
  void gradingCountsMatchingLines() {
    Program p = new ProgramGenerator(3).generate(0, 0.5);
    List<String> trace = p.traceLines();
    assertEquals(trace.size(), TraceTask.correctLines(p, p.trace()));
    String wrong = p.trace().replaceFirst("\\d\n", "x\n");
    assertEquals(trace.size() - 1, TraceTask.correctLines(p, wrong));
  }
}
