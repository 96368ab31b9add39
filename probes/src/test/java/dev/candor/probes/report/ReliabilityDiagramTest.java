package dev.candor.probes.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The diagram is a readable PNG, headless, also when bins are empty or there is a single bin of data. */
class ReliabilityDiagramTest {
  static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  static void assertPng(Path png) throws IOException {
    byte[] bytes = Files.readAllBytes(png);
    assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(bytes, 8));
    BufferedImage image = ImageIO.read(png.toFile());
    assertNotNull(image);
    assertEquals(640, image.getWidth());
  }

  @Test
  void drawsAPngWithEmptyBins(@TempDir Path dir) throws IOException {
    // predictions only in [0.1, 0.3) and [0.7, 1]: bins 0, 3–6 are empty
    double[] p = {0.12, 0.15, 0.25, 0.71, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0};
    boolean[] y = {false, false, true, true, false, true, true, true, true, true};
    Path png = dir.resolve("reliability.png");
    ReliabilityDiagram.write(png, "probe, line level", p, y, 10);
    assertPng(png);
  }

  @Test
  void drawsAPngWhenEverythingIsInOneBin(@TempDir Path dir) throws IOException {
    double[] p = {0.3, 0.3, 0.3};
    boolean[] y = {true, false, false};
    Path png = dir.resolve("one-bin.png");
    ReliabilityDiagram.write(png, "base rate", p, y, 10);
    assertPng(png);
  }

  @Test
  void drawsAPngOfManyPredictions(@TempDir Path dir) throws IOException {
    SplittableRandom random = new SplittableRandom(2);
    int n = 2000;
    double[] p = new double[n];
    boolean[] y = new boolean[n];
    for (int i = 0; i < n; i++) {
      p[i] = random.nextDouble();
      y[i] = random.nextDouble() < p[i] * p[i]; // overconfident
    }
    Path png = dir.resolve("many.png");
    ReliabilityDiagram.write(png, "overconfident", p, y, 10);
    assertPng(png);
  }
}
