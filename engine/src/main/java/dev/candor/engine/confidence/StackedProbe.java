package dev.candor.engine.confidence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.generate.TokenRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * A probe whose lines are scored by a stack (Wolpert 1992, "Stacked generalization") of probes, the winner of the
 * probe study at the line level: a token and the response are scored by the served {@link Probe} as before; a line
 * by several probes on different taps of the target, whose line logits, beside a few generic line features
 * ({@link #lineFeatures}), go through a logistic regression and an isotonic calibration.
 *
 * <p>The study cross-fitted all of it on k folds of problems, and the stack ships the k pipelines it evaluated:
 * pipeline f is every member probe's head f (trained without fold f), the logistic regression fitted on the other
 * folds' lines, and the isotonic calibration fitted on the other folds' cross-fitted outputs. A line's p(correct) is
 * the mean of the k pipelines' probabilities, as a probe's is the mean of its fold heads'.
 *
 * <p>A stack directory is a probe directory (the served probe's {@code probe.json} and {@code probe.safetensors})
 * with {@code stack.json} ({@link #FORMAT}: the record's taps, the member probes' directories in the regression's
 * column order, the generic features' names, and per fold the regression's standardisation and weights and the
 * isotonic knots) and the members' directories, each a probe directory of its own.
 */
public final class StackedProbe implements ConfidenceModel {
  public static final String META = "stack.json";
  public static final String FORMAT = "candor-stack/1";
  /** Probabilities are clipped to [CLIP, 1 − CLIP] before a logit, and by the isotonic calibration. */
  public static final double CLIP = 1e-6;
  /** The generic line features, in the regression's column order after the members' logits. */
  public static final List<String> LINE_FEATURES = List.of("logit_min_token_prob", "logit_mean_token_prob",
      "max_entropy", "mean_entropy", "log1p_tokens", "code_line_index");

  /**
   * p = sigmoid(β · [(x − mean) / scale, 1]): a logistic regression on standardised features, the intercept last.
   */
  public record Logistic(double[] mean, double[] scale, double[] beta) {
    public Logistic {
      if (scale.length != mean.length || beta.length != mean.length + 1) {
        throw new IllegalArgumentException("a logistic regression on " + mean.length + " features needs as many "
            + "scales and one more weight, got " + scale.length + " and " + beta.length);
      }
    }

    public double probability(double[] row) {
      double s = 0;
      for (int j = 0; j < mean.length; j++) {
        s += beta[j] * ((row[j] - mean[j]) / scale[j]);
      }
      return Probe.sigmoid(s + beta[mean.length]);
    }
  }

  /**
   * A non-decreasing piecewise-linear map of a score to a probability: knots (x increasing, y non-decreasing),
   * interpolated between them, constant beyond the ends, clipped to [{@link #CLIP}, 1 − CLIP].
   */
  public record Isotonic(double[] x, double[] y) {
    public Isotonic {
      if (x.length == 0 || x.length != y.length) {
        throw new IllegalArgumentException("isotonic knots: " + x.length + " x and " + y.length + " y");
      }
      for (int i = 1; i < x.length; i++) {
        if (!(x[i] > x[i - 1]) || y[i] < y[i - 1]) {
          throw new IllegalArgumentException("isotonic knots must increase in x and not decrease in y at " + i);
        }
      }
    }

    public double apply(double s) {
      int j = Arrays.binarySearch(x, s);
      double p;
      if (j >= 0) {
        p = y[j];
      } else {
        j = -j - 1;
        p = j == 0 ? y[0] : j == x.length ? y[x.length - 1]
            : y[j - 1] + (y[j] - y[j - 1]) * (s - x[j - 1]) / (x[j] - x[j - 1]);
      }
      return Math.min(1 - CLIP, Math.max(CLIP, p));
    }
  }

  /** One fold's pipeline after the members' head f: the regression and its calibration. */
  public record Fold(Logistic head, Isotonic calibration) {}

  private final Probe served;
  private final List<Probe> members;
  private final List<String> memberNames;
  private final List<Fold> folds;
  private final int[] taps;

  /**
   * @param served scores tokens and the response
   * @param members the stacked probes, in the regression's column order, each with one head per fold
   * @param memberNames each member's name (its probe input, e.g. "target:taps1,2,3,4+logprob,entropy")
   * @param folds one pipeline per fold, in the members' head order
   */
  public StackedProbe(Probe served, List<Probe> members, List<String> memberNames, List<Fold> folds) {
    if (members.isEmpty() || members.size() != memberNames.size() || folds.isEmpty()) {
      throw new IllegalArgumentException("a stack needs members, one name each, and folds");
    }
    TreeSet<Integer> all = new TreeSet<>();
    for (Probe p : members) {
      if (p.reads() != Probe.Reads.TARGET || p.hiddenSize() != served.hiddenSize()
          || !p.model().equals(served.model())) {
        throw new IllegalArgumentException("a stack's members read the served probe's model, at its hidden size");
      }
      if (p.heads().size() != folds.size()) {
        throw new IllegalArgumentException("a member has " + p.heads().size() + " heads for " + folds.size()
            + " folds");
      }
      Arrays.stream(p.readsTaps()).forEach(all::add);
    }
    Arrays.stream(served.readsTaps()).forEach(all::add);
    int columns = members.size() + LINE_FEATURES.size();
    for (Fold f : folds) {
      if (f.head().mean().length != columns) {
        throw new IllegalArgumentException("a fold's regression has " + f.head().mean().length + " features, the "
            + "stack " + columns);
      }
    }
    this.taps = all.stream().mapToInt(Integer::intValue).toArray();
    this.served = served.withLayout(taps);
    this.members = members.stream().map(p -> p.withLayout(taps)).toList();
    this.memberNames = List.copyOf(memberNames);
    this.folds = List.copyOf(folds);
  }

  /** Whether {@code dir} holds a stack (a {@link #META} beside the probe). */
  public static boolean isStack(Path dir) {
    return Files.exists(dir.resolve(META));
  }

  /**
   * Loads a stack, its members checked against the served probe's model; the caller checks that model against the
   * one it serves, as for a probe.
   */
  public static StackedProbe load(Path dir) {
    Probe served = Probe.load(dir, null);
    Path metaFile = dir.resolve(META);
    JsonNode meta = Probe.readMeta(metaFile, FORMAT, "");
    if (!meta.path("line_features").equals(new ObjectMapper().valueToTree(LINE_FEATURES))) {
      throw new CheckpointException(metaFile + ": line_features " + meta.path("line_features") + ", this engine "
          + "computes " + LINE_FEATURES);
    }
    List<Probe> members = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (JsonNode m : meta.path("members")) {
      Path memberDir = dir.resolve(m.path("dir").asText()).normalize();
      if (!memberDir.startsWith(dir.normalize())) {
        throw new CheckpointException(metaFile + ": member directory '" + m.path("dir").asText() + "' is outside "
            + dir);
      }
      members.add(Probe.load(memberDir, null));
      names.add(m.path("name").asText());
    }
    List<Fold> folds = new ArrayList<>();
    for (JsonNode f : meta.path("folds")) {
      folds.add(new Fold(new Logistic(doubles(f.path("logistic").path("mean")),
          doubles(f.path("logistic").path("scale")), doubles(f.path("logistic").path("beta"))),
          new Isotonic(doubles(f.path("isotonic").path("x")), doubles(f.path("isotonic").path("y")))));
    }
    try {
      return new StackedProbe(served, members, names, folds);
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(metaFile + ": " + e.getMessage());
    }
  }

  private static double[] doubles(JsonNode array) {
    double[] v = new double[array.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = array.get(i).asDouble();
    }
    return v;
  }

  @Override
  public String method() {
    return "probe";
  }

  @Override
  public String note() {
    return "probe on hidden states, calibrated on held-out data: a probability that the token, line, or response is "
        + "correct (lines by a stack of probes on several layers)";
  }

  /** Every tap any member or the served probe reads, ascending: what each record holds, in that order. */
  @Override
  public int[] taps() {
    return taps.clone();
  }

  public Probe served() {
    return served;
  }

  public List<Probe> members() {
    return members;
  }

  public List<String> memberNames() {
    return memberNames;
  }

  public List<Fold> folds() {
    return folds;
  }

  public ModelIdentity model() {
    return served.model();
  }

  @Override
  public double token(TokenRecord record) {
    return served.token(record);
  }

  /** The served probe's line score: a line scored without its index cannot be stacked. */
  @Override
  public double line(List<TokenRecord> records) {
    return served.line(records);
  }

  /**
   * The stack's p(correct) of a code line at {@code index} among the response's code lines; NaN for a blank line
   * or when a record lacks its hidden states.
   */
  @Override
  public double line(List<TokenRecord> records, int index) {
    if (records.isEmpty() || Lines.isBlank(records.stream().map(TokenRecord::bytes).toList())) {
      return Double.NaN;
    }
    List<float[]> hidden = new ArrayList<>(records.size());
    double[] logprob = new double[records.size()];
    double[] entropy = new double[records.size()];
    for (int i = 0; i < records.size(); i++) {
      TokenRecord r = records.get(i);
      if (r.hidden() == null) {
        return Double.NaN;
      }
      hidden.add(r.hidden());
      logprob[i] = r.rawLogprob();
      entropy[i] = r.entropy();
    }
    return lineProbability(hidden, logprob, entropy, index);
  }

  @Override
  public double response(List<TokenRecord> records) {
    return served.response(records);
  }

  /**
   * A code line's p(correct) from its tokens' hidden states (each the record's, at {@link #taps}), raw
   * log-probabilities and entropies: the mean over folds of calibration(regression(members' logits, features)).
   * What the server computes and what the study scores offline.
   */
  public double lineProbability(List<float[]> hidden, double[] rawLogprob, double[] entropy, int index) {
    return lineScores(hidden, rawLogprob, entropy, index)[1];
  }

  /**
   * {@link #lineProbability}, and before it the folds' regressions' mean without their calibration: {uncalibrated,
   * p(correct)}.
   */
  public double[] lineScores(List<float[]> hidden, double[] rawLogprob, double[] entropy, int index) {
    List<List<float[]>> inputs = new ArrayList<>(members.size()); // [member][token][its input]
    for (Probe m : members) {
      List<float[]> x = new ArrayList<>(hidden.size());
      for (int i = 0; i < hidden.size(); i++) {
        x.add(m.input(hidden.get(i), rawLogprob[i], entropy[i]));
      }
      inputs.add(x);
    }
    double[] generic = lineFeatures(rawLogprob, entropy, index);
    double raw = 0;
    double p = 0;
    for (int f = 0; f < folds.size(); f++) {
      double[] row = new double[members.size() + generic.length];
      for (int m = 0; m < members.size(); m++) {
        row[m] = members.get(m).logit(members.get(m).heads().get(f), inputs.get(m));
      }
      System.arraycopy(generic, 0, row, members.size(), generic.length);
      Fold fold = folds.get(f);
      double q = fold.head().probability(row);
      raw += q;
      p += fold.calibration().apply(q);
    }
    return new double[] {raw / folds.size(), p / folds.size()};
  }

  /**
   * A line's generic features ({@link #LINE_FEATURES}): the logit of its least and of its mean token probability,
   * its largest and mean entropy, log(1 + its tokens), and its index among the response's code lines. Computed here
   * for the study and the server alike.
   */
  public static double[] lineFeatures(double[] rawLogprob, double[] entropy, int index) {
    int n = rawLogprob.length;
    double min = 1;
    double mean = 0;
    double maxEntropy = 0;
    double meanEntropy = 0;
    for (int i = 0; i < n; i++) {
      double prob = Math.exp(rawLogprob[i]);
      min = Math.min(min, prob);
      mean += prob / n;
      maxEntropy = Math.max(maxEntropy, entropy[i]);
      meanEntropy += entropy[i] / n;
    }
    return new double[] {logit(min), logit(Math.min(1, mean)), maxEntropy, meanEntropy, Math.log1p(n), index};
  }

  /** log(p / (1 − p)) of p clipped to [{@link #CLIP}, 1 − CLIP]. */
  public static double logit(double p) {
    double clipped = Math.min(Math.max(p, CLIP), 1 - CLIP);
    return Math.log(clipped / (1 - clipped));
  }
}
