package dev.candor.probes.eval;

import dev.candor.engine.confidence.Probe;
import dev.candor.engine.confidence.StackedProbe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.Bootstrap;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.train.ProbeInput;
import dev.candor.probes.train.ProbeTrainer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A saved probe scored on held-out features (no training, no refitting), beside the raw token probability: what
 * {@code probe evaluate} reports, with bootstrap intervals over the problems, on all rows and on every subset.
 */
public final class ProbeReport {
  private ProbeReport() {}

  /** The probe's input as features hold it: its source's tap and its record features. */
  public static ProbeInput input(Probe probe) {
    return new ProbeInput(probe.reads().key(), probe.readsTaps(), probe.recordFeatures());
  }

  /**
   * Scores {@code probe} on {@code target}'s problems, reading its hidden states from {@code states} (the target's
   * features again, or the drafter's for a probe that reads the drafter).
   */
  public static Report heldOut(Probe probe, FeatureSet target, FeatureSet states, long seed, int resamples) {
    return heldOut(probe, null, target, states, seed, resamples);
  }

  /** A saved stack scored the same way: its lines by the stack, tokens and the response by its served probe. */
  public static Report heldOut(StackedProbe stack, FeatureSet target, long seed, int resamples) {
    return heldOut(stack.served(), stack, target, target, seed, resamples);
  }

  private static Report heldOut(Probe probe, StackedProbe stack, FeatureSet target, FeatureSet states, long seed,
      int resamples) {
    Rows rows = new Rows(target.problems());
    List<ProbeTrainer.Problem> inputs = input(probe).build(states, matching(states, target), target.problems());
    Map<String, Scored> methods = new LinkedHashMap<>();
    methods.put("probe", ProbeCrossValidation.score("probe", probe, inputsAsRaw(probe, inputs), rows));
    if (stack != null) {
      double[][] lines = ProbeStudy.stackLines(stack, target);
      methods.put("probe", ProbeStudy.withLines(methods.get("probe"), lines[0], lines[1]));
    }
    Scored tokenProb = Baselines.fixed("token_prob", rows);
    methods.put("token_prob", new Scored("token_prob", tokenProb.raw(), new double[3][]));
    int[] oneFold = new int[rows.problems.size()];
    var e = new ReportBuilder.Evaluation(rows, oneFold, 1, new Bootstrap(oneFold, resamples, seed));
    ReportBuilder report = new ReportBuilder();
    for (Scored s : methods.values()) {
      for (int level = 0; level < 3; level++) {
        report.add(s, e, level, ReportRow.ALL, null);
        for (var subset : rows.subsets.get(level).entrySet()) {
          report.add(s, e, level, subset.getKey(), subset.getValue());
        }
      }
    }
    Map<String, Double> baseRates = new LinkedHashMap<>();
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (int level = 0; level < 3; level++) {
      baseRates.put(Rows.LEVELS[level], rows.count(level) == 0 ? Double.NaN
          : dev.candor.probes.metrics.Metrics.baseRate(rows.labels[level]));
      counts.put(Rows.LEVELS[level] + "s", rows.count(level));
    }
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("evaluation", "held out: the saved probe and its Platt scaling, no refitting; token_prob raw");
    meta.put("probe_reads", input(probe).name() + (stack == null ? "" : "; lines: the stack of "
        + stack.memberNames()));
    meta.put("model", probe.model().describe());
    return new Report(report.rows, report.details, report.comparisons, baseRates, counts, meta);
  }

  /** The saved probe scores its own inputs: as built offline they already hold the record features. */
  private static List<ProbeTrainer.Problem> inputsAsRaw(Probe probe, List<ProbeTrainer.Problem> inputs) {
    return inputs;
  }

  static List<ProblemFeatures> matching(FeatureSet states, FeatureSet target) {
    Map<String, ProblemFeatures> byId = new java.util.HashMap<>();
    states.problems().forEach(p -> byId.put(p.id(), p));
    List<ProblemFeatures> out = new ArrayList<>();
    for (ProblemFeatures p : target.problems()) {
      ProblemFeatures match = byId.get(p.id());
      if (match == null) {
        throw new IllegalArgumentException("no features of problem '" + p.id() + "' in the probe's source");
      }
      out.add(match);
    }
    return out;
  }

  /**
   * Up to {@code n} token sets (single tokens, lines, whole completions) of the first problems, as probe inputs
   * [count][input], for export checks.
   */
  public static List<List<float[]>> sampleSets(List<ProbeTrainer.Problem> problems, int n) {
    List<List<float[]>> sets = new ArrayList<>();
    for (ProbeTrainer.Problem p : problems) {
      List<float[]> inputs = List.of(p.inputs());
      sets.add(inputs.subList(0, 1));
      for (int[] line : p.lines()) {
        sets.add(inputs.subList(line[0], line[1]));
      }
      sets.add(inputs);
      if (sets.size() >= n) {
        break;
      }
    }
    return sets.subList(0, Math.min(n, sets.size()));
  }
}
