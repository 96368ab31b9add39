package dev.candor.probes.eval;

import dev.candor.engine.cli.ProgressBar;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.probes.metrics.Platt;
import dev.candor.probes.train.ProbeSettings;
import dev.candor.probes.train.ProbeTrainer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * k-fold cross-validation of one probe input (Gros &amp; Devanbu's protocol): fold f's problems are scored only by
 * the head trained on the other folds, giving out-of-fold logits at every level for the report. The same k heads
 * are what Candor ships: each is Platt-scaled, per level, on the fold it did not train on, so every head's scaling
 * was fitted on data it never saw and holds on fresh data; their mean is the served p(correct).
 */
final class ProbeCrossValidation {
  /**
   * @param logits out-of-fold logits [level][rows] of {@link Rows}
   * @param heads one per fold, Platt-scaled on its own held-out fold
   */
  record Result(double[][] logits, List<Probe.Head> heads) {}

  private ProbeCrossValidation() {}

  static Result run(List<ProbeTrainer.Problem> problems, Rows rows, int[] foldOfGroup, int folds, ProbeSettings s,
      int inputSize, String what, PrintStream log) {
    double[][] logits = {new double[rows.count(Rows.TOKEN)], new double[rows.count(Rows.LINE)],
        new double[rows.count(Rows.PROBLEM)]};
    List<Probe.Head> heads = new ArrayList<>();
    ProgressBar bar = log == null ? null : new ProgressBar(log, what, folds);
    for (int f = 0; f < folds; f++) {
      List<ProbeTrainer.Problem> train = new ArrayList<>();
      for (int g = 0; g < problems.size(); g++) {
        if (foldOfGroup[g] != f) {
          train.add(problems.get(g));
        }
      }
      Probe.Head head = ProbeTrainer.train(train, s.withSeed(s.seed() + f), inputSize);
      scoreFold(scorer(head, s, inputSize), problems, foldOfGroup, f, logits);
      heads.add(head.withPlatt(ownFoldPlatt(logits, rows, foldOfGroup, f)));
      if (bar != null) {
        bar.update(f + 1, "fold " + (f + 1) + " trained on " + train.size() + " problems");
      }
    }
    return new Result(logits, heads);
  }

  /** A one-head probe that scores raw inputs (no record features to add: the inputs already hold them). */
  static Probe scorer(Probe.Head head, ProbeSettings s, int inputSize) {
    return ensemble(List.of(head), s, inputSize);
  }

  static Probe ensemble(List<Probe.Head> heads, ProbeSettings s, int inputSize) {
    return new Probe(Probe.Reads.TARGET, 0, inputSize, List.of(), s.width(), s.maxPool(), heads,
        new ModelIdentity("", "", ""), null);
  }

  /** Logits of every row of fold f's problems at every level, written into {@code logits}. */
  private static void scoreFold(Probe probe, List<ProbeTrainer.Problem> problems, int[] foldOfGroup, int f,
      double[][] logits) {
    int token = 0;
    int line = 0;
    for (int g = 0; g < problems.size(); g++) {
      ProbeTrainer.Problem p = problems.get(g);
      List<float[]> inputs = List.of(p.inputs());
      if (foldOfGroup[g] == f) {
        for (int i = 0; i < inputs.size(); i++) {
          logits[Rows.TOKEN][token + i] = probe.logit(inputs.subList(i, i + 1));
        }
        for (int l = 0; l < p.lines().length; l++) {
          logits[Rows.LINE][line + l] = probe.logit(inputs.subList(p.lines()[l][0], p.lines()[l][1]));
        }
        logits[Rows.PROBLEM][g] = probe.logit(inputs);
      }
      token += inputs.size();
      line += p.lines().length;
    }
  }

  /** Platt per level fitted on fold f's own rows (the rows its head never trained on). */
  private static Probe.Platt[] ownFoldPlatt(double[][] logits, Rows rows, int[] foldOfGroup, int f) {
    Probe.Platt[] platt = new Probe.Platt[3];
    for (int level = 0; level < 3; level++) {
      List<Double> s = new ArrayList<>();
      List<Boolean> y = new ArrayList<>();
      for (int r = 0; r < rows.count(level); r++) {
        if (foldOfGroup[rows.groups[level][r]] == f) {
          s.add(logits[level][r]);
          y.add(rows.labels[level][r]);
        }
      }
      if (s.isEmpty()) {
        platt[level] = Probe.Platt.IDENTITY;
        continue;
      }
      boolean[] labels = new boolean[y.size()];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = y.get(i);
      }
      Platt.Fit fit = Platt.fit(s.stream().mapToDouble(Double::doubleValue).toArray(), labels);
      platt[level] = new Probe.Platt(fit.a(), fit.b());
    }
    return platt;
  }

  /** An ensemble's p(correct) and unscaled mean sigmoid for every row of {@code rows} at every level. */
  static Scored score(String method, Probe ensemble, List<ProbeTrainer.Problem> problems, Rows rows) {
    Scored out = Scored.of(method);
    for (int level = 0; level < 3; level++) {
      out.raw()[level] = new double[rows.count(level)];
      out.scaled()[level] = new double[rows.count(level)];
    }
    Probe.Level[] levels = Probe.Level.values();
    int token = 0;
    int line = 0;
    for (int g = 0; g < problems.size(); g++) {
      ProbeTrainer.Problem p = problems.get(g);
      List<float[]> inputs = List.of(p.inputs());
      for (int i = 0; i < inputs.size(); i++) {
        put(out, Rows.TOKEN, token + i, ensemble, inputs.subList(i, i + 1), levels[Rows.TOKEN]);
      }
      for (int l = 0; l < p.lines().length; l++) {
        put(out, Rows.LINE, line + l, ensemble, inputs.subList(p.lines()[l][0], p.lines()[l][1]), levels[Rows.LINE]);
      }
      put(out, Rows.PROBLEM, g, ensemble, inputs, levels[Rows.PROBLEM]);
      token += inputs.size();
      line += p.lines().length;
    }
    return out;
  }

  private static void put(Scored out, int level, int row, Probe ensemble, List<float[]> set, Probe.Level key) {
    double raw = 0;
    for (Probe.Head h : ensemble.heads()) {
      raw += Platt.sigmoid(ensemble.logit(h, set)) / ensemble.heads().size();
    }
    out.raw()[level][row] = raw;
    out.scaled()[level][row] = ensemble.probability(set, key);
  }
}
