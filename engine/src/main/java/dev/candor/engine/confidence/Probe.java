package dev.candor.engine.confidence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.SafeTensors;
import dev.candor.engine.generate.TokenRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A trained probe (Gros &amp; Devanbu, "Localized Calibrated Uncertainty in Code Language Models"), scored in plain
 * Java on each emitted token. A token's input is its hidden state at the probe's tap (or at several taps,
 * concatenated in the order the probe lists them), optionally followed by scalars from its record
 * (the target's log-probability of it, its entropy: {@link RecordFeature}). Each head maps a token's input x to a 32-wide
 * vector GELU(W x + b); a set of tokens (one token, a line, the response) is max-pooled (or mean-pooled); a linear
 * output gives a logit s; the head's Platt scaling for the set's level gives sigmoid(A·s + B). A probe holds one head
 * or several (the folds of a cross-validation, each Platt-scaled on the fold it did not train on, so its scaling holds
 * on fresh data); p(correct) is the mean of the heads' probabilities.
 *
 * <p>A probe directory holds {@code probe.safetensors} (per head h: heads.h.proj.weight [32, input],
 * heads.h.proj.bias [32], heads.h.out.weight [1, 32], heads.h.out.bias [1]) and {@code probe.json}: which model's
 * hidden states it reads ({@code reads}: the target, or the drafter, which runs over every emitted token during
 * speculative decoding), the taps, the record features, sizes, pooling, each head's Platt parameters, and the
 * {@link ModelIdentity} of the model it was trained on: loading it for another model is refused.
 */
public final class Probe implements ConfidenceModel {
  public static final String WEIGHTS = "probe.safetensors";
  public static final String META = "probe.json";
  public static final String FORMAT = "candor-probe/2";

  /** Granularity of a scored token set; each has its own Platt scaling. */
  public enum Level {
    TOKEN, LINE, RESPONSE;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Whose hidden states the probe reads. */
  public enum Reads {
    TARGET, DRAFTER;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A scalar of the token's record appended to its hidden state, computed identically offline and online. */
  public enum RecordFeature {
    /** The target's raw log-probability of the token, floored at −20 (a token it found impossible). */
    LOGPROB,
    /** The target's raw probability of the token. */
    PROB,
    /** Entropy of the target's raw distribution at the token, nats. */
    ENTROPY;

    public double value(double rawLogprob, double entropy) {
      return switch (this) {
        case LOGPROB -> Math.max(rawLogprob, -20);
        case PROB -> Math.exp(rawLogprob);
        case ENTROPY -> entropy;
      };
    }

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** p = sigmoid(a·s + b) on a head's logit s. Identity: a = 1, b = 0. */
  public record Platt(double a, double b) {
    public static final Platt IDENTITY = new Platt(1, 0);

    public double apply(double logit) {
      return sigmoid(a * logit + b);
    }
  }

  /**
   * One head: proj.weight [width, input] row-major, proj.bias [width], out.weight [width], out.bias, and a Platt
   * scaling per {@link Level} (by ordinal).
   */
  public record Head(float[] projWeight, float[] projBias, float[] outWeight, float outBias, Platt[] platt) {
    public Platt platt(Level level) {
      return platt[level.ordinal()];
    }

    public Head withPlatt(Platt[] scaling) {
      return new Head(projWeight, projBias, outWeight, outBias, scaling.clone());
    }
  }

  private final Reads reads;
  private final int[] taps; // read, concatenated in this order
  private final int[] layout; // the taps a record's hidden holds, in its order (the taps themselves unless a stack's)
  private final int hidden; // per tap
  private final List<RecordFeature> recordFeatures;
  private final int width;
  private final boolean maxPool;
  private final List<Head> heads;
  private final ModelIdentity model;
  private final JsonNode meta;
  /**
   * Each record's projections [heads][width], keyed by its hidden state (an identity key: arrays do not override
   * equals), so that a token's, its line's and the response's scores project it once; weak, so the entries go with
   * the records. The server asks for all three levels, so without it every token was projected three times.
   */
  private final Map<float[], double[][]> projections = Collections.synchronizedMap(new WeakHashMap<>());

  public Probe(Reads reads, int tap, int hidden, List<RecordFeature> recordFeatures, int width, boolean maxPool,
      List<Head> heads, ModelIdentity model, JsonNode meta) {
    this(reads, new int[] {tap}, hidden, recordFeatures, width, maxPool, heads, model, meta);
  }

  /**
   * A probe on the hidden states at {@code taps}, concatenated in that order ({@code hidden} values each), then the
   * record features. A drafter probe reads one tap.
   */
  public Probe(Reads reads, int[] taps, int hidden, List<RecordFeature> recordFeatures, int width, boolean maxPool,
      List<Head> heads, ModelIdentity model, JsonNode meta) {
    this(reads, taps, taps, hidden, recordFeatures, width, maxPool, heads, model, meta);
  }

  private Probe(Reads reads, int[] taps, int[] layout, int hidden, List<RecordFeature> recordFeatures, int width,
      boolean maxPool, List<Head> heads, ModelIdentity model, JsonNode meta) {
    if (heads.isEmpty()) {
      throw new IllegalArgumentException("a probe needs at least one head");
    }
    if (taps.length == 0 || Arrays.stream(taps).distinct().count() != taps.length
        || (reads == Reads.DRAFTER && taps.length != 1)) {
      throw new IllegalArgumentException("a probe reads one tap or several distinct ones (a drafter probe one), got "
          + Arrays.toString(taps));
    }
    for (int t : taps) {
      if (t < 0 || position(layout, t) < 0) {
        throw new IllegalArgumentException("tap " + t + " is not among the record's taps " + Arrays.toString(layout));
      }
    }
    int input = taps.length * hidden + recordFeatures.size();
    for (Head h : heads) {
      if (h.projWeight().length != width * input || h.projBias().length != width || h.outWeight().length != width
          || h.platt().length != Level.values().length) {
        throw new IllegalArgumentException("a head's sizes do not fit width " + width + " and input " + input);
      }
    }
    this.reads = reads;
    this.taps = taps.clone();
    this.layout = layout.clone();
    this.hidden = hidden;
    this.recordFeatures = List.copyOf(recordFeatures);
    this.width = width;
    this.maxPool = maxPool;
    this.heads = List.copyOf(heads);
    this.model = model;
    this.meta = meta;
  }

  /** One head on the target's hidden states alone, identified by shape only (tools and benchmarks). */
  public Probe(int tap, int hidden, int width, boolean maxPool, float[] projWeight, float[] projBias, float[] outWeight,
      float outBias, Platt[] platt, String fingerprint, JsonNode meta) {
    this(Reads.TARGET, tap, hidden, List.of(), width, maxPool,
        List.of(new Head(projWeight, projBias, outWeight, outBias, platt)), new ModelIdentity(fingerprint, "", ""),
        meta);
  }

  /**
   * Loads a probe for the model {@code served} (the target's identity, or the drafter's for a probe that reads the
   * drafter). A probe trained on another model (shape, weights or format) is refused in one line naming both.
   */
  public static Probe loadFor(Path dir, ModelIdentity served) {
    Probe probe = read(dir);
    if (served != null && !probe.model.equals(served)) {
      throw new CheckpointException(dir.resolve(META) + ": this probe was trained on the model with "
          + probe.model.describe() + ", but it would read the model with " + served.describe()
          + "; train a probe for this model");
    }
    return probe;
  }

  /** Loads a probe checking the architecture only ({@code shape} null: nothing): for tools, not for serving. */
  public static Probe load(Path dir, Qwen2Config shape) {
    Probe probe = read(dir);
    if (shape != null && !probe.model.shape().equals(shape.fingerprint())) {
      throw new CheckpointException(dir.resolve(META) + ": this probe was trained for a model with fingerprint '"
          + probe.model.shape() + "', but this model's is '" + shape.fingerprint() + "' (another shape)");
    }
    if (shape != null && (Arrays.stream(probe.taps).max().getAsInt() > shape.numHiddenLayers()
        || probe.hidden != shape.hiddenSize())) {
      throw new CheckpointException(dir.resolve(META) + ": taps " + Arrays.toString(probe.taps) + " / hidden_size "
          + probe.hidden + " do not fit the model");
    }
    return probe;
  }

  private static Probe read(Path dir) {
    Path metaFile = dir.resolve(META);
    if (!Files.exists(metaFile)) {
      throw new CheckpointException(dir + ": not a probe directory (no " + META + ")");
    }
    JsonNode meta = readMeta(metaFile, FORMAT,
        " (a candor-probe/1 probe names its model by shape only; train it again)");
    Reads reads = parse(Reads.class, meta.path("reads").asText("target"), metaFile, "reads");
    int[] taps = taps(meta, metaFile);
    int hidden = meta.path("hidden_size").asInt(-1);
    int width = meta.path("projection_size").asInt(-1);
    if (hidden < 1 || width < 1) {
      throw new CheckpointException(metaFile + ": hidden_size and projection_size must be set");
    }
    List<RecordFeature> features = new ArrayList<>();
    for (JsonNode f : meta.path("record_features")) {
      features.add(parse(RecordFeature.class, f.asText(), metaFile, "record_features"));
    }
    String pooling = meta.path("pooling").asText("max");
    if (!pooling.equals("max") && !pooling.equals("mean")) {
      throw new CheckpointException(metaFile + ": pooling must be 'max' or 'mean', got '" + pooling + "'");
    }
    JsonNode m = meta.path("model");
    ModelIdentity model = new ModelIdentity(m.path("shape").asText(""), m.path("weights").asText(""),
        m.path("format").asText(""));
    if (!meta.path("heads").isArray() || meta.path("heads").isEmpty()) {
      throw new CheckpointException(metaFile + ": no heads");
    }
    int input = taps.length * hidden + features.size();
    List<Head> heads = new ArrayList<>();
    try (SafeTensors weights = SafeTensors.open(dir.resolve(WEIGHTS))) {
      for (int h = 0; h < meta.path("heads").size(); h++) {
        String prefix = "heads." + h + ".";
        Platt[] platt = new Platt[Level.values().length];
        for (Level level : Level.values()) {
          JsonNode p = meta.path("heads").get(h).path("platt").path(level.key());
          platt[level.ordinal()] = p.isObject() ? new Platt(p.path("a").asDouble(1), p.path("b").asDouble(0))
              : Platt.IDENTITY;
        }
        heads.add(new Head(weights.get(prefix + "proj.weight").expectShape(width, input).toFloatArray(),
            weights.get(prefix + "proj.bias").expectShape(width).toFloatArray(),
            weights.get(prefix + "out.weight").expectShape(1, width).toFloatArray(),
            weights.get(prefix + "out.bias").expectShape(1).toFloatArray()[0], platt));
      }
    }
    try {
      return new Probe(reads, taps, hidden, features, width, pooling.equals("max"), heads, model, meta);
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(metaFile + ": " + e.getMessage());
    }
  }

  /** A probe directory's JSON file, refused in one line unless it parses and is of {@code format} (then {@code hint}). */
  static JsonNode readMeta(Path file, String format, String hint) {
    JsonNode meta;
    try {
      meta = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new CheckpointException(file + ": not valid JSON: " + e.getMessage());
    }
    if (!format.equals(meta.path("format").asText())) {
      throw new CheckpointException(file + ": format '" + meta.path("format").asText() + "', expected '" + format
          + "'" + hint);
    }
    return meta;
  }

  /** "taps": [i, ...], or "tap": i as a one-tap probe writes it. */
  private static int[] taps(JsonNode meta, Path metaFile) {
    JsonNode t = meta.path("taps");
    int[] taps = t.isArray() ? new int[t.size()] : new int[] {meta.path("tap").asInt(-1)};
    for (int i = 0; i < t.size(); i++) {
      taps[i] = t.get(i).isInt() ? t.get(i).asInt() : -1;
    }
    if (taps.length == 0 || Arrays.stream(taps).anyMatch(v -> v < 0)) {
      throw new CheckpointException(metaFile + ": tap (or taps) must name hidden-state indices >= 0");
    }
    return taps;
  }

  /**
   * This probe reading records whose {@code hidden} holds the taps {@code recordTaps} concatenated in that order (a
   * superset of its own), as a {@link StackedProbe} attaches them for all its probes at once.
   */
  public Probe withLayout(int[] recordTaps) {
    return new Probe(reads, taps, recordTaps, hidden, recordFeatures, width, maxPool, heads, model, meta);
  }

  private static int position(int[] values, int v) {
    for (int i = 0; i < values.length; i++) {
      if (values[i] == v) {
        return i;
      }
    }
    return -1;
  }

  private static <E extends Enum<E>> E parse(Class<E> type, String value, Path file, String field) {
    try {
      return Enum.valueOf(type, value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(file + ": " + field + " '" + value + "' is not one of "
          + Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT));
    }
  }

  @Override
  public String method() {
    return "probe";
  }

  /** The target taps this probe needs on every record, in the record's order; none when it reads the drafter. */
  @Override
  public int[] taps() {
    return reads == Reads.TARGET ? layout.clone() : new int[0];
  }

  /** The drafter tap this probe needs at every emitted token's position; -1 when it reads the target. */
  @Override
  public int drafterTap() {
    return reads == Reads.DRAFTER ? taps[0] : -1;
  }

  /** The taps it reads, of the model {@link #reads} says, in its input's order. */
  public int[] readsTaps() {
    return taps.clone();
  }

  public Reads reads() {
    return reads;
  }

  public int hiddenSize() {
    return hidden;
  }

  /** Values per token the heads read: the hidden states at its taps, then the record features. */
  public int inputSize() {
    return taps.length * hidden + recordFeatures.size();
  }

  public List<RecordFeature> recordFeatures() {
    return recordFeatures;
  }

  public ModelIdentity model() {
    return model;
  }

  /** The model's shape fingerprint ({@link ModelIdentity#shape}). */
  public String fingerprint() {
    return model.shape();
  }

  public JsonNode meta() {
    return meta;
  }

  /** Width of each head's projection (32 for the paper's probes). */
  public int width() {
    return width;
  }

  /** True for max-pooling over a set's tokens, false for mean-pooling. */
  public boolean maxPool() {
    return maxPool;
  }

  public List<Head> heads() {
    return heads;
  }

  /** The first head's Platt scaling of a level (the only one of a one-head probe). */
  public Platt platt(Level level) {
    return heads.getFirst().platt(level);
  }

  /** A copy of the first head's proj.weight, row-major [width, input]. */
  public float[] projWeight() {
    return heads.getFirst().projWeight().clone();
  }

  /** A copy of the first head's proj.bias [width]. */
  public float[] projBias() {
    return heads.getFirst().projBias().clone();
  }

  /** A copy of the first head's out.weight [width]. */
  public float[] outWeight() {
    return heads.getFirst().outWeight().clone();
  }

  /** The first head's out.bias. */
  public float outBias() {
    return heads.getFirst().outBias();
  }

  /**
   * The probe's input for one token [inputSize]: its hidden states at the probe's taps, cut from {@code hiddenState}
   * (a record's: the layout's taps concatenated, [layout taps * hidden]), then the record features.
   */
  public float[] input(float[] hiddenState, double rawLogprob, double entropy) {
    if (hiddenState.length != layout.length * hidden) {
      throw new IllegalArgumentException("a hidden state of " + hiddenState.length + " values, not "
          + layout.length * hidden + " (" + layout.length + " taps of " + hidden + ")");
    }
    if (recordFeatures.isEmpty() && Arrays.equals(taps, layout)) {
      return hiddenState;
    }
    float[] x = new float[inputSize()];
    for (int k = 0; k < taps.length; k++) {
      System.arraycopy(hiddenState, position(layout, taps[k]) * hidden, x, k * hidden, hidden);
    }
    int at = taps.length * hidden;
    for (int f = 0; f < recordFeatures.size(); f++) {
      x[at + f] = (float) recordFeatures.get(f).value(rawLogprob, entropy);
    }
    return x;
  }

  @Override
  public double token(TokenRecord record) {
    return score(List.of(record), Level.TOKEN);
  }

  /** NaN for a blank line (whitespace only): the probe was neither trained nor evaluated on those. */
  @Override
  public double line(List<TokenRecord> records) {
    if (Lines.isBlank(records.stream().map(TokenRecord::bytes).toList())) {
      return Double.NaN;
    }
    return score(records, Level.LINE);
  }

  @Override
  public double response(List<TokenRecord> records) {
    return score(records, Level.RESPONSE);
  }

  /**
   * p(correct) of a token set at a given level; NaN when the set is empty or a record lacks the hidden state the
   * probe reads (a partial set would not be the set it was trained on). Each record's projections are computed once
   * and reused for its token, its line and the response ({@link #projections}).
   */
  public double score(List<TokenRecord> records, Level level) {
    List<double[][]> z = new ArrayList<>(records.size()); // per record [heads][width]
    for (TokenRecord r : records) {
      if (reads != Reads.TARGET || r.hidden() == null) {
        return Double.NaN;
      }
      z.add(projections.computeIfAbsent(r.hidden(), h -> project(input(h, r.rawLogprob(), r.entropy()))));
    }
    if (z.isEmpty()) {
      return Double.NaN;
    }
    double sum = 0;
    for (int h = 0; h < heads.size(); h++) {
      final int head = h;
      sum += heads.get(h).platt(level).apply(output(heads.get(h), z.stream().map(v -> v[head]).toList()));
    }
    return sum / heads.size();
  }

  /** p(correct) of a set of inputs [count][inputSize] at a level: the mean of the heads' Platt-scaled outputs. */
  public double probability(List<float[]> inputs, Level level) {
    double sum = 0;
    for (Head h : heads) {
      sum += h.platt(level).apply(logit(h, inputs));
    }
    return sum / heads.size();
  }

  /** The first head's unscaled logit of a set of inputs [count][inputSize] (a one-head probe's only one). */
  public double logit(List<float[]> inputs) {
    return logit(heads.getFirst(), inputs);
  }

  /** A head's unscaled logit of a set of inputs [count][inputSize]: pool(GELU(W x + b)) · w + c. */
  public double logit(Head head, List<float[]> inputs) {
    List<double[]> z = new ArrayList<>(inputs.size());
    for (float[] x : inputs) {
      z.add(project(head, x));
    }
    return output(head, z);
  }

  /** Every head's GELU(W x + b) of one input [heads][width]. */
  private double[][] project(float[] x) {
    double[][] z = new double[heads.size()][];
    for (int h = 0; h < heads.size(); h++) {
      z[h] = project(heads.get(h), x);
    }
    return z;
  }

  /** One head's GELU(W x + b) of one input [width]. */
  private double[] project(Head head, float[] x) {
    int input = inputSize();
    if (x.length != input) {
      throw new IllegalArgumentException("an input of " + x.length + " values, not " + input);
    }
    double[] z = new double[width];
    for (int j = 0; j < width; j++) {
      z[j] = Gelu.gelu(head.projBias()[j] + dot(head.projWeight(), j * input, x));
    }
    return z;
  }

  private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> FLOATS =
      VectorSpecies.of(float.class, VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2)); // as many lanes

  /**
   * Σ w[row + i] · x[i]: each product rounded to float as the scalar {@code sum += w * x} rounds it, the sum in
   * double, in lanes (the order of the additions differs from one scalar sum: ~1e-16 of the sum). The lines' stack
   * projects every token through 45 heads, and one dependent chain of scalar additions per row cost ~0.4 ms a token.
   */
  static double dot(float[] w, int row, float[] x) {
    DoubleVector acc = DoubleVector.zero(DOUBLES);
    int n = x.length;
    int i = 0;
    for (int upper = FLOATS.loopBound(n); i < upper; i += FLOATS.length()) {
      FloatVector product = FloatVector.fromArray(FLOATS, w, row + i).mul(FloatVector.fromArray(FLOATS, x, i));
      acc = acc.add(product.convertShape(VectorOperators.F2D, DOUBLES, 0));
    }
    double sum = acc.reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += w[row + i] * x[i];
    }
    return sum;
  }

  /** A head's logit of a set from its tokens' projections [count][width]: pooled, then · w + c. */
  private double output(Head head, List<double[]> z) {
    double[] pooled = new double[width];
    Arrays.fill(pooled, maxPool ? Double.NEGATIVE_INFINITY : 0);
    for (double[] v : z) {
      for (int j = 0; j < width; j++) {
        pooled[j] = maxPool ? Math.max(pooled[j], v[j]) : pooled[j] + v[j] / z.size();
      }
    }
    double s = head.outBias();
    for (int j = 0; j < width; j++) {
      s += head.outWeight()[j] * pooled[j];
    }
    return s;
  }

  static double sigmoid(double x) {
    return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }
}
