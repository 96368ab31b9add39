package dev.candor.models.probe;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.confidence.StackedProbe;
import dev.candor.models.task.CalibrationDataset;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.train.DefaultModels;
import dev.candor.probes.eval.ProbeReport;
import dev.candor.probes.features.FeatureExtractor;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.report.RowDetail;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed probe's calibration holds on fresh data: the default target answers problems of a stream no probe
 * ever saw, the offline pipeline labels and scores them, and the served probe's line-level BSS and ECE on them must
 * agree with what cross-validation reported (their 95% intervals overlap the committed report's). The same check on a
 * deliberately mis-scaled copy of the probe fails, so it can fail.
 */
class CommittedProbeTest {
  static final int PROBLEMS = 150;
  static LoadedModel target;
  static FeatureSet targetFeatures;
  static FeatureSet probeFeatures;
  static Probe probe;
  static StackedProbe stack; // the committed lines' stack, or null
  static Report committed;

  @BeforeAll
  static void answerFreshProblems() throws Exception {
    Path defaults = ProbeTests.defaults();
    target = LoadedModel.load(defaults.resolve("target"), "cpu");
    probe = Probe.load(defaults.resolve("probe"), (dev.candor.engine.checkpoint.Qwen2Config) null);
    stack = StackedProbe.isStack(defaults.resolve("probe")) ? StackedProbe.load(defaults.resolve("probe")) : null;
    committed = Report.readJson(defaults.resolve("probe/report.json"));
    var examples = CalibrationDataset.make(target, new ProgramGenerator(DefaultModels.PROBE_TEST_PROGRAMS), PROBLEMS,
        0, 0.8, 0, 1, DefaultModels.PROBE_TEST_PROGRAMS, Integer.MAX_VALUE, null);
    int[] taps = stack != null ? stack.taps() : probe.reads() == Probe.Reads.TARGET ? probe.readsTaps() : new int[] {0};
    targetFeatures = new FeatureExtractor(target, taps).extract(examples, null);
    if (probe.reads() == Probe.Reads.TARGET) {
      probeFeatures = targetFeatures;
    } else {
      try (LoadedModel drafter = LoadedModel.load(defaults.resolve("drafter"), "cpu")) {
        probeFeatures = new FeatureExtractor(drafter, probe.readsTaps()).extract(examples, null);
      }
    }
  }

  @AfterAll
  static void close() {
    target.close();
  }

  @Test
  void theServedProbesCalibrationHoldsOnFreshProblems() {
    Probe loaded = Probe.loadFor(ProbeTests.defaults().resolve("probe"), probeFeatures.model());
    List<String> disagreements = stack != null ? check(ProbeReport.heldOut(stack, targetFeatures, 1, 400))
        : check(loaded);
    assertTrue(disagreements.isEmpty(), String.join("; ", disagreements));
  }

  /** The stack with every fold's regression 1.5 logits too sure, then its (unchanged) calibration. */
  @Test
  void aMisScaledStackFailsTheSameCheck() {
    org.junit.jupiter.api.Assumptions.assumeTrue(stack != null, "the committed probe has no stack");
    List<StackedProbe.Fold> shifted = new ArrayList<>();
    for (StackedProbe.Fold f : stack.folds()) {
      double[] beta = f.head().beta().clone();
      beta[beta.length - 1] += 1.5;
      shifted.add(new StackedProbe.Fold(new StackedProbe.Logistic(f.head().mean(), f.head().scale(), beta),
          f.calibration()));
    }
    StackedProbe overconfident = new StackedProbe(stack.served(), stack.members(), stack.memberNames(), shifted);
    assertFalse(check(ProbeReport.heldOut(overconfident, targetFeatures, 1, 400)).isEmpty(),
        "a stack 1.5 logits too sure must not pass");
  }

  @Test
  void aMisScaledProbeFailsTheSameCheck() {
    List<Probe.Head> shifted = new ArrayList<>();
    for (Probe.Head h : probe.heads()) {
      Probe.Platt[] platt = new Probe.Platt[3];
      for (Probe.Level level : Probe.Level.values()) {
        platt[level.ordinal()] = new Probe.Platt(h.platt(level).a(), h.platt(level).b() + 1.5);
      }
      shifted.add(h.withPlatt(platt));
    }
    Probe overconfident = new Probe(probe.reads(), probe.readsTaps(), probe.hiddenSize(), probe.recordFeatures(),
        probe.width(), probe.maxPool(), shifted, probe.model(), null);
    assertFalse(check(overconfident).isEmpty(), "a probe 1.5 logits too sure must not pass");
  }

  /** What disagrees between the fresh problems' intervals and the committed cross-validated ones (empty: none). */
  static List<String> check(Probe p) {
    return check(ProbeReport.heldOut(p, targetFeatures, probeFeatures, 1, 400));
  }

  static List<String> check(Report fresh) {
    ReportRow now = fresh.row("probe", "line", true, ReportRow.ALL);
    ReportRow cv = committed.row("probe", "line", true, ReportRow.ALL);
    RowDetail nowDetail = fresh.detail(now);
    RowDetail cvDetail = committed.detail(cv);
    List<String> out = new ArrayList<>();
    if (now.ciHigh() < cv.ciLow() || now.ciLow() > cv.ciHigh()) {
      out.add(String.format("line BSS on %d fresh lines %.3f [%.3f, %.3f], cross-validated %.3f [%.3f, %.3f]",
          nowDetail.n(), now.bss(), now.ciLow(), now.ciHigh(), cv.bss(), cv.ciLow(), cv.ciHigh()));
    }
    if (nowDetail.eceLow() > cvDetail.eceHigh()) {
      out.add(String.format("line ECE on fresh lines %.3f [%.3f, %.3f], cross-validated %.3f [%.3f, %.3f]",
          now.ece(), nowDetail.eceLow(), nowDetail.eceHigh(), cv.ece(), cvDetail.eceLow(), cvDetail.eceHigh()));
    }
    return out;
  }
}
