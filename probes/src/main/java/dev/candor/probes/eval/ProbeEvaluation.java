package dev.candor.probes.eval;

import dev.candor.engine.cli.ProgressBar;
import dev.candor.engine.confidence.Probe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.CrossValidation;
import dev.candor.probes.metrics.Metrics;
import dev.candor.probes.metrics.Platt;
import dev.candor.probes.report.ReliabilityDiagram;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.train.ProbeSettings;
import dev.candor.probes.train.ProbeTrainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The probe's evaluation, with the baselines in the same run (Gros &amp; Devanbu's protocol): k-fold cross-validation
 * by problem; each fold's probe scores only problems it did not train on; Platt scaling is cross-fitted (each row's
 * scaling is fitted on the other folds' rows); Brier, Brier skill score, ECE (10 bins) and AUC at token, line and
 * problem level, unscaled and scaled, averaged over folds. The final probe is then trained on every problem, with
 * Platt parameters fitted on all out-of-fold logits.
 *
 * <p>Baselines: {@code token_prob}, the target's raw probability of each token (a line or problem by the minimum of
 * its tokens, and {@code token_prob_mean} by the mean); {@code multisample}, the fraction of other samples whose diff
 * keeps each token (a line or problem by the mean of its tokens), when the dataset has samples.
 */
public final class ProbeEvaluation {
  public static final String[] LEVELS = {"token", "line", "problem"};

  /** Per-row scores of one method at one level: raw probabilities and the logits Platt scaling is fitted on. */
  record Scored(double[] probability, double[] logit) {}

  /** The outcome: the report, the final (scaled) probe, and its out-of-fold logits per level. */
  public record Result(Report report, Probe probe) {}

  private final FeatureSet features;
  private final ProbeSettings settings;
  private final int folds;
  private final long seed;
  // rows at each level: labels, the problem (group) each belongs to
  private final boolean[][] labels = new boolean[3][];
  private final int[][] groups = new int[3][];

  public ProbeEvaluation(FeatureSet features, ProbeSettings settings, int folds, long seed) {
    this.features = features;
    this.settings = settings;
    this.folds = folds;
    this.seed = seed;
    List<ProblemFeatures> problems = features.problems();
    List<Boolean> tokenLabels = new ArrayList<>();
    List<Integer> tokenGroups = new ArrayList<>();
    List<Boolean> lineLabels = new ArrayList<>();
    List<Integer> lineGroups = new ArrayList<>();
    for (int g = 0; g < problems.size(); g++) {
      ProblemFeatures p = problems.get(g);
      for (boolean l : p.tokenLabels()) {
        tokenLabels.add(l);
        tokenGroups.add(g);
      }
      for (boolean l : p.lineLabels()) {
        lineLabels.add(l);
        lineGroups.add(g);
      }
    }
    labels[0] = unbox(tokenLabels);
    labels[1] = unbox(lineLabels);
    labels[2] = new boolean[problems.size()];
    groups[0] = tokenGroups.stream().mapToInt(Integer::intValue).toArray();
    groups[1] = lineGroups.stream().mapToInt(Integer::intValue).toArray();
    groups[2] = new int[problems.size()];
    for (int g = 0; g < problems.size(); g++) {
      labels[2][g] = problems.get(g).problemLabel();
      groups[2][g] = g;
    }
  }

  public Result run(Path diagrams, PrintStream log) throws IOException {
    List<ProblemFeatures> problems = features.problems();
    if (problems.size() < folds) {
      throw new IllegalArgumentException(problems.size() + " problems with a non-empty completion; " + folds
          + "-fold cross-validation needs at least " + folds);
    }
    int[] foldOfGroup = CrossValidation.folds(problems.size(), folds, seed);
    if (diagrams != null) {
      java.nio.file.Files.createDirectories(diagrams);
    }

    // the probe, out of fold: fold f's problems are scored by the probe trained on the others
    double[][] probeLogits = {new double[labels[0].length], new double[labels[1].length], new double[labels[2].length]};
    ProgressBar bar = log == null ? null : new ProgressBar(log, "probe cross-validation", folds + 1);
    for (int f = 0; f < folds; f++) {
      List<ProblemFeatures> train = new ArrayList<>();
      for (int g = 0; g < problems.size(); g++) {
        if (foldOfGroup[g] != f) {
          train.add(problems.get(g));
        }
      }
      Probe probe = ProbeTrainer.train(train, settings.withSeed(settings.seed() + f), features.tap(),
          features.hiddenSize(), features.fingerprint());
      scoreFold(probe, f, foldOfGroup, probeLogits);
      if (bar != null) {
        bar.update(f + 1, "fold " + (f + 1) + " trained on " + train.size() + " problems");
      }
    }
    Probe last = ProbeTrainer.train(problems, settings, features.tap(), features.hiddenSize(), features.fingerprint());
    if (bar != null) {
      bar.update(folds + 1, "final probe trained on all " + problems.size() + " problems");
    }
    Probe.Platt[] platt = new Probe.Platt[3];
    for (int level = 0; level < 3; level++) {
      if (labels[level].length == 0) {
        platt[level] = Probe.Platt.IDENTITY; // e.g. no code lines at all: nothing to scale on
        continue;
      }
      Platt.Fit fit = Platt.fit(probeLogits[level], labels[level]);
      platt[level] = new Probe.Platt(fit.a(), fit.b());
    }
    Probe probe = new Probe(last.tap(), last.hiddenSize(), last.width(), last.maxPool(), last.projWeight(),
        last.projBias(), last.outWeight(), last.outBias(), platt, last.fingerprint(), null);

    Map<String, Scored[]> methods = new LinkedHashMap<>();
    methods.put("probe", new Scored[] {fromLogits(probeLogits[0]), fromLogits(probeLogits[1]), fromLogits(probeLogits[2])});
    methods.put("token_prob", tokenProbability(true));
    methods.put("token_prob_mean", tokenProbability(false));
    boolean sampled = problems.stream().allMatch(p -> p.sampleAgreement() != null);
    if (sampled) {
      methods.put("multisample", multisample());
    }

    List<ReportRow> rows = new ArrayList<>();
    for (var method : methods.entrySet()) {
      for (int level = 0; level < 3; level++) {
        if (level == 0 && method.getKey().equals("token_prob_mean")) {
          continue; // the same as token_prob at token level
        }
        Scored s = method.getValue()[level];
        if (labels[level].length == 0) {
          Metrics.Scores none = new Metrics.Scores(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
          rows.add(ReportRow.of(method.getKey(), LEVELS[level], false, none));
          rows.add(ReportRow.of(method.getKey(), LEVELS[level], true, none));
          continue;
        }
        double[] scaled = CrossValidation.crossFit(groups[level], foldOfGroup, s.logit(), labels[level]);
        rows.add(ReportRow.of(method.getKey(), LEVELS[level], false, foldMean(s.probability(), level, foldOfGroup)));
        rows.add(ReportRow.of(method.getKey(), LEVELS[level], true, foldMean(scaled, level, foldOfGroup)));
        if (diagrams != null && (method.getKey().equals("probe") || level == 1)) {
          ReliabilityDiagram.write(diagrams.resolve("reliability-" + method.getKey() + "-" + LEVELS[level] + ".png"),
              method.getKey() + ", " + LEVELS[level] + " level, unscaled", s.probability(), labels[level], 10);
          ReliabilityDiagram.write(diagrams.resolve("reliability-" + method.getKey() + "-" + LEVELS[level] + "-scaled.png"),
              method.getKey() + ", " + LEVELS[level] + " level, Platt-scaled", scaled, labels[level], 10);
        }
      }
    }
    Map<String, Double> baseRates = new LinkedHashMap<>();
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (int level = 0; level < 3; level++) {
      baseRates.put(LEVELS[level], labels[level].length == 0 ? Double.NaN : Metrics.baseRate(labels[level]));
      counts.put(LEVELS[level] + "s", labels[level].length);
    }
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("folds", folds);
    meta.put("seed", seed);
    meta.put("tap", features.tap());
    meta.put("hidden_size", features.hiddenSize());
    meta.put("model_fingerprint", features.fingerprint());
    meta.put("probe", settings.toString());
    meta.put("scaling", "Platt, cross-fitted: each row's scaling fitted on the other folds' rows");
    meta.put("metrics", "mean over folds; ECE with 10 equal-width bins; BSS against the base rate");
    return new Result(new Report(rows, baseRates, counts, meta), probe);
  }

  /** Scores fold f's rows at every level with a probe that never saw them. */
  private void scoreFold(Probe probe, int f, int[] foldOfGroup, double[][] logits) {
    int token = 0;
    int line = 0;
    List<ProblemFeatures> problems = features.problems();
    for (int g = 0; g < problems.size(); g++) {
      ProblemFeatures p = problems.get(g);
      boolean mine = foldOfGroup[g] == f;
      if (mine) {
        for (int i = 0; i < p.size(); i++) {
          logits[0][token + i] = probe.logit(List.of(p.hidden()[i]));
        }
        for (int l = 0; l < p.lines().length; l++) {
          logits[1][line + l] = probe.logit(List.of(p.hidden()).subList(p.lines()[l][0], p.lines()[l][1]));
        }
        logits[2][g] = probe.logit(List.of(p.hidden()));
      }
      token += p.size();
      line += p.lines().length;
    }
  }

  private static Scored fromLogits(double[] logits) {
    double[] p = new double[logits.length];
    for (int i = 0; i < p.length; i++) {
      p[i] = Platt.sigmoid(logits[i]);
    }
    return new Scored(p, logits);
  }

  private static Scored fromProbabilities(double[] p) {
    double[] logit = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      logit[i] = Platt.logit(p[i]);
    }
    return new Scored(p, logit);
  }

  /** Token probability; lines and problems by the minimum of their tokens (or the mean). */
  private Scored[] tokenProbability(boolean minimum) {
    return aggregate(p -> {
      double[] out = new double[p.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = Math.exp(p.tokenLogprob()[i]);
      }
      return out;
    }, minimum);
  }

  /** Fraction of samples that keep each token; lines and problems by the mean. */
  private Scored[] multisample() {
    return aggregate(ProblemFeatures::sampleAgreement, false);
  }

  private Scored[] aggregate(java.util.function.Function<ProblemFeatures, double[]> perToken, boolean minimum) {
    double[] tokens = new double[labels[0].length];
    double[] lines = new double[labels[1].length];
    double[] problems = new double[labels[2].length];
    int t = 0;
    int l = 0;
    for (int g = 0; g < features.problems().size(); g++) {
      ProblemFeatures p = features.problems().get(g);
      double[] values = perToken.apply(p);
      System.arraycopy(values, 0, tokens, t, values.length);
      for (int[] line : p.lines()) {
        lines[l++] = combine(values, line[0], line[1], minimum);
      }
      problems[g] = combine(values, 0, values.length, minimum);
      t += values.length;
    }
    return new Scored[] {fromProbabilities(tokens), fromProbabilities(lines), fromProbabilities(problems)};
  }

  private static double combine(double[] values, int from, int to, boolean minimum) {
    double acc = minimum ? 1 : 0;
    for (int i = from; i < to; i++) {
      acc = minimum ? Math.min(acc, values[i]) : acc + values[i] / (to - from);
    }
    return Math.min(1, Math.max(0, acc));
  }

  /** Metrics on each fold's rows, averaged over folds. */
  private Metrics.Scores foldMean(double[] p, int level, int[] foldOfGroup) {
    int[] rowFolds = CrossValidation.rowFolds(groups[level], foldOfGroup);
    List<Metrics.Scores> perFold = new ArrayList<>();
    for (int f = 0; f < folds; f++) {
      boolean[] mask = CrossValidation.testMask(rowFolds, f);
      double[] pf = CrossValidation.select(p, mask);
      if (pf.length > 0) {
        perFold.add(Metrics.Scores.of(pf, CrossValidation.select(labels[level], mask)));
      }
    }
    return Metrics.Scores.mean(perFold);
  }

  private static boolean[] unbox(List<Boolean> values) {
    boolean[] out = new boolean[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }
}
