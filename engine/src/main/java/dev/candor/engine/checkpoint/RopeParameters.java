package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The rotary position embedding a config.json asks for, and its math: the inverse frequencies [headDim / 2] and the
 * attention factor that scales cos and sin ({@link #attentionScaling}). Parsed as transformers reads it: version 4's {@code rope_theta} and
 * {@code rope_scaling}, version 5's {@code rope_parameters} (flat, or one entry per layer type), θ in either place.
 * Two types are computed, with HF's names: {@code default} (Su et al. 2021) and {@code yarn} (Peng et al. 2023,
 * "YaRN: Efficient Context Window Extension", as transformers 5's {@code _compute_yarn_parameters}: Qwen's
 * documented setting past 32k tokens); any other type is refused. No DJL here: every backend and the test oracle
 * take their RoPE from this class.
 *
 * @param ropeType default or yarn
 * @param ropeTheta the base θ
 * @param factor YaRN's context scaling factor (1 for default)
 * @param originalMaxPositionEmbeddings YaRN's pre-training context length (0 for default)
 * @param attentionFactor YaRN's cos/sin scale as given, or null to derive it from factor (and mscale)
 * @param betaFast YaRN's extrapolation boundary, rotations (HF: 32 when absent or 0)
 * @param betaSlow YaRN's interpolation boundary, rotations (HF: 1 when absent or 0)
 * @param mscale DeepSeek-style numerator of the derived attention factor, or null
 * @param mscaleAllDim DeepSeek-style denominator of the derived attention factor, or null
 * @param truncate round the correction range outwards to whole dimensions (HF: true when absent)
 */
public record RopeParameters(RopeType ropeType, double ropeTheta, double factor, int originalMaxPositionEmbeddings,
    Double attentionFactor, double betaFast, double betaSlow, Double mscale, Double mscaleAllDim, boolean truncate) {

  /** The RoPE variants Candor computes, by transformers' {@code rope_type} names. */
  public enum RopeType {
    DEFAULT, YARN;

    public String hfName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** transformers' Qwen2Config default θ, used when config.json names none. */
  public static final double DEFAULT_THETA = 10000.0;
  private static final Set<String> LAYER_TYPES = Set.of("full_attention", "sliding_attention");
  private static final ObjectMapper JSON = new ObjectMapper();

  public RopeParameters {
    Objects.requireNonNull(ropeType, "ropeType");
    require(ropeTheta > 0 && Double.isFinite(ropeTheta), "rope_theta must be a positive number, got " + ropeTheta);
    if (ropeType == RopeType.YARN) {
      require(factor > 0 && Double.isFinite(factor), "rope_parameters.factor must be a positive number, got " + factor);
      require(originalMaxPositionEmbeddings > 0, "rope_parameters.original_max_position_embeddings must be positive");
      require(Double.isFinite(betaFast) && Double.isFinite(betaSlow), "beta_fast and beta_slow must be numbers");
      require(attentionFactor == null || (attentionFactor >= 0 && Double.isFinite(attentionFactor)),
          "rope_parameters.attention_factor must be a non-negative number");
    }
  }

  /** Unscaled RoPE with base {@code theta}. */
  public static RopeParameters defaults(double theta) {
    return new RopeParameters(RopeType.DEFAULT, theta, 1.0, 0, null, 32, 1, null, null, true);
  }

  /** YaRN as Qwen documents it: {@code {"rope_type": "yarn", "factor": F, "original_max_position_embeddings": N}}. */
  public static RopeParameters yarn(double theta, double factor, int originalMaxPositionEmbeddings) {
    return new RopeParameters(RopeType.YARN, theta, factor, originalMaxPositionEmbeddings, null, 32, 1, null, null,
        true);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new CheckpointException("config.json: " + message);
    }
  }

  // ---- the math ----

  /**
   * θ^(-2i/headDim) for i in [0, headDim / 2), in float32 step by step as transformers computes it (the exponent,
   * the power, the reciprocal), blended for YaRN between interpolation ({@code / factor}) on low frequencies and
   * extrapolation on high ones through a linear ramp over the correction range: [headDim / 2].
   */
  public float[] inverseFrequencies(int headDim) {
    int half = headDim / 2;
    float[] inverse = new float[half];
    float[] ramp = ropeType == RopeType.YARN ? ramp(headDim) : null;
    for (int i = 0; i < half; i++) {
      float exponent = (float) (2 * i) / headDim;
      float position = (float) Math.pow((float) ropeTheta, exponent); // HF: base ** (arange(0, dim, 2).float() / dim)
      float extrapolation = 1.0f / position;
      if (ramp == null) {
        inverse[i] = extrapolation;
        continue;
      }
      float interpolation = 1.0f / ((float) factor * position);
      float extrapolationFactor = 1.0f - ramp[i];
      inverse[i] = interpolation * (1.0f - extrapolationFactor) + extrapolation * extrapolationFactor;
    }
    return inverse;
  }

  /** YaRN's linear_ramp_factor over the correction range, in float32: [headDim / 2]. */
  private float[] ramp(int headDim) {
    double low = correctionDimension(betaFast, headDim);
    double high = correctionDimension(betaSlow, headDim);
    if (truncate) {
      low = Math.floor(low);
      high = Math.ceil(high);
    }
    low = Math.max(low, 0);
    high = Math.min(high, headDim - 1);
    if (low == high) {
      high += 0.001; // HF: prevent singularity
    }
    float[] ramp = new float[headDim / 2];
    for (int i = 0; i < ramp.length; i++) {
      float linear = ((float) i - (float) low) / (float) (high - low); // HF: (arange(dim) - min) / (max - min)
      ramp[i] = Math.min(1.0f, Math.max(0.0f, linear));
    }
    return ramp;
  }

  /** The dimension at which a wavelength makes {@code rotations} turns over the original context (find_correction_dim). */
  private double correctionDimension(double rotations, int headDim) {
    return headDim * Math.log(originalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.log(ropeTheta));
  }

  /**
   * The factor cos and sin are multiplied by (HF's {@code attention_scaling}): 1 for default; for YaRN the given
   * attention_factor, else {@code 0.1 ln(factor) + 1} (or the mscale / mscale_all_dim ratio when both are set), 1
   * when factor <= 1.
   */
  public double attentionScaling() {
    if (ropeType == RopeType.DEFAULT) {
      return 1.0;
    }
    if (attentionFactor != null) {
      return attentionFactor;
    }
    if (mscale != null && mscale != 0 && mscaleAllDim != null && mscaleAllDim != 0) {
      return mscale(factor, mscale) / mscale(factor, mscaleAllDim);
    }
    return mscale(factor, 1.0);
  }

  private static double mscale(double scale, double m) {
    return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
  }

  // ---- config.json ----

  /**
   * The RoPE of a config.json: {@code rope_scaling} (transformers 4) if set, else {@code rope_parameters}
   * (transformers 5: flat, or per layer type, in which case every layer type the model uses must agree); θ from
   * there, else from {@code rope_theta}, else transformers' default 10000; a null θ is refused.
   *
   * @param layers the model's layer count (for a per-layer-type entry)
   */
  public static RopeParameters fromConfig(JsonNode root, int maxPositionEmbeddings, int layers) {
    JsonNode scaling = root.path("rope_scaling");
    JsonNode parameters = scaling.isObject() && !scaling.isEmpty() ? scaling : root.path("rope_parameters");
    String field = parameters == scaling ? "rope_scaling" : "rope_parameters";
    if (!parameters.isMissingNode() && !parameters.isNull() && !parameters.isObject()) {
      throw new CheckpointException("config.json: " + field + " must be an object, got " + parameters);
    }
    JsonNode topTheta = root.get("rope_theta");
    if (topTheta != null && topTheta.isNull()) {
      throw new CheckpointException("config.json: rope_theta is null; a checkpoint must say its RoPE base");
    }
    if (parameters.isObject() && isPerLayerType(parameters)) {
      return perLayerType(root, parameters, field, maxPositionEmbeddings, layers);
    }
    return flat(root, parameters.isObject() ? parameters : JSON.createObjectNode(), field, maxPositionEmbeddings);
  }

  private static boolean isPerLayerType(JsonNode parameters) {
    if (parameters.isEmpty()) {
      return false;
    }
    for (var it = parameters.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!LAYER_TYPES.contains(name) || !parameters.get(name).isObject()) {
        return false;
      }
    }
    return true;
  }

  private static RopeParameters perLayerType(JsonNode root, JsonNode parameters, String field, int maxPosition,
      int layers) {
    List<String> used = new ArrayList<>();
    JsonNode declared = root.path("layer_types");
    if (declared.isArray() && !declared.isEmpty()) {
      declared.forEach(t -> used.add(t.asText()));
    } else {
      for (int i = 0; i < layers; i++) {
        used.add("full_attention");
      }
    }
    RopeParameters chosen = null;
    for (String type : used) {
      JsonNode entry = parameters.get(type);
      if (entry == null) {
        throw new CheckpointException("config.json: " + field + " has no entry for layer type '" + type + "'");
      }
      RopeParameters p = flat(root, entry, field + "." + type, maxPosition);
      if (chosen != null && !chosen.equals(p)) {
        throw new CheckpointException("config.json: " + field + " differs between layer types; Candor applies one"
            + " RoPE to every layer");
      }
      chosen = p;
    }
    return chosen;
  }

  /** One flat parameter set, as transformers' standardize_rope_params leaves it. */
  private static RopeParameters flat(JsonNode root, JsonNode p, String field, int maxPosition) {
    String type = p.path("rope_type").isTextual() ? p.get("rope_type").asText()
        : p.path("type").isTextual() ? p.get("type").asText() : "default";
    double theta = theta(root, p, field);
    JsonNode partial = p.has("partial_rotary_factor") ? p.get("partial_rotary_factor") : root.get("partial_rotary_factor");
    if (partial != null && !partial.isNull() && (!partial.isNumber() || partial.doubleValue() != 1.0)) {
      throw new CheckpointException("config.json: partial_rotary_factor " + partial + " is not supported (RoPE over"
          + " the whole head)");
    }
    return switch (type) {
      case "default" -> defaults(theta);
      case "yarn" -> yarn(root, p, field, theta, maxPosition);
      default -> throw new CheckpointException("config.json: " + field + " rope_type '" + type + "' is not supported;"
          + " Candor computes 'default' and 'yarn' RoPE");
    };
  }

  private static double theta(JsonNode root, JsonNode p, String field) {
    JsonNode t = p.has("rope_theta") ? p.get("rope_theta") : root.get("rope_theta");
    String name = p.has("rope_theta") ? field + ".rope_theta" : "rope_theta";
    if (t == null) {
      return DEFAULT_THETA;
    }
    if (t.isNull()) {
      throw new CheckpointException("config.json: " + name + " is null; a checkpoint must say its RoPE base");
    }
    if (!t.isNumber()) {
      throw new CheckpointException("config.json: " + name + " must be a number, got " + t);
    }
    return t.doubleValue();
  }

  private static RopeParameters yarn(JsonNode root, JsonNode p, String field, double theta, int maxPosition) {
    JsonNode topOriginal = root.get("original_max_position_embeddings"); // HF gives a top-level value priority
    JsonNode original = topOriginal != null && !topOriginal.isNull() ? topOriginal : p.get("original_max_position_embeddings");
    int originalMax = original == null || original.isNull() ? maxPosition : integer(original, field
        + ".original_max_position_embeddings");
    Double factor = number(p, "factor", field);
    double f = factor != null ? factor : (double) maxPosition / originalMax;
    double betaFast = orDefault(number(p, "beta_fast", field), 32); // HF: get("beta_fast") or 32
    double betaSlow = orDefault(number(p, "beta_slow", field), 1);
    JsonNode truncate = p.get("truncate");
    if (truncate != null && !truncate.isNull() && !truncate.isBoolean()) {
      throw new CheckpointException("config.json: " + field + ".truncate must be true or false, got " + truncate);
    }
    return new RopeParameters(RopeType.YARN, theta, f, originalMax, number(p, "attention_factor", field), betaFast,
        betaSlow, number(p, "mscale", field), number(p, "mscale_all_dim", field),
        truncate == null || truncate.isNull() || truncate.booleanValue());
  }

  private static double orDefault(Double v, double fallback) {
    return v == null || v == 0 ? fallback : v;
  }

  private static Double number(JsonNode p, String name, String field) {
    JsonNode v = p.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isNumber()) {
      throw new CheckpointException("config.json: " + field + "." + name + " must be a number, got " + v);
    }
    return v.doubleValue();
  }

  private static int integer(JsonNode v, String name) {
    if (!v.isNumber() || !v.canConvertToInt() || v.doubleValue() != Math.rint(v.doubleValue())) {
      throw new CheckpointException("config.json: " + name + " must be an integer, got " + v);
    }
    return v.intValue();
  }

  /** Writes these parameters into {@code config} as transformers 4 does: rope_theta, and rope_scaling for YaRN. */
  public void writeTo(ObjectNode config) {
    config.put("rope_theta", ropeTheta);
    if (ropeType == RopeType.DEFAULT) {
      config.putNull("rope_scaling");
      return;
    }
    ObjectNode s = config.putObject("rope_scaling");
    s.put("rope_type", "yarn");
    s.put("factor", factor);
    s.put("original_max_position_embeddings", originalMaxPositionEmbeddings);
    if (attentionFactor != null) {
      s.put("attention_factor", attentionFactor);
    }
    s.put("beta_fast", betaFast);
    s.put("beta_slow", betaSlow);
    if (mscale != null) {
      s.put("mscale", mscale);
    }
    if (mscaleAllDim != null) {
      s.put("mscale_all_dim", mscaleAllDim);
    }
    if (!truncate) {
      s.put("truncate", false);
    }
  }
}
