package dev.candor.probes.eval;

import dev.candor.engine.confidence.StackedProbe;
import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.CrossValidation;
import dev.candor.probes.metrics.Isotonic;
import dev.candor.probes.metrics.LogisticRegression;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Attempts to win at the line level, where the aims are measured, by a small head on top of the probes'
 * out-of-fold logits (stacking, Wolpert 1992) or a better calibrator than Platt, each cross-fitted on the study's
 * folds: a line of fold f is scored by a model fitted on the other folds' lines only. The stacked inputs are
 * themselves out of fold (each line's probe logits come from heads that never trained on its problem); a head fitted
 * for fold f still reads, on the other folds, logits of probes that trained on fold f, the usual second-order
 * leakage of stacking, as in the cross-fitted Platt scaling of every probe row.
 *
 * <ul>
 *   <li>{@code probe_isotonic}: the served probe's line logit, isotonic instead of Platt.
 *   <li>{@code line_head}: a logistic regression on the served probe's line logit, its tokens' logits pooled over the
 *       line (min, mean, last), and generic line features the server also has online: the minimum and mean token
 *       probability (as logits), the maximum and mean entropy, log(1 + length), and the line's index in the answer.
 *       No line type: nothing task-specific.
 *   <li>{@code stack}: a logistic regression on the line logits of every probe input the study tried on the target
 *       (every layer, several layers, with and without record features) and the same generic features. It needs
 *       several taps online, which the server does not read today.
 *   <li>{@code *_isotonic}: the head's output recalibrated by isotonic regression (its ends bounded,
 *       {@link Isotonic#bounded}) fitted on the other folds'
 *       cross-fitted outputs.
 * </ul>
 */
final class LineHeads {
  static final String PROBE_ISOTONIC = "probe_isotonic";
  static final String LINE_HEAD = "line_head";
  static final String STACK = "stack";
  static final String ISOTONIC = "_isotonic";
  /** Every method this class adds, in the report's order. */
  static final List<String> NAMES = List.of(PROBE_ISOTONIC, LINE_HEAD, LINE_HEAD + ISOTONIC, STACK, STACK + ISOTONIC);

  private LineHeads() {}

  /**
   * The heads' line-level out-of-fold p(correct), by method name.
   *
   * @param served the served probe's cross-validation (its token and line logits)
   * @param stacked the cross-validations whose line logits the stack reads, by name (the served one among them)
   */
  static Map<String, Scored> crossFitted(Rows rows, int[] foldOfGroup, ProbeCrossValidation.Result served,
      Map<String, ProbeCrossValidation.Result> stacked) {
    Map<String, Scored> out = new LinkedHashMap<>();
    double[] servedLine = served.logits()[Rows.LINE];
    out.put(PROBE_ISOTONIC, line(PROBE_ISOTONIC, isotonic(servedLine, rows, foldOfGroup, null)));
    double[][] generic = generic(rows);
    double[][] pooled = pooledTokens(rows, served.logits()[Rows.TOKEN]);
    List<double[]> stackColumns = new ArrayList<>();
    stacked.values().forEach(r -> stackColumns.add(r.logits()[Rows.LINE]));
    addWithIsotonic(out, LINE_HEAD, columns(rows, List.of(servedLine), pooled, generic), rows, foldOfGroup);
    if (stacked.size() > 1) {
      addWithIsotonic(out, STACK, columns(rows, stackColumns, generic), rows, foldOfGroup);
    }
    return out;
  }

  private static void addWithIsotonic(Map<String, Scored> out, String name, double[][] x, Rows rows,
      int[] foldOfGroup) {
    double[] p = logistic(x, rows, foldOfGroup, null);
    out.put(name, line(name, p));
    out.put(name + ISOTONIC, line(name + ISOTONIC, isotonic(p, rows, foldOfGroup, null)));
  }

  /**
   * The {@code stack_isotonic} pipelines as the server runs them, one per fold: fold f's regression (fitted on the
   * other folds' lines) and its isotonic calibration (fitted on the other folds' cross-fitted outputs). Exactly the
   * fits that scored fold f's lines in {@link #crossFitted}; {@code stacked} in the regression's column order.
   */
  static List<StackedProbe.Fold> stackFolds(Rows rows, int[] foldOfGroup,
      Map<String, ProbeCrossValidation.Result> stacked) {
    List<double[]> stackColumns = new ArrayList<>();
    stacked.values().forEach(r -> stackColumns.add(r.logits()[Rows.LINE]));
    List<LogisticRegression> heads = new ArrayList<>();
    List<Isotonic> calibrations = new ArrayList<>();
    double[] p = logistic(columns(rows, stackColumns, generic(rows)), rows, foldOfGroup, heads);
    isotonic(p, rows, foldOfGroup, calibrations);
    List<StackedProbe.Fold> folds = new ArrayList<>();
    for (int f = 0; f < heads.size(); f++) {
      folds.add(new StackedProbe.Fold(heads.get(f).served(), calibrations.get(f).served()));
    }
    return folds;
  }

  private static Scored line(String name, double[] p) {
    Scored s = Scored.of(name);
    s.scaled()[Rows.LINE] = p;
    return s;
  }

  /**
   * Per line: logit of its minimum and mean token probability, max and mean entropy, log(1 + length), index
   * ({@link StackedProbe#lineFeatures}, as the server computes them).
   */
  static double[][] generic(Rows rows) {
    double[][] x = new double[rows.count(Rows.LINE)][];
    int l = 0;
    for (ProblemFeatures p : rows.problems) {
      for (int k = 0; k < p.lines().length; k++, l++) {
        int from = p.lineStart(k);
        int to = p.lineEnd(k);
        x[l] = StackedProbe.lineFeatures(Arrays.copyOfRange(p.tokenLogprob(), from, to),
            Arrays.copyOfRange(p.tokenEntropy(), from, to), k);
      }
    }
    return x;
  }

  /** Per line: the minimum, mean and last of its tokens' out-of-fold logits [lines][3]. */
  static double[][] pooledTokens(Rows rows, double[] tokenLogits) {
    double[][] x = new double[rows.count(Rows.LINE)][];
    int l = 0;
    int t = 0;
    for (ProblemFeatures p : rows.problems) {
      for (int k = 0; k < p.lines().length; k++, l++) {
        double min = Double.POSITIVE_INFINITY;
        double mean = 0;
        for (int i = p.lineStart(k); i < p.lineEnd(k); i++) {
          min = Math.min(min, tokenLogits[t + i]);
          mean += tokenLogits[t + i] / (p.lineEnd(k) - p.lineStart(k));
        }
        x[l] = new double[] {min, mean, tokenLogits[t + p.lineEnd(k) - 1]};
      }
      t += p.size();
    }
    return x;
  }

  /** Rows [lines][d] of single columns [lines] and blocks [lines][w], side by side. */
  private static double[][] columns(Rows rows, List<double[]> single, double[][]... blocks) {
    double[][] x = new double[rows.count(Rows.LINE)][];
    for (int l = 0; l < x.length; l++) {
      List<Double> row = new ArrayList<>();
      for (double[] c : single) {
        row.add(c[l]);
      }
      for (double[][] b : blocks) {
        for (double v : b[l]) {
          row.add(v);
        }
      }
      x[l] = row.stream().mapToDouble(Double::doubleValue).toArray();
    }
    return x;
  }

  /** Each line's p from a logistic regression fitted on the other folds' lines; each fold's fit into {@code fits}. */
  private static double[] logistic(double[][] x, Rows rows, int[] foldOfGroup, List<LogisticRegression> fits) {
    return CrossValidation.crossFit(rows.groups[Rows.LINE], foldOfGroup, train -> {
      List<double[]> trainX = new ArrayList<>();
      for (int r = 0; r < x.length; r++) {
        if (train[r]) {
          trainX.add(x[r]);
        }
      }
      return LogisticRegression.fit(trainX.toArray(new double[0][]),
          CrossValidation.select(rows.labels[Rows.LINE], train), Baselines.LAMBDA);
    }, (fit, r) -> fit.predict(x[r]), fits);
  }

  /**
   * Each line's isotonic recalibration of {@code score}, fitted on the other folds' scores and labels; each fold's
   * fit into {@code fits}.
   */
  private static double[] isotonic(double[] score, Rows rows, int[] foldOfGroup, List<Isotonic> fits) {
    return CrossValidation.crossFit(rows.groups[Rows.LINE], foldOfGroup,
        train -> Isotonic.fit(CrossValidation.select(score, train),
            CrossValidation.select(rows.labels[Rows.LINE], train)).bounded(),
        (fit, r) -> fit.apply(score[r]), fits);
  }
}
