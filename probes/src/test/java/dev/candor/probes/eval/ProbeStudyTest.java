package dev.candor.probes.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.Metrics;
import dev.candor.probes.report.Comparison;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.train.ProbeInput;
import dev.candor.probes.train.ProbeSettings;
import dev.candor.probes.train.ProbeTrainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The study on synthetic features whose labels are known functions of them: the probe must find a real signal (near
 * perfect AUC, low ECE) and beat baselines that cannot see it, with a paired interval above zero; find nothing in
 * noise and say so (skill near 0, an interval that includes 0); be deterministic under a seed; never score a problem
 * with a head that trained on it; and ship heads whose own-fold scaling holds on fresh problems.
 */
class ProbeStudyTest {
  static final int HIDDEN = 16;
  static final ModelIdentity MODEL = new ModelIdentity("synthetic", "0", "f32");

  /**
   * Synthetic problems: 8..24 tokens in lines of 2..5 (texts alternating assignment and operation lines); hidden
   * states from {@code state} at one tap (1); the label of each token from {@code rule(problem, hidden)}; token
   * probabilities uninformative. Difficulties (which make the study run its difficulty shift too) only when asked.
   */
  static FeatureSet synthetic(int count, long seed, int hidden, BiFunction<Integer, float[], Boolean> rule,
      BiFunction<Integer, SplittableRandom, float[]> state) {
    return synthetic(count, seed, hidden, rule, state, false);
  }

  static FeatureSet synthetic(int count, long seed, int hidden, BiFunction<Integer, float[], Boolean> rule,
      BiFunction<Integer, SplittableRandom, float[]> state, boolean difficulties) {
    SplittableRandom random = new SplittableRandom(seed);
    List<ProblemFeatures> problems = new ArrayList<>();
    for (int g = 0; g < count; g++) {
      int size = 8 + random.nextInt(17);
      float[][] h = new float[size][];
      boolean[] labels = new boolean[size];
      double[] logprob = new double[size];
      double[] entropy = new double[size];
      for (int i = 0; i < size; i++) {
        h[i] = state.apply(g, random);
        labels[i] = rule.apply(g, h[i]);
        logprob[i] = Math.log(0.05 + 0.9 * random.nextDouble());
        entropy[i] = random.nextDouble();
      }
      List<int[]> lines = new ArrayList<>();
      for (int start = 0; start < size; ) {
        int end = Math.min(size, start + 2 + random.nextInt(4));
        lines.add(new int[] {start, end});
        start = end;
      }
      boolean[] lineLabels = new boolean[lines.size()];
      String[] texts = new String[lines.size()];
      List<List<String>> tags = new ArrayList<>();
      boolean all = true;
      for (int l = 0; l < lines.size(); l++) {
        lineLabels[l] = true;
        for (int i = lines.get(l)[0]; i < lines.get(l)[1]; i++) {
          lineLabels[l] &= labels[i];
        }
        all &= lineLabels[l];
        texts[l] = l % 2 == 0 ? "a = 1\n" : "b = a + 1 = 1 + 1 = 2\n";
        tags.add(List.of());
      }
      problems.add(new ProblemFeatures("p" + g, 5, new int[size], new float[][][] {h}, logprob, entropy, labels,
          lines.toArray(new int[0][]), texts, tags, lineLabels, all, difficulties ? (double) g / count : Double.NaN,
          null));
    }
    return new FeatureSet(MODEL, new int[] {1}, hidden, problems);
  }

  static float[] gaussian(SplittableRandom random, int hidden) {
    float[] h = new float[hidden];
    for (int d = 0; d < hidden; d++) {
      h[d] = (float) (5 + 3 * random.nextGaussian());
    }
    return h;
  }

  static ProbeStudy.Result study(FeatureSet features, Map<String, FeatureSet> fresh, ProbeSettings settings, int folds,
      long seed) {
    var s = new ProbeStudy.Settings(Map.of("target", features), fresh, Map.of(), List.of(ProbeInput.of("target", 1)),
        null, folds, seed, 200, settings);
    return new ProbeStudy(s, null).run();
  }

  @Test
  void findsAKnownSignalAndBeatsBaselinesThatCannotSeeIt() {
    // a token is wrong when dimension 0 is far above its mean: rare enough that lines are mostly right
    BiFunction<Integer, float[], Boolean> rule = (g, h) -> h[0] < 5 + 3 * 1.3;
    FeatureSet features = synthetic(240, 1, HIDDEN, rule, (g, r) -> gaussian(r, HIDDEN));
    FeatureSet fresh = synthetic(120, 99, HIDDEN, rule, (g, r) -> gaussian(r, HIDDEN));
    Report report = study(features, Map.of("target", fresh), ProbeSettings.defaults(3).withEpochs(40), 5, 7).report();
    ReportRow tokens = report.row("probe", "token", true, ReportRow.ALL);
    ReportRow lines = report.row("probe", "line", true, ReportRow.ALL);
    assertTrue(tokens.auc() > 0.97, "token AUC " + tokens.auc());
    assertTrue(lines.auc() > 0.9, "line AUC " + lines.auc());
    assertTrue(tokens.ece() < 0.05, "token ECE " + tokens.ece());
    assertTrue(lines.bss() > 0.4, "line BSS " + lines.bss());
    assertTrue(lines.ciLow() < lines.bss() && lines.bss() < lines.ciHigh(), lines.toString());
    // the baselines see no signal here: token probabilities are noise, and the line types are unrelated to it
    assertTrue(Math.abs(report.row("token_prob", "token", false, ReportRow.ALL).auc() - 0.5) < 0.1);
    Comparison vsContent = report.comparison("probe", "content", "line", ReportRow.ALL);
    assertTrue(vsContent.ciLow() > 0.3, vsContent.toString());
    assertEquals(5, vsContent.perFold().length);
    // the shipped heads, each scaled on its own held-out fold, hold their calibration on fresh problems
    ReportRow onFresh = report.row("probe", "line", true, "fresh");
    assertTrue(onFresh.bss() > 0.4 && onFresh.ece() < 0.08, onFresh.toString());
  }

  @Test
  void theRecipeTrainedOnTheEasyHalfIsTestedOnTheHardHalf() {
    BiFunction<Integer, float[], Boolean> rule = (g, h) -> h[0] < 5 + 3 * 1.0;
    FeatureSet features = synthetic(160, 6, HIDDEN, rule, (g, r) -> gaussian(r, HIDDEN), true);
    Report report = study(features, Map.of(), ProbeSettings.defaults(3).withEpochs(15), 5, 7).report();
    // the rule is the same at every difficulty here, so what was learnt on the easy half holds on the hard half
    ReportRow shifted = report.row("probe", "token", true, "shift:difficulty>0.5");
    assertTrue(shifted.auc() > 0.9, shifted.toString());
    assertTrue(report.rows().stream().anyMatch(r -> r.is("content", "line", true, "shift:difficulty>0.5")));
    ReportRow hardHalf = report.row("probe", "token", true, "difficulty>0.5");
    assertTrue(hardHalf.auc() > 0.9, "the cross-validated rows of the same problems: " + hardHalf);
  }

  @Test
  void findsNothingInNoiseAndSaysSo() {
    FeatureSet features = synthetic(200, 2, HIDDEN,
        (g, h) -> new SplittableRandom(Float.floatToIntBits(h[1])).nextDouble() < 0.8, (g, r) -> gaussian(r, HIDDEN));
    Report report = study(features, Map.of(), ProbeSettings.defaults(3).withEpochs(10), 5, 7).report();
    ReportRow tokens = report.row("probe", "token", true, ReportRow.ALL);
    assertTrue(Math.abs(tokens.bss()) < 0.03, "token BSS on noise " + tokens.bss());
    assertTrue(Math.abs(tokens.auc() - 0.5) < 0.06, "token AUC on noise " + tokens.auc());
    assertTrue(tokens.ece() < 0.05, "scaled ECE on noise " + tokens.ece());
    Comparison vsTokenProb = report.comparison("probe", "token_prob", "token", ReportRow.ALL);
    assertTrue(vsTokenProb.ciLow() < 0 && vsTokenProb.ciHigh() > 0, "no difference shown: " + vsTokenProb);
  }

  @Test
  void isDeterministicUnderASeed() {
    FeatureSet features = synthetic(60, 3, HIDDEN, (g, h) -> h[2] > 4, (g, r) -> gaussian(r, HIDDEN));
    ProbeSettings settings = ProbeSettings.defaults(11).withEpochs(3);
    Report a = study(features, Map.of(), settings, 5, 5).report();
    Report b = study(features, Map.of(), settings, 5, 5).report();
    assertEquals(a.rows(), b.rows());
    assertArrayEquals(a.comparisons().getFirst().perFold(), b.comparisons().getFirst().perFold());
  }

  @Test
  void noFoldScoresProblemsItTrainedOn() {
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
    List<ProbeTrainer.Problem> inputs = ProbeInput.of("target", 1).build(features, features.problems(),
        features.problems());
    Probe memoriser = ProbeCrossValidation.scorer(ProbeTrainer.train(inputs, settings, hidden), settings, hidden);
    List<Double> p = new ArrayList<>();
    List<Boolean> y = new ArrayList<>();
    for (ProbeTrainer.Problem problem : inputs) {
      for (int i = 0; i < problem.inputs().length; i++) {
        p.add(1 / (1 + Math.exp(-memoriser.logit(List.of(problem.inputs()[i])))));
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
    Report report = study(features, Map.of(), settings, 5, 9).report();
    double outOfFold = report.row("probe", "token", false, ReportRow.ALL).auc();
    assertTrue(Math.abs(outOfFold - 0.5) < 0.12, "out-of-fold AUC must be chance, got " + outOfFold);
  }

  /**
   * Two taps, the signal in one of them: the study ships the stack of both target probe inputs; its lines are what the
   * report calls the probe's; written and read back it scores every fresh line exactly as the study did; and it
   * finds the signal on fresh problems.
   */
  @Test
  void shipsTheStackThatScoresLinesAsTheReportSays(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    BiFunction<Integer, float[], Boolean> rule = (g, h) -> h[0] < 5 + 3 * 1.3;
    FeatureSet features = twoTaps(synthetic(200, 12, HIDDEN, rule, (g, r) -> gaussian(r, HIDDEN)), 13);
    FeatureSet fresh = twoTaps(synthetic(100, 14, HIDDEN, rule, (g, r) -> gaussian(r, HIDDEN)), 15);
    var s = new ProbeStudy.Settings(Map.of("target", features), Map.of("target", fresh), Map.of(),
        List.of(ProbeInput.of("target", 1), ProbeInput.of("target", 2)), "target:tap1", 5, 7, 200,
        ProbeSettings.defaults(3).withEpochs(15), null, true);
    ProbeStudy.Result result = new ProbeStudy(s, null).run();
    dev.candor.engine.confidence.StackedProbe stack = result.stack();
    assertEquals(List.of("target:tap1", "target:tap2"), stack.memberNames());
    assertArrayEquals(new int[] {1, 2}, stack.taps());
    assertEquals(5, stack.folds().size());
    Report report = result.report();
    ReportRow probeLines = report.row("probe", "line", true, ReportRow.ALL);
    ReportRow stackLines = report.row(LineHeads.STACK + LineHeads.ISOTONIC, "line", true, ReportRow.ALL);
    assertEquals(stackLines.brier(), probeLines.brier(), 0.0, "the report's probe lines are the stack's");
    assertEquals(List.of(), report.meta().get("suspect_folds"), "no fold trained badly here");
    assertTrue(report.row("probe", "line", true, "fresh").bss() > 0.3, "the stack finds the signal on fresh lines");

    dev.candor.probes.train.ProbeFiles.save(result.probe(), dev.candor.probes.train.ProbeFiles.meta(result.probe()),
        dir);
    dev.candor.probes.train.ProbeFiles.saveStack(stack, dir);
    var loaded = dev.candor.engine.confidence.StackedProbe.load(dir);
    double[][] before = ProbeStudy.stackLines(stack, fresh);
    double[][] after = ProbeStudy.stackLines(loaded, fresh);
    assertArrayEquals(before[1], after[1], 0.0, "read back, the stack scores every fresh line the same");
    assertArrayEquals(before[0], after[0], 0.0);
  }

  /** The same problems with a second tap (2) of pure noise beside tap 1. */
  static FeatureSet twoTaps(FeatureSet one, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<ProblemFeatures> problems = new ArrayList<>();
    for (ProblemFeatures p : one.problems()) {
      float[][] noise = new float[p.size()][];
      for (int i = 0; i < noise.length; i++) {
        noise[i] = gaussian(random, one.hiddenSize());
      }
      problems.add(new ProblemFeatures(p.id(), p.promptTokens(), p.completion(),
          new float[][][] {p.hiddenAt(0), noise}, p.tokenLogprob(), p.tokenEntropy(), p.tokenLabels(), p.lines(),
          p.lineTexts(), p.lineTags(), p.lineLabels(), p.problemLabel(), p.difficulty(), p.samples()));
    }
    return new FeatureSet(one.model(), new int[] {1, 2}, one.hiddenSize(), problems);
  }
}
