package dev.candor.probes.eval;

import dev.candor.engine.confidence.Probe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.Metrics;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A saved probe scored on held-out features (no training, no cross-fitting), beside the token-probability baseline. */
public final class ProbeReport {
  private ProbeReport() {}

  public static Report heldOut(Probe probe, FeatureSet features) {
    List<Double>[][] p = newLists();
    List<Boolean>[] y = newLabelLists();
    for (ProblemFeatures problem : features.problems()) {
      List<float[]> hidden = List.of(problem.hidden());
      for (int i = 0; i < problem.size(); i++) {
        double logit = probe.logit(List.of(problem.hidden()[i]));
        add(p, 0, logit, probe.platt(Probe.Level.TOKEN), Math.exp(problem.tokenLogprob()[i]));
        y[0].add(problem.tokenLabels()[i]);
      }
      for (int l = 0; l < problem.lines().length; l++) {
        int[] r = problem.lines()[l];
        double min = 1;
        for (int i = r[0]; i < r[1]; i++) {
          min = Math.min(min, Math.exp(problem.tokenLogprob()[i]));
        }
        add(p, 1, probe.logit(hidden.subList(r[0], r[1])), probe.platt(Probe.Level.LINE), min);
        y[1].add(problem.lineLabels()[l]);
      }
      double min = 1;
      for (double lp : problem.tokenLogprob()) {
        min = Math.min(min, Math.exp(lp));
      }
      add(p, 2, probe.logit(hidden), probe.platt(Probe.Level.RESPONSE), min);
      y[2].add(problem.problemLabel());
    }
    List<ReportRow> rows = new ArrayList<>();
    Map<String, Double> baseRates = new LinkedHashMap<>();
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (int level = 0; level < 3; level++) {
      boolean[] labels = new boolean[y[level].size()];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = y[level].get(i);
      }
      String name = ProbeEvaluation.LEVELS[level];
      rows.add(ReportRow.of("probe", name, false, Metrics.Scores.of(array(p[level][0]), labels)));
      rows.add(ReportRow.of("probe", name, true, Metrics.Scores.of(array(p[level][1]), labels)));
      rows.add(ReportRow.of("token_prob", name, false, Metrics.Scores.of(array(p[level][2]), labels)));
      baseRates.put(name, Metrics.baseRate(labels));
      counts.put(name + "s", labels.length);
    }
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("evaluation", "held out: the saved probe and its Platt scaling, no refitting");
    meta.put("tap", features.tap());
    return new Report(rows, baseRates, counts, meta);
  }

  /** Up to {@code n} token sets (single tokens, lines, whole completions) of the first problems, for export checks. */
  public static List<List<float[]>> sampleSets(FeatureSet features, int n) {
    List<List<float[]>> sets = new ArrayList<>();
    for (ProblemFeatures p : features.problems()) {
      List<float[]> hidden = List.of(p.hidden());
      sets.add(hidden.subList(0, 1));
      for (int[] line : p.lines()) {
        sets.add(hidden.subList(line[0], line[1]));
      }
      sets.add(hidden);
      if (sets.size() >= n) {
        break;
      }
    }
    return sets.subList(0, Math.min(n, sets.size()));
  }

  private static void add(List<Double>[][] p, int level, double logit, Probe.Platt platt, double tokenProb) {
    p[level][0].add(1 / (1 + Math.exp(-logit)));
    p[level][1].add(platt.apply(logit));
    p[level][2].add(tokenProb);
  }

  @SuppressWarnings("unchecked")
  private static List<Double>[][] newLists() {
    List<Double>[][] lists = new List[3][3];
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        lists[i][j] = new ArrayList<>();
      }
    }
    return lists;
  }

  @SuppressWarnings("unchecked")
  private static List<Boolean>[] newLabelLists() {
    List<Boolean>[] lists = new List[3];
    for (int i = 0; i < 3; i++) {
      lists[i] = new ArrayList<>();
    }
    return lists;
  }

  private static double[] array(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).toArray();
  }
}
