package dev.candor.probes.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.candor.engine.confidence.Probe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A cached cross-validation reads back exactly, and only under the key it was written with. */
class CrossValidationCacheTest {
  static ProbeCrossValidation.Result result() {
    Probe.Platt[] platt = {new Probe.Platt(1.1, -0.2), new Probe.Platt(0.9, 0.3), Probe.Platt.IDENTITY};
    Probe.Head head = new Probe.Head(new float[] {1, -2, 3, 0.5f}, new float[] {0.25f, -0.75f},
        new float[] {2, -1}, 0.125f, platt);
    return new ProbeCrossValidation.Result(new double[][] {{0.5, -1.5, 2}, {3.25}, {-0.125, 0}},
        List.of(head, head));
  }

  @Test
  void readsBackWhatWasWrittenUnderTheSameKey(@TempDir Path dir) {
    Path file = dir.resolve("sub/target_tap2.bin");
    ProbeCrossValidation.Result written = result();
    CrossValidationCache.write(file, "target:tap2|recipe|folds 5", written);
    ProbeCrossValidation.Result read = CrossValidationCache.read(file, "target:tap2|recipe|folds 5");
    for (int level = 0; level < 3; level++) {
      assertArrayEquals(written.logits()[level], read.logits()[level]);
    }
    assertEquals(2, read.heads().size());
    Probe.Head w = written.heads().get(1);
    Probe.Head r = read.heads().get(1);
    assertArrayEquals(w.projWeight(), r.projWeight());
    assertArrayEquals(w.projBias(), r.projBias());
    assertArrayEquals(w.outWeight(), r.outWeight());
    assertEquals(w.outBias(), r.outBias());
    for (Probe.Level level : Probe.Level.values()) {
      assertEquals(w.platt(level), r.platt(level));
    }
  }

  @Test
  void anotherKeyAMissingFileOrADamagedFileIsAMiss(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("c.bin");
    assertNull(CrossValidationCache.read(file, "k"));
    CrossValidationCache.write(file, "k", result());
    assertNull(CrossValidationCache.read(file, "k|folds 4"));
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    assertNull(CrossValidationCache.read(file, "k"));
  }
}
