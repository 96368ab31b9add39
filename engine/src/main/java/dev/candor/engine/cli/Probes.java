package dev.candor.engine.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.confidence.StackedProbe;
import dev.candor.engine.cpu.JavaBackend;
import java.nio.file.Path;

/**
 * Loads a probe for the server: refused unless it was trained on this very model (shape and weights); trained at
 * another weight format (e.g. float32, served at q8_0) it loads with a warning, since quantizing changed the default
 * probe's calibration by no measurable amount (README, What q8_0 changes) but that is a measurement, not a promise.
 */
final class Probes {
  private Probes() {}

  static ConfidenceModel load(Path dir, LoadedModel target) {
    var config = target.backend().config();
    String format = target.backend() instanceof JavaBackend java ? java.weightFormat().label()
        : ModelIdentity.formatOf(config);
    ModelIdentity served = ModelIdentity.of(target.dir(), config, format);
    if (StackedProbe.isStack(dir)) {
      StackedProbe stack = StackedProbe.load(dir);
      return formatOnly(dir, stack.model(), served) ? stack : check(dir, stack, served);
    }
    Probe probe = Probe.load(dir, null);
    return formatOnly(dir, probe.model(), served) ? probe : Probe.loadFor(dir, served);
  }

  /** Whether the probe was trained on this very model at another weight format (said once, as a warning). */
  private static boolean formatOnly(Path dir, ModelIdentity trained, ModelIdentity served) {
    if (trained.shape().equals(served.shape()) && trained.weights().equals(served.weights())
        && !trained.format().equals(served.format())) {
      System.err.println("warning: the probe in " + dir + " was trained on this model at weight format "
          + trained.format() + " and is served at " + served.format() + "; its calibration was measured at "
          + trained.format() + " only");
      return true;
    }
    return false;
  }

  /** The stack, if trained on the served model; refused in one line naming both, as {@link Probe#loadFor} does. */
  private static StackedProbe check(Path dir, StackedProbe stack, ModelIdentity served) {
    Probe.loadFor(dir, served); // the stack's served probe: the same identity check and message
    return stack;
  }
}
