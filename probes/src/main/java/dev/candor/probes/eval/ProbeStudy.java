package dev.candor.probes.eval;

import dev.candor.engine.confidence.Probe;
import dev.candor.engine.confidence.StackedProbe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.Bootstrap;
import dev.candor.probes.metrics.CrossValidation;
import dev.candor.probes.metrics.Metrics;
import dev.candor.probes.metrics.Platt;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.train.ProbeInput;
import dev.candor.probes.train.ProbeSettings;
import dev.candor.probes.train.ProbeTrainer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The probe's evaluation with everything it must be held against, in one run and on the same folds (Gros &amp;
 * Devanbu's protocol, extended): k-fold cross-validation by problem of every probe input ({@link ProbeInput}: each
 * layer of the target, a randomly initialised copy, the drafter, several layers, record features) and of every
 * baseline ({@link Baselines}); Platt scaling cross-fitted; metrics per fold, averaged; bootstrap intervals resampling
 * problems; paired comparisons of the served probe against every other method. Then the served probe (the folds'
 * heads, each Platt-scaled on its own held-out fold) is checked where it matters: on fresh problems, under a
 * difficulty shift (trained on the easy half, tested on the hard half) and on counterfactual traces.
 */
public final class ProbeStudy {
  /** Subsets whose rows are all wrong by construction: compared by mean p(correct), their BSS being undefined. */
  static final List<String> ALL_WRONG = List.of("confidently_wrong", "propagated", "own_error", "cf:injected",
      "cf:downstream");
  /** Methods scored on subsets too (the rest on all rows only). */
  static final List<String> KEY_METHODS = List.of("probe", "content", "type_token_prob", "line_type", "token_prob",
      "multisample", LineHeads.PROBE_ISOTONIC, LineHeads.LINE_HEAD, LineHeads.LINE_HEAD + LineHeads.ISOTONIC,
      LineHeads.STACK, LineHeads.STACK + LineHeads.ISOTONIC);

  /**
   * What to study.
   *
   * @param calibration the features of the cross-validated dataset, by source ("target" first; "drafter", "random")
   * @param fresh features of fresh problems by source, or empty
   * @param counterfactual features of counterfactual traces by source, or empty
   * @param variants the probe inputs to cross-validate
   * @param served the variant to ship, or null: the servable one with the best line-level scaled BSS
   * @param folds k
   * @param seed folds, bootstrap and training
   * @param resamples bootstrap resamples
   * @param settings the probe's training recipe
   * @param cache a directory to keep each variant's cross-validation in ({@link CrossValidationCache}), or null
   * @param serveStack ship the lines' stack ({@code stack_isotonic}: every target probe input, see {@link LineHeads})
   *     beside the served probe, which keeps the tokens and the response; the report's "probe" lines are then the
   *     stack's
   */
  public record Settings(Map<String, FeatureSet> calibration, Map<String, FeatureSet> fresh,
      Map<String, FeatureSet> counterfactual, List<ProbeInput> variants, String served, int folds, long seed,
      int resamples, ProbeSettings settings, java.nio.file.Path cache, boolean serveStack) {
    /** The served probe alone. */
    public Settings(Map<String, FeatureSet> calibration, Map<String, FeatureSet> fresh,
        Map<String, FeatureSet> counterfactual, List<ProbeInput> variants, String served, int folds, long seed,
        int resamples, ProbeSettings settings, java.nio.file.Path cache) {
      this(calibration, fresh, counterfactual, variants, served, folds, seed, resamples, settings, cache, false);
    }

    /** Without a cache. */
    public Settings(Map<String, FeatureSet> calibration, Map<String, FeatureSet> fresh,
        Map<String, FeatureSet> counterfactual, List<ProbeInput> variants, String served, int folds, long seed,
        int resamples, ProbeSettings settings) {
      this(calibration, fresh, counterfactual, variants, served, folds, seed, resamples, settings, null);
    }
  }

  /**
   * The report and the shipped probe (its inputs and its heads); with {@link Settings#serveStack} the stack that
   * scores its lines, else null.
   */
  public record Result(Report report, ProbeInput input, Probe probe, StackedProbe stack) {}

  private final Settings s;
  private final PrintStream log;
  private final ReportBuilder report = new ReportBuilder();
  private final Map<String, ProbeCrossValidation.Result> probes = new LinkedHashMap<>();
  private Map<String, Scored> crossValidated;
  private Rows calibrationRows;

  public ProbeStudy(Settings settings, PrintStream log) {
    this.s = settings;
    this.log = log;
  }

  public Result run() {
    FeatureSet target = s.calibration().get("target");
    if (target == null) {
      throw new IllegalArgumentException("the calibration features need a 'target' source");
    }
    List<ProblemFeatures> problems = target.problems();
    if (problems.size() < s.folds()) {
      throw new IllegalArgumentException(problems.size() + " problems with a non-empty completion; " + s.folds()
          + "-fold cross-validation needs at least " + s.folds());
    }
    Rows rows = new Rows(problems);
    int[] foldOfGroup = CrossValidation.folds(problems.size(), s.folds(), s.seed());
    var cv = new ReportBuilder.Evaluation(rows, foldOfGroup, s.folds(),
        new Bootstrap(foldOfGroup, s.resamples(), s.seed()));
    Map<String, Scored> methods = new LinkedHashMap<>();
    for (ProbeInput variant : s.variants()) {
      methods.put("probe:" + variant.name(), crossValidate(variant, rows, foldOfGroup));
    }
    ProbeInput served = chooseServed(methods, rows);
    methods.put("probe", methods.get("probe:" + served.name()).renamed("probe"));
    methods.putAll(baselines(rows, foldOfGroup));
    methods.putAll(LineHeads.crossFitted(rows, foldOfGroup, probes.get(served.name()), targetProbes()));
    Probe shipped = shipped(served);
    StackedProbe stack = null;
    if (s.serveStack()) {
      stack = stack(shipped, rows, foldOfGroup);
      methods.put("probe", withLines(methods.get("probe"), methods.get(LineHeads.STACK).scaled()[Rows.LINE],
          methods.get(LineHeads.STACK + LineHeads.ISOTONIC).scaled()[Rows.LINE]));
    }
    crossValidated = methods;
    calibrationRows = rows;
    addRows(methods, cv, "", true);
    compare(methods.keySet(), rows, "", true);
    compareLineHeads(served);
    transfers(served, rows, stack);
    Map<String, Object> meta = meta(served, shipped, stack);
    meta.put("suspect_folds", suspectFolds());
    return new Result(new Report(report.rows, report.details, report.comparisons, baseRates(rows), counts(rows),
        meta), served, shipped, stack);
  }

  /**
   * Folds whose out-of-fold line BSS (unscaled) falls 0.2 or more below the median of their input's folds: a head
   * that trained badly, which the trainer does not detect (one did, in one run of the default study). Flagged in the
   * report and the log, not dropped or retrained: choosing by held-out scores would be selection on the test folds.
   */
  private List<String> suspectFolds() {
    List<String> out = new ArrayList<>();
    for (var d : report.details) {
      if (!d.method().startsWith("probe:") || !d.level().equals("line") || d.scaled()
          || !d.subset().equals(ReportRow.ALL)) {
        continue;
      }
      double[] sorted = d.foldBss().clone();
      java.util.Arrays.sort(sorted);
      double median = sorted[sorted.length / 2];
      for (int f = 0; f < d.foldBss().length; f++) {
        if (d.foldBss()[f] < median - 0.2) {
          out.add(String.format(java.util.Locale.ROOT, "%s fold %d: line BSS %.3f, its folds' median %.3f",
              d.method(), f + 1, d.foldBss()[f], median));
        }
      }
    }
    if (log != null) {
      out.forEach(w -> log.println("warning: a fold that may have trained badly: " + w));
    }
    return out;
  }

  /**
   * The lines' stack as shipped: every target probe input's fold heads, in {@link #targetProbes} order (the
   * regression's columns), and each fold's regression and isotonic calibration ({@link LineHeads#stackFolds}).
   */
  private StackedProbe stack(Probe shipped, Rows rows, int[] foldOfGroup) {
    Map<String, ProbeCrossValidation.Result> stacked = targetProbes();
    if (stacked.size() < 2) {
      throw new IllegalArgumentException("a stack needs two target probe inputs at least, got " + stacked.keySet());
    }
    FeatureSet states = s.calibration().get("target");
    List<Probe> members = new ArrayList<>();
    for (ProbeInput v : s.variants()) {
      if (stacked.containsKey(v.name())) {
        members.add(new Probe(Probe.Reads.TARGET, v.taps(), states.hiddenSize(), v.recordFeatures(),
            s.settings().width(), s.settings().maxPool(), stacked.get(v.name()).heads(), states.model(), null));
      }
    }
    return new StackedProbe(shipped, members, List.copyOf(stacked.keySet()),
        LineHeads.stackFolds(rows, foldOfGroup, stacked));
  }

  /** A copy of {@code scored} whose line level is {@code raw} and {@code scaled} (the others shared). */
  static Scored withLines(Scored scored, double[] raw, double[] scaled) {
    Scored out = new Scored(scored.method(), scored.raw().clone(), scored.scaled().clone());
    out.raw()[Rows.LINE] = raw;
    out.scaled()[Rows.LINE] = scaled;
    return out;
  }

  /**
   * Reliability diagrams of the cross-validated scores: the served probe at every level, raw and scaled, and every
   * baseline at the line level.
   */
  public void writeDiagrams(java.nio.file.Path dir) {
    if (crossValidated == null) {
      throw new IllegalStateException("run the study first");
    }
    for (Scored scored : crossValidated.values()) {
      boolean probe = scored.method().equals("probe");
      if (!probe && !KEY_METHODS.contains(scored.method())) {
        continue;
      }
      for (int level = 0; level < 3; level++) {
        if (!probe && level != Rows.LINE) {
          continue;
        }
        for (boolean scaled : new boolean[] {false, true}) {
          double[] p = (scaled ? scored.scaled() : scored.raw())[level];
          if (p == null || p.length == 0) {
            continue;
          }
          String name = "reliability-" + scored.method() + "-" + Rows.LEVELS[level] + (scaled ? "-scaled" : "")
              + ".png";
          dev.candor.probes.report.ReliabilityDiagram.write(dir.resolve(name), scored.method() + ", "
              + Rows.LEVELS[level] + " level, " + (scaled ? scaling(scored.method(), level) : "unscaled"), p,
              calibrationRows.labels[level], 10);
        }
      }
    }
  }

  /** How a method's scaled scores at a level were calibrated, for a diagram's title. */
  private String scaling(String method, int level) {
    boolean stackLines = s.serveStack() && method.equals("probe") && level == Rows.LINE;
    if (stackLines || method.endsWith(LineHeads.ISOTONIC)) {
      return "isotonic";
    }
    return LineHeads.NAMES.contains(method) || List.of("content", "type_token_prob", "line_type").contains(method)
        ? "fitted" : "Platt-scaled";
  }

  /** Out-of-fold scores of one probe input: sigmoid of its logits (raw) and cross-fitted Platt (scaled). */
  private Scored crossValidate(ProbeInput variant, Rows rows, int[] foldOfGroup) {
    List<ProbeTrainer.Problem> inputs = inputs(variant, s.calibration(), rows.problems);
    var result = cachedRun(variant, inputs, rows, foldOfGroup, "");
    probes.put(variant.name(), result);
    Scored scored = Scored.of("probe:" + variant.name());
    for (int level = 0; level < 3; level++) {
      double[] logits = result.logits()[level];
      double[] raw = new double[logits.length];
      for (int r = 0; r < raw.length; r++) {
        raw[r] = Platt.sigmoid(logits[r]);
      }
      scored.raw()[level] = raw;
      scored.scaled()[level] = CrossValidation.crossFit(rows.groups[level], foldOfGroup, logits, rows.labels[level]);
    }
    return scored;
  }

  /** {@link ProbeCrossValidation#run}, read from the cache when it holds this very run ({@code part}: of what). */
  private ProbeCrossValidation.Result cachedRun(ProbeInput variant, List<ProbeTrainer.Problem> inputs, Rows rows,
      int[] foldOfGroup, String part) {
    int size = inputs.getFirst().inputs()[0].length;
    String key = CrossValidationCache.key(variant.name() + part, s.settings().toString(), s.folds(), s.seed(), rows,
        s.calibration().get(variant.source()).model().describe());
    String name = (variant.name() + part).replaceAll("[^A-Za-z0-9,.+=-]", "_") + ".bin";
    java.nio.file.Path file = s.cache() == null ? null : s.cache().resolve(name);
    var result = file == null ? null : CrossValidationCache.read(file, key);
    if (result != null) {
      if (log != null) {
        log.println("probe " + variant.name() + part + ": cross-validation read from " + file);
      }
      return result;
    }
    result = ProbeCrossValidation.run(inputs, rows, foldOfGroup, s.folds(), s.settings(), size,
        "probe " + variant.name() + part, log);
    if (file != null) {
      CrossValidationCache.write(file, key, result);
    }
    return result;
  }

  /** The inputs of {@code problems} (the target's features of them) for a variant, from the matching source. */
  public static List<ProbeTrainer.Problem> inputs(ProbeInput variant, Map<String, FeatureSet> sources,
      List<ProblemFeatures> problems) {
    FeatureSet states = sources.get(variant.source());
    if (states == null) {
      throw new IllegalArgumentException("probe input " + variant.name() + " reads '" + variant.source()
          + "', but no features of it were given");
    }
    List<ProblemFeatures> byId = matching(states, problems);
    return variant.build(states, byId, problems);
  }

  /** {@code states}' problems in the order of {@code problems} (the same ids; a filtered subset is fine). */
  private static List<ProblemFeatures> matching(FeatureSet states, List<ProblemFeatures> problems) {
    Map<String, ProblemFeatures> byId = new java.util.HashMap<>();
    states.problems().forEach(p -> byId.put(p.id(), p));
    List<ProblemFeatures> out = new ArrayList<>();
    for (ProblemFeatures p : problems) {
      ProblemFeatures match = byId.get(p.id());
      if (match == null) {
        throw new IllegalArgumentException("no features of problem '" + p.id() + "' in the " + states.model().shape()
            + " source");
      }
      out.add(match);
    }
    return out;
  }

  /**
   * The requested variant, or the servable one with the best line-level scaled BSS (the first servable one where
   * the lines' labels are all alike and BSS is undefined).
   */
  private ProbeInput chooseServed(Map<String, Scored> methods, Rows rows) {
    ProbeInput best = null;
    double bestBss = Double.NEGATIVE_INFINITY;
    for (ProbeInput v : s.variants()) {
      double[] line = methods.get("probe:" + v.name()).scaled()[Rows.LINE];
      double bss = Metrics.brierSkillScore(line, rows.labels[Rows.LINE]);
      boolean candidate = s.served() != null ? v.name().equals(s.served()) : v.servable();
      // the first servable one when no BSS is defined (every line right, or every line wrong)
      if (candidate && (s.served() != null || best == null || bss > bestBss)) {
        best = v;
        bestBss = bss;
      }
    }
    if (best == null) {
      throw new IllegalArgumentException(s.served() == null ? "no servable probe input among the variants"
          : "the served probe '" + s.served() + "' is not among the variants");
    }
    return best;
  }

  /** Every baseline, out of fold: fixed ones Platt-scaled by cross-fitting, fitted ones fitted on the other folds. */
  private Map<String, Scored> baselines(Rows rows, int[] foldOfGroup) {
    Map<String, Scored> out = new LinkedHashMap<>();
    for (String name : Baselines.fixedNames()) {
      Scored fixed = Baselines.fixed(name, rows);
      if (fixed == null) {
        continue; // no samples in this dataset
      }
      for (int level = 0; level < 3; level++) {
        if (fixed.raw()[level] != null) {
          fixed.scaled()[level] = CrossValidation.crossFit(rows.groups[level], foldOfGroup, logits(fixed.raw()[level]),
              rows.labels[level]);
        }
      }
      out.put(name, fixed);
    }
    for (Baselines.Fitted kind : Baselines.Fitted.values()) {
      Scored fitted = Scored.of(kind.key);
      for (int level = 0; level < 3; level++) {
        double[][] x = Baselines.features(kind, rows, level);
        if (x != null) {
          fitted.scaled()[level] = crossFitModel(x, rows, level, foldOfGroup);
        }
      }
      out.put(kind.key, fitted);
    }
    return out;
  }

  /** Each row's prediction from a regression fitted on the other folds' rows. */
  private double[] crossFitModel(double[][] x, Rows rows, int level, int[] foldOfGroup) {
    int[] rowFolds = CrossValidation.rowFolds(rows.groups[level], foldOfGroup);
    double[] out = new double[x.length];
    for (int f = 0; f < s.folds(); f++) {
      List<double[]> trainX = new ArrayList<>();
      List<Boolean> trainY = new ArrayList<>();
      List<Integer> test = new ArrayList<>();
      for (int r = 0; r < x.length; r++) {
        if (rowFolds[r] == f) {
          test.add(r);
        } else {
          trainX.add(x[r]);
          trainY.add(rows.labels[level][r]);
        }
      }
      if (test.isEmpty()) {
        continue;
      }
      double[] p = Baselines.fitAndPredict(trainX.toArray(new double[0][]), unbox(trainY),
          test.stream().map(r -> x[r]).toArray(double[][]::new));
      for (int i = 0; i < p.length; i++) {
        out[test.get(i)] = p[i];
      }
    }
    return out;
  }

  /** Baselines fitted on {@code train}'s rows (Platt for the fixed ones) and scored on {@code test}'s. */
  static Map<String, Scored> transferBaselines(Rows train, Rows test) {
    Map<String, Scored> out = new LinkedHashMap<>();
    for (String name : Baselines.fixedNames()) {
      Scored from = Baselines.fixed(name, train);
      Scored to = Baselines.fixed(name, test);
      if (from == null || to == null) {
        continue;
      }
      for (int level = 0; level < 3; level++) {
        if (to.raw()[level] != null && train.count(level) > 0) {
          to.scaled()[level] = Platt.fit(logits(from.raw()[level]), train.labels[level]).apply(logits(to.raw()[level]));
        }
      }
      out.put(name, to);
    }
    for (Baselines.Fitted kind : Baselines.Fitted.values()) {
      Scored fitted = Scored.of(kind.key);
      for (int level = 0; level < 3; level++) {
        double[][] x = Baselines.features(kind, train, level);
        if (x != null && x.length > 0 && test.count(level) > 0) {
          fitted.scaled()[level] = Baselines.fitAndPredict(x, train.labels[level],
              Baselines.features(kind, test, level));
        }
      }
      out.put(kind.key, fitted);
    }
    return out;
  }

  /** Rows for every method on all rows, and for the key methods on every subset. */
  private void addRows(Map<String, Scored> methods, ReportBuilder.Evaluation e, String prefix, boolean whole) {
    for (Scored scored : methods.values()) {
      for (int level = 0; level < 3; level++) {
        if (e.rows().count(level) == 0) {
          continue;
        }
        if (whole) {
          report.add(scored, e, level, prefix.isEmpty() ? ReportRow.ALL : prefix, null);
        }
        if (!KEY_METHODS.contains(scored.method())) {
          continue;
        }
        for (var subset : e.rows().subsets.get(level).entrySet()) {
          report.add(scored, e, level, prefix.isEmpty() ? subset.getKey() : prefix + ":" + subset.getKey(),
              subset.getValue());
        }
      }
    }
  }

  /** The served probe against every other method on all rows, and against the key ones on every subset. */
  private void compare(Iterable<String> methods, Rows rows, String prefix, boolean whole) {
    for (int level = 0; level < 3; level++) {
      String name = Rows.LEVELS[level];
      for (String other : methods) {
        if (other.equals("probe")) {
          continue;
        }
        if (whole) {
          report.compare("probe", other, name, true, prefix.isEmpty() ? ReportRow.ALL : prefix, false);
        }
        if (!KEY_METHODS.contains(other)) {
          continue;
        }
        for (String subset : rows.subsets.get(level).keySet()) {
          String full = prefix.isEmpty() ? subset : prefix + ":" + subset;
          report.compare("probe", other, name, true, full, ALL_WRONG.contains(subset));
        }
      }
    }
  }

  /** The cross-validations of every probe input that reads the target, in the study's order. */
  private Map<String, ProbeCrossValidation.Result> targetProbes() {
    Map<String, ProbeCrossValidation.Result> out = new LinkedHashMap<>();
    for (ProbeInput v : s.variants()) {
      if (v.source().equals("target")) {
        out.put(v.name(), probes.get(v.name()));
      }
    }
    return out;
  }

  /**
   * Each line-level head against the served probe alone (its input's own row, whatever scores the served lines) and
   * the two methods it must beat (line level, all rows).
   */
  private void compareLineHeads(ProbeInput served) {
    for (String head : LineHeads.NAMES) {
      for (String other : List.of("probe:" + served.name(), "multisample", "content")) {
        report.compare(head, other, "line", true, ReportRow.ALL, false);
      }
    }
  }

  /** The shipped probe: the served variant's fold heads, each Platt-scaled on its own held-out fold. */
  private Probe shipped(ProbeInput served) {
    FeatureSet states = s.calibration().get(served.source());
    Probe.Reads reads = served.source().equals("drafter") ? Probe.Reads.DRAFTER : Probe.Reads.TARGET;
    return new Probe(reads, served.taps(), states.hiddenSize(), served.recordFeatures(), s.settings().width(),
        s.settings().maxPool(), probes.get(served.name()).heads(), states.model(), null);
  }

  /**
   * The shipped probe (and stack) on fresh problems and counterfactuals, and the probe's recipe under a difficulty
   * shift (the stack's is not: it would cross-validate every member again on the easy half).
   */
  private void transfers(ProbeInput served, Rows calibration, StackedProbe stack) {
    List<Probe.Head> heads = probes.get(served.name()).heads();
    if (!s.fresh().isEmpty()) {
      transfer("fresh", served, heads, stack, calibration, s.fresh(), true);
    }
    if (!s.counterfactual().isEmpty()) {
      transfer("counterfactual", served, heads, stack, calibration, s.counterfactual(), false);
    }
    shift(served, calibration);
  }

  /** Scores {@code sources}' problems with the heads (lines with the stack, if any) and with baselines fitted on {@code train}. */
  private void transfer(String name, ProbeInput served, List<Probe.Head> heads, StackedProbe stack, Rows train,
      Map<String, FeatureSet> sources, boolean whole) {
    FeatureSet target = sources.get("target");
    if (target == null) {
      throw new IllegalArgumentException("the " + name + " features need a 'target' source");
    }
    Rows test = new Rows(target.problems());
    test.union("cf+control:downstream", "cf:downstream", "control:downstream");
    List<ProbeTrainer.Problem> inputs = inputs(served, sources, target.problems());
    Map<String, Scored> methods = new LinkedHashMap<>();
    methods.put("probe", ProbeCrossValidation.score("probe",
        ProbeCrossValidation.ensemble(heads, s.settings(), inputs.getFirst().inputs()[0].length), inputs, test));
    if (stack != null) {
      double[][] lines = stackLines(stack, target);
      methods.put("probe", withLines(methods.get("probe"), lines[0], lines[1]));
    }
    methods.putAll(transferBaselines(train, test));
    int[] oneFold = new int[test.problems.size()];
    var e = new ReportBuilder.Evaluation(test, oneFold, 1, new Bootstrap(oneFold, s.resamples(), s.seed()));
    addRows(methods, e, name, whole);
    compare(methods.keySet(), test, name, whole);
  }

  /** The served recipe trained on difficulty ≤ 0.5 only, tested on the harder half, beside baselines fitted alike. */
  private void shift(ProbeInput served, Rows calibration) {
    List<ProblemFeatures> easy = calibration.problems.stream().filter(p -> p.difficulty() <= Rows.HARD).toList();
    List<ProblemFeatures> hard = calibration.problems.stream().filter(p -> p.difficulty() > Rows.HARD).toList();
    if (easy.size() < s.folds() || hard.isEmpty()) {
      return; // no difficulties in this dataset
    }
    Rows train = new Rows(easy);
    Rows test = new Rows(hard);
    int[] folds = CrossValidation.folds(easy.size(), s.folds(), s.seed());
    List<ProbeTrainer.Problem> trainInputs = inputs(served, s.calibration(), easy);
    int size = trainInputs.getFirst().inputs()[0].length;
    var heads = cachedRun(served, trainInputs, train, folds, " on difficulty <= " + Rows.HARD).heads();
    Map<String, Scored> methods = new LinkedHashMap<>();
    methods.put("probe", ProbeCrossValidation.score("probe", ProbeCrossValidation.ensemble(heads, s.settings(), size),
        inputs(served, s.calibration(), hard), test));
    methods.putAll(transferBaselines(train, test));
    int[] oneFold = new int[hard.size()];
    var e = new ReportBuilder.Evaluation(test, oneFold, 1, new Bootstrap(oneFold, s.resamples(), s.seed()));
    String name = "shift:difficulty>" + Rows.HARD;
    for (Scored scored : methods.values()) {
      for (int level = 0; level < 3; level++) {
        report.add(scored, e, level, name, null);
      }
    }
    for (String other : methods.keySet()) {
      for (int level = 0; level < 3; level++) {
        if (!other.equals("probe")) {
          report.compare("probe", other, Rows.LEVELS[level], true, name, false);
        }
      }
    }
  }

  /**
   * The stack's p(correct) of every code line of {@code set}'s problems, as the server computes it from each token's
   * hidden states at the stack's taps: [0] its regressions' mean, before calibration; [1] calibrated.
   */
  public static double[][] stackLines(StackedProbe stack, FeatureSet set) {
    int[] taps = stack.taps();
    int[] at = new int[taps.length];
    for (int k = 0; k < taps.length; k++) {
      at[k] = -1;
      for (int t = 0; t < set.taps().length; t++) {
        if (set.taps()[t] == taps[k]) {
          at[k] = t;
        }
      }
      if (at[k] < 0) {
        throw new IllegalArgumentException("the stack reads tap " + taps[k] + ", not among the features' "
            + java.util.Arrays.toString(set.taps()));
      }
    }
    List<double[]> raw = new ArrayList<>();
    List<double[]> scaled = new ArrayList<>();
    for (ProblemFeatures p : set.problems()) {
      int hidden = set.hiddenSize();
      List<float[]> records = new ArrayList<>(p.size());
      for (int i = 0; i < p.size(); i++) {
        float[] h = new float[taps.length * hidden];
        for (int k = 0; k < taps.length; k++) {
          System.arraycopy(p.hiddenAt(at[k])[i], 0, h, k * hidden, hidden);
        }
        records.add(h);
      }
      for (int l = 0; l < p.lines().length; l++) {
        int from = p.lineStart(l);
        int to = p.lineEnd(l);
        double[] scores = stack.lineScores(records.subList(from, to),
            java.util.Arrays.copyOfRange(p.tokenLogprob(), from, to),
            java.util.Arrays.copyOfRange(p.tokenEntropy(), from, to), l);
        raw.add(new double[] {scores[0]});
        scaled.add(new double[] {scores[1]});
      }
    }
    return new double[][] {raw.stream().mapToDouble(v -> v[0]).toArray(),
        scaled.stream().mapToDouble(v -> v[0]).toArray()};
  }

  private Map<String, Object> meta(ProbeInput served, Probe shipped, StackedProbe stack) {
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("folds", s.folds());
    meta.put("seed", s.seed());
    meta.put("bootstrap_resamples", s.resamples());
    meta.put("served_probe", served.name());
    meta.put("served_heads", shipped.heads().size());
    meta.put("model", shipped.model().describe());
    meta.put("probe", s.settings().toString());
    meta.put("scaling", "Platt, cross-fitted: each row's scaling fitted on the other folds' rows; fitted baselines "
        + "(line_type, type_token_prob, content) are fitted on the other folds and listed as scaled");
    meta.put("metrics", "per fold, then the mean over folds; ECE with 10 equal-width bins; BSS against the base rate;"
        + " ci_low/ci_high: bootstrap 95% interval of the BSS, problems resampled within folds");
    meta.put("shipped", "the served variant's fold heads, each Platt-scaled on its own held-out fold; p = their mean."
        + " Rows 'fresh:*', 'counterfactual:*' score exactly that probe; 'shift:*' rows score the same recipe trained"
        + " on difficulty <= " + Rows.HARD + " only");
    if (stack != null) {
      meta.put("shipped_lines", "the stack of " + stack.memberNames() + " (stack_isotonic): per fold, every member's"
          + " head of that fold, a logistic regression on their line logits and " + StackedProbe.LINE_FEATURES
          + " fitted on the other folds' lines, isotonic fitted on the other folds' cross-fitted outputs; p = the"
          + " mean over folds. The 'probe' rows at the line level score the stack (unscaled: its regressions before"
          + " the isotonic), at the token and response levels the served probe; 'shift:*' rows the served probe's"
          + " recipe alone");
    }
    return meta;
  }

  private static double[] logits(double[] p) {
    double[] out = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      out[i] = Platt.logit(p[i]);
    }
    return out;
  }

  private static boolean[] unbox(List<Boolean> values) {
    boolean[] out = new boolean[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }

  private Map<String, Double> baseRates(Rows rows) {
    Map<String, Double> rates = new LinkedHashMap<>();
    for (int level = 0; level < 3; level++) {
      rates.put(Rows.LEVELS[level], rows.count(level) == 0 ? Double.NaN : Metrics.baseRate(rows.labels[level]));
    }
    return rates;
  }

  private static Map<String, Integer> counts(Rows rows) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (int level = 0; level < 3; level++) {
      counts.put(Rows.LEVELS[level] + "s", rows.count(level));
    }
    return counts;
  }
}
