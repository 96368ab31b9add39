package dev.candor.engine.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import java.nio.file.Path;

/** Loads a probe for the server: refused unless it was trained on this very model (shape, weights, format). */
final class Probes {
  private Probes() {}

  static ConfidenceModel load(Path dir, LoadedModel target) {
    var config = target.backend().config();
    return Probe.loadFor(dir, ModelIdentity.of(target.dir(), config, ModelIdentity.formatOf(config)));
  }
}
