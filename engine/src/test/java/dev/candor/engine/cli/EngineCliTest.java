package dev.candor.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What a user sees when a command cannot run: one line and exit status 2, never a stack trace. */
class EngineCliTest {
  record Outcome(int status, String err) {}

  static Outcome run(String... args) {
    PrintStream saved = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      int status = EngineCli.run(new EngineCli(), args);
      return new Outcome(status, captured.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(saved);
    }
  }

  static Path defaultTarget() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/default/target"))) {
        return p.resolve("models/default/target");
      }
    }
    throw new IllegalStateException("models/default/target not found");
  }

  /**
   * Exit 2, one error line, and no stack trace. (Other lines on stderr are libraries' logging: DJL's warnings, the
   * fuzzing agent's notes when it shares the JVM.)
   */
  static void assertOneLine(Outcome outcome, String start) {
    assertEquals(2, outcome.status(), outcome.err());
    java.util.List<String> errors = outcome.err().lines().filter(line -> line.startsWith("error:")).toList();
    assertEquals(1, errors.size(), outcome.err());
    assertTrue(errors.getFirst().startsWith(start), errors.getFirst());
    assertTrue(outcome.err().lines().noneMatch(line -> line.matches("^\\s+at .*") || line.startsWith("Caused by")
        || line.contains("Exception in thread")), "a stack trace:\n" + outcome.err());
  }

  @Test
  void aMissingCheckpointIsOneLine() {
    assertOneLine(run("generate", "--model", "/nonexistent/model", "--prompt", "x"), "error: ");
  }

  @Test
  void theCudaBackendWithoutAGpuIsOneLine() {
    Outcome outcome = run("generate", "--model", defaultTarget().toString(), "--backend", "cuda", "--device", "gpu",
        "--prompt", "a = 1", "--max-tokens", "1");
    if (outcome.status() == 0) {
      return; // this machine has a GPU, a driver and kernels: nothing to refuse
    }
    assertOneLine(outcome, "error: ");
  }

  @Test
  void theCudaBackendOnTheCpuIsOneLine() {
    assertOneLine(run("generate", "--model", defaultTarget().toString(), "--backend", "cuda", "--prompt", "x"),
        "error: the cuda backend runs on an NVIDIA GPU");
  }
}
