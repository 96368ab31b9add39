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
import java.util.List;

/**
 * A trained probe (Gros &amp; Devanbu, "Localized Calibrated Uncertainty in Code Language Models"), scored in plain Java
 * on the tap hidden state of each emitted token: h → GELU(W h + b) gives a 32-wide vector per token; a set of tokens
 * (one token, a line, the response) is max-pooled (or mean-pooled); a shared linear output gives a logit s; Platt
 * scaling for the set's level gives p = sigmoid(A·s + B).
 *
 * <p>A probe directory holds {@code probe.safetensors} (proj.weight [32, hidden], proj.bias [32], out.weight [1, 32],
 * out.bias [1]) and {@code probe.json} (tap, sizes, pooling, Platt parameters per level, and the fingerprint of the
 * model it was trained on: loading it for another model is refused).
 */
public final class Probe implements ConfidenceModel {
  public static final String WEIGHTS = "probe.safetensors";
  public static final String META = "probe.json";

  /** Granularity of a scored token set; each has its own Platt scaling. */
  public enum Level {
    TOKEN, LINE, RESPONSE;

    public String key() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** p = sigmoid(a·s + b) on the probe's logit s. Identity: a = 1, b = 0. */
  public record Platt(double a, double b) {
    public static final Platt IDENTITY = new Platt(1, 0);

    public double apply(double logit) {
      return sigmoid(a * logit + b);
    }
  }

  private final int tap;
  private final int hidden;
  private final int width;
  private final boolean maxPool;
  private final float[] projWeight; // [width * hidden]
  private final float[] projBias; // [width]
  private final float[] outWeight; // [width]
  private final float outBias;
  private final Platt[] platt; // by Level ordinal
  private final String fingerprint;
  private final JsonNode meta;

  public Probe(int tap, int hidden, int width, boolean maxPool, float[] projWeight, float[] projBias, float[] outWeight,
      float outBias, Platt[] platt, String fingerprint, JsonNode meta) {
    this.tap = tap;
    this.hidden = hidden;
    this.width = width;
    this.maxPool = maxPool;
    this.projWeight = projWeight;
    this.projBias = projBias;
    this.outWeight = outWeight;
    this.outBias = outBias;
    this.platt = platt;
    this.fingerprint = fingerprint;
    this.meta = meta;
  }

  /** Loads a probe and checks it was trained on a model of {@code target}'s shape. */
  public static Probe load(Path dir, Qwen2Config target) {
    Path metaFile = dir.resolve(META);
    if (!Files.exists(metaFile)) {
      throw new CheckpointException(dir + ": not a probe directory (no " + META + ")");
    }
    JsonNode meta;
    try {
      meta = new ObjectMapper().readTree(metaFile.toFile());
    } catch (IOException e) {
      throw new CheckpointException(metaFile + ": not valid JSON: " + e.getMessage());
    }
    String fingerprint = meta.path("model_fingerprint").asText("");
    if (target != null && !fingerprint.equals(target.fingerprint())) {
      throw new CheckpointException(metaFile + ": this probe was trained for a model with fingerprint '" + fingerprint
          + "', but the served model's is '" + target.fingerprint() + "' (another shape); train a probe for this model");
    }
    int tap = meta.path("tap").asInt(-1);
    int hidden = meta.path("hidden_size").asInt(-1);
    int width = meta.path("projection_size").asInt(-1);
    if (target != null && (hidden != target.hiddenSize() || tap < 0 || tap > target.numHiddenLayers())) {
      throw new CheckpointException(metaFile + ": tap " + tap + " / hidden_size " + hidden + " do not fit the model");
    }
    String pooling = meta.path("pooling").asText("max");
    if (!pooling.equals("max") && !pooling.equals("mean")) {
      throw new CheckpointException(metaFile + ": pooling must be 'max' or 'mean', got '" + pooling + "'");
    }
    Platt[] platt = new Platt[Level.values().length];
    for (Level level : Level.values()) {
      JsonNode p = meta.path("platt").path(level.key());
      platt[level.ordinal()] = p.isObject() ? new Platt(p.path("a").asDouble(1), p.path("b").asDouble(0)) : Platt.IDENTITY;
    }
    try (SafeTensors weights = SafeTensors.open(dir.resolve(WEIGHTS))) {
      float[] projWeight = weights.get("proj.weight").expectShape(width, hidden).toFloatArray();
      float[] projBias = weights.get("proj.bias").expectShape(width).toFloatArray();
      float[] outWeight = weights.get("out.weight").expectShape(1, width).toFloatArray();
      float outBias = weights.get("out.bias").expectShape(1).toFloatArray()[0];
      return new Probe(tap, hidden, width, pooling.equals("max"), projWeight, projBias, outWeight, outBias, platt,
          fingerprint, meta);
    }
  }

  @Override
  public String method() {
    return "probe";
  }

  @Override
  public int tap() {
    return tap;
  }

  public int hiddenSize() {
    return hidden;
  }

  public String fingerprint() {
    return fingerprint;
  }

  public JsonNode meta() {
    return meta;
  }

  /** Width of the projection (32 for the paper's probes). */
  public int width() {
    return width;
  }

  /** True for max-pooling over a set's tokens, false for mean-pooling. */
  public boolean maxPool() {
    return maxPool;
  }

  /** A copy of proj.weight, row-major [width, hidden]. */
  public float[] projWeight() {
    return projWeight.clone();
  }

  /** A copy of proj.bias [width]. */
  public float[] projBias() {
    return projBias.clone();
  }

  /** A copy of out.weight [width] (the checkpoint's [1, width]). */
  public float[] outWeight() {
    return outWeight.clone();
  }

  /** out.bias, the checkpoint's [1]. */
  public float outBias() {
    return outBias;
  }

  /** The Platt scaling of a level. */
  public Platt platt(Level level) {
    return platt[level.ordinal()];
  }

  @Override
  public double token(TokenRecord record) {
    if (record.hidden() == null) {
      return Double.NaN;
    }
    return platt[Level.TOKEN.ordinal()].apply(logit(List.of(record.hidden())));
  }

  @Override
  public double line(List<TokenRecord> records) {
    return score(records, Level.LINE);
  }

  @Override
  public double response(List<TokenRecord> records) {
    return score(records, Level.RESPONSE);
  }

  /** p(correct) of a token set at a given level. */
  public double score(List<TokenRecord> records, Level level) {
    List<float[]> hiddens = records.stream().map(TokenRecord::hidden).filter(h -> h != null).toList();
    if (hiddens.isEmpty()) {
      return Double.NaN;
    }
    return platt[level.ordinal()].apply(logit(hiddens));
  }

  /** The unscaled logit of a set of hidden states [count][hidden]: pool(GELU(W h + b)) · w + c. */
  public double logit(List<float[]> hiddens) {
    double[] pooled = new double[width];
    java.util.Arrays.fill(pooled, maxPool ? Double.NEGATIVE_INFINITY : 0);
    for (float[] h : hiddens) {
      for (int j = 0; j < width; j++) {
        double z = projBias[j];
        int row = j * hidden;
        for (int i = 0; i < hidden; i++) {
          z += projWeight[row + i] * h[i];
        }
        double g = gelu(z);
        pooled[j] = maxPool ? Math.max(pooled[j], g) : pooled[j] + g / hiddens.size();
      }
    }
    double s = outBias;
    for (int j = 0; j < width; j++) {
      s += outWeight[j] * pooled[j];
    }
    return s;
  }

  /** Exact GELU, x · Φ(x) = x/2 · (1 + erf(x / √2)), as PyTorch's default and ONNX's Gelu. */
  public static double gelu(double x) {
    return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
  }

  /** erf to ~1e-15 absolute: Taylor series near 0, continued fraction for erfc beyond (Numerical Recipes style). */
  public static double erf(double x) {
    double ax = Math.abs(x);
    double r;
    if (ax < 2.5) {
      // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
      double term = ax;
      double sum = ax;
      double x2 = ax * ax;
      for (int n = 1; n < 100; n++) {
        term *= -x2 / n;
        double add = term / (2 * n + 1);
        sum += add;
        if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
          break;
        }
      }
      r = 2 / Math.sqrt(Math.PI) * sum;
    } else {
      // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated bottom-up
      double f = ax;
      for (int n = 60; n >= 1; n--) {
        f = ax + (n / 2.0) / f;
      }
      r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
    }
    return x < 0 ? -r : r;
  }

  static double sigmoid(double x) {
    return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }
}
