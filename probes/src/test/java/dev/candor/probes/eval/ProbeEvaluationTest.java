package dev.candor.probes.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.confidence.Probe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.Metrics;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.train.ProbeSettings;
import dev.candor.probes.train.ProbeTrainer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The probe pipeline on synthetic features whose labels are known functions of them: it must find a real signal
 * (near-perfect AUC, low ECE), find nothing in noise (skill near 0), be deterministic under a seed, and never score a
 * problem with a probe that trained on it.
 */
class ProbeEvaluationTest {
  static final int HIDDEN = 16;

  /**
   * Synthetic problems: 8..24 tokens in lines of 2..5; hidden states Gaussian with scale 3 per dimension (and an
   * offset, so standardisation matters); the label of each token from {@code rule(problem, hidden)}.
   */
  static FeatureSet synthetic(int count, long seed, int hidden, BiFunction<Integer, float[], Boolean> rule,
      BiFunction<Integer, SplittableRandom, float[]> state) {
    SplittableRandom random = new SplittableRandom(seed);
    List<ProblemFeatures> problems = new ArrayList<>();
    for (int g = 0; g < count; g++) {
      int size = 8 + random.nextInt(17);
      float[][] h = new float[size][];
      boolean[] labels = new boolean[size];
      double[] logprob = new double[size];
      for (int i = 0; i < size; i++) {
        h[i] = state.apply(g, random);
        labels[i] = rule.apply(g, h[i]);
        logprob[i] = Math.log(0.05 + 0.9 * random.nextDouble());
      }
      List<int[]> lines = new ArrayList<>();
      for (int start = 0; start < size; ) {
        int end = Math.min(size, start + 2 + random.nextInt(4));
        lines.add(new int[] {start, end});
        start = end;
      }
      boolean[] lineLabels = new boolean[lines.size()];
      boolean all = true;
      for (int l = 0; l < lines.size(); l++) {
        lineLabels[l] = true;
        for (int i = lines.get(l)[0]; i < lines.get(l)[1]; i++) {
          lineLabels[l] &= labels[i];
        }
        all &= lineLabels[l];
      }
      problems.add(new ProblemFeatures("p" + g, 5, new int[size], h, logprob, labels, lines.toArray(new int[0][]),
          lineLabels, all, null));
    }
    return new FeatureSet("synthetic", 1, hidden, problems);
  }

  static float[] gaussian(SplittableRandom random, int hidden) {
    float[] h = new float[hidden];
    for (int d = 0; d < hidden; d++) {
      h[d] = (float) (5 + 3 * random.nextGaussian());
    }
    return h;
  }

  static ReportRow row(Report report, String method, String level, boolean scaled) {
    return report.rows().stream().filter(r -> r.method().equals(method) && r.level().equals(level)
        && r.scaled() == scaled).findFirst().orElseThrow();
  }

  @Test
  void findsAKnownSignal() throws Exception {
    // a token is wrong when dimension 0 is far above its mean: rare enough that lines are mostly right
    FeatureSet features = synthetic(240, 1, HIDDEN, (g, h) -> h[0] < 5 + 3 * 1.3, (g, r) -> gaussian(r, HIDDEN));
    Report report = new ProbeEvaluation(features, ProbeSettings.defaults(3).withEpochs(40), 5, 7).run(null, null).report();
    ReportRow tokens = row(report, "probe", "token", true);
    ReportRow lines = row(report, "probe", "line", true);
    assertTrue(tokens.auc() > 0.97, "token AUC " + tokens.auc());
    assertTrue(lines.auc() > 0.9, "line AUC " + lines.auc());
    assertTrue(tokens.ece() < 0.05, "token ECE " + tokens.ece());
    assertTrue(lines.bss() > 0.4, "line BSS " + lines.bss());
    // the baseline's token probabilities carry no signal here
    assertTrue(Math.abs(row(report, "token_prob", "token", false).auc() - 0.5) < 0.1);
  }

  @Test
  void findsNothingInNoiseAndSaysSo() throws Exception {
    FeatureSet features = synthetic(200, 2, HIDDEN, (g, h) -> new SplittableRandom(Float.floatToIntBits(h[1])).nextDouble() < 0.8,
        (g, r) -> gaussian(r, HIDDEN));
    Report report = new ProbeEvaluation(features, ProbeSettings.defaults(3).withEpochs(10), 5, 7).run(null, null).report();
    ReportRow tokens = row(report, "probe", "token", true);
    assertTrue(Math.abs(tokens.bss()) < 0.03, "token BSS on noise " + tokens.bss());
    assertTrue(Math.abs(tokens.auc() - 0.5) < 0.06, "token AUC on noise " + tokens.auc());
    assertTrue(tokens.ece() < 0.05, "scaled ECE on noise " + tokens.ece());
  }

  @Test
  void isDeterministicUnderASeed() throws Exception {
    FeatureSet features = synthetic(60, 3, HIDDEN, (g, h) -> h[2] > 4, (g, r) -> gaussian(r, HIDDEN));
    ProbeSettings settings = ProbeSettings.defaults(11).withEpochs(3);
    Report a = new ProbeEvaluation(features, settings, 5, 5).run(null, null).report();
    Report b = new ProbeEvaluation(features, settings, 5, 5).run(null, null).report();
    assertEquals(a.rows(), b.rows());
  }

  @Test
  void noFoldScoresProblemsItTrainedOn() throws Exception {
    // every problem has its own random signature and a random label: memorisable, not learnable
    int hidden = 96;
    SplittableRandom signatures = new SplittableRandom(4);
    float[][] signature = new float[160][];
    boolean[] label = new boolean[160];
    for (int g = 0; g < 160; g++) {
      signature[g] = gaussian(signatures, hidden);
      label[g] = signatures.nextBoolean();
    }
    FeatureSet features = synthetic(160, 5, hidden, (g, h) -> label[g], (g, r) -> {
      float[] h = signature[g].clone();
      for (int d = 0; d < hidden; d++) {
        h[d] += (float) (0.05 * r.nextGaussian());
      }
      return h;
    });
    ProbeSettings settings = ProbeSettings.defaults(2).withEpochs(40);
    // trained and scored on the same problems, the probe memorises them...
    Probe memoriser = ProbeTrainer.train(features.problems(), settings, 1, hidden, "synthetic");
    List<Double> p = new ArrayList<>();
    List<Boolean> y = new ArrayList<>();
    for (ProblemFeatures problem : features.problems()) {
      for (int i = 0; i < problem.size(); i++) {
        p.add(1 / (1 + Math.exp(-memoriser.logit(List.of(problem.hidden()[i])))));
        y.add(problem.tokenLabels()[i]);
      }
    }
    boolean[] labels = new boolean[y.size()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = y.get(i);
    }
    double inSample = Metrics.auc(p.stream().mapToDouble(Double::doubleValue).toArray(), labels);
    assertTrue(inSample > 0.9, "the probe can memorise these problems: in-sample AUC " + inSample);
    // ...but cross-validation only ever scores problems a fold did not train on
    Report report = new ProbeEvaluation(features, settings, 5, 9).run(null, null).report();
    double outOfFold = row(report, "probe", "token", false).auc();
    assertTrue(Math.abs(outOfFold - 0.5) < 0.12, "out-of-fold AUC must be chance, got " + outOfFold);
  }
}
