package dev.candor.engine.cli;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.model.WeightFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The server's probe loading: the default probe on its own target loads; at another weight format it loads with a
 * warning naming both formats; on another model (the drafter, another shape and weights) it is refused in one line.
 */
class ProbesTest {
  static final Path MODELS = Path.of(System.getProperty("user.dir")).getParent().resolve("models/default");

  @Test
  void theDefaultProbeLoadsOnItsTargetAndWarnsAtAnotherFormat() {
    try (LoadedModel target = LoadedModel.load(MODELS.resolve("target"), "cpu", "java")) {
      assertNotNull(Probes.load(MODELS.resolve("probe"), target));
    }
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true));
    try (LoadedModel q8 = LoadedModel.load(MODELS.resolve("target"), "cpu", "java", WeightFormat.Q8_0,
        JavaBackend.defaultThreads())) {
      assertNotNull(Probes.load(MODELS.resolve("probe"), q8));
    } finally {
      System.setErr(err);
    }
    String warning = captured.toString();
    assertTrue(warning.contains("f32") && warning.contains("q8_0"), warning);
  }

  @Test
  void anotherModelIsRefusedInOneLine() {
    try (LoadedModel drafter = LoadedModel.load(MODELS.resolve("drafter"), "cpu", "java")) {
      CheckpointException e = assertThrows(CheckpointException.class,
          () -> Probes.load(MODELS.resolve("probe"), drafter));
      assertTrue(!e.getMessage().contains("\n") && e.getMessage().contains("probe"), e.getMessage());
    }
  }
}
