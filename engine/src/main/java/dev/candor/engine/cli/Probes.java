package dev.candor.engine.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import java.nio.file.Path;

/** Loads a probe for the server. */
final class Probes {
  private Probes() {}

  static ConfidenceModel load(Path dir, LoadedModel target) {
    return dev.candor.engine.confidence.Probe.load(dir, target.backend().config());
  }
}
