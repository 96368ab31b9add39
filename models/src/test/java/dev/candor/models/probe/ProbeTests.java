package dev.candor.models.probe;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the committed default models are, from any module's working directory. */
final class ProbeTests {
  private ProbeTests() {}

  static Path defaults() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/default/target"))) {
        return p.resolve("models/default");
      }
    }
    throw new IllegalStateException("models/default not found");
  }
}
