package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A decoder-only {@code config.json} of the Qwen2 family, parsed once: Qwen2ForCausalLM, Qwen3ForCausalLM and the
 * dense Llama and Mistral models, which differ only in what {@link Architecture} says (q/k/v biases, an RMSNorm on each
 * head's q and k). Field names are Hugging Face's in camelCase; derived values ({@link #headDim},
 * {@link #numKeyValueGroups}, {@link #attentionBias}, {@link #qkNorm}) are computed here and nowhere else. Read as transformers 4 and 5
 * write it: RoPE from {@code rope_theta}/{@code rope_scaling} or {@code rope_parameters} ({@link RopeParameters});
 * what Candor does not compute (an activation other than SiLU, a RoPE type other than default and YaRN, a sliding
 * window) is refused in one line rather than run wrong.
 *
 * @param hiddenSize width of the residual stream
 * @param intermediateSize width of the SwiGLU MLP
 * @param numHiddenLayers number of decoder layers
 * @param numAttentionHeads query heads
 * @param numKeyValueHeads key/value heads (grouped-query attention: each serves numAttentionHeads/numKeyValueHeads)
 * @param headDim per-head width ({@code head_dim}, else hidden_size / num_attention_heads)
 * @param rmsNormEps epsilon of every RMSNorm
 * @param ropeParameters the rotary position embedding: its base θ, its type and scaling
 * @param vocabSize rows of embed_tokens and lm_head (may exceed the tokenizer's ids: Qwen pads to 151,936)
 * @param maxPositionEmbeddings the context window
 * @param tieWordEmbeddings lm_head shares embed_tokens
 * @param torchDtype the dtype the weights were saved in
 * @param architecture the model family ({@code architectures[0]} in config.json)
 */
public record Qwen2Config(
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    double rmsNormEps,
    RopeParameters ropeParameters,
    int vocabSize,
    int maxPositionEmbeddings,
    boolean tieWordEmbeddings,
    DType torchDtype,
    Architecture architecture) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The model families Candor runs, by transformers' class and {@code model_type} names. They share one forward pass
   * (modeling_llama.py's); what each adds is a flag here, read by every backend.
   *
   * @param attentionBias q_proj, k_proj and v_proj have biases (Qwen2's only difference from Llama; o_proj has none)
   * @param qkNorm an RMSNorm of weight [head_dim] on each head's q and k before RoPE (Qwen3's {@code q_norm},
   *     {@code k_norm})
   */
  public enum Architecture {
    QWEN2("Qwen2ForCausalLM", "qwen2", true, false),
    QWEN3("Qwen3ForCausalLM", "qwen3", false, true),
    LLAMA("LlamaForCausalLM", "llama", false, false),
    MISTRAL("MistralForCausalLM", "mistral", false, false);

    public final String className;
    public final String modelType;
    public final boolean attentionBias;
    public final boolean qkNorm;

    Architecture(String className, String modelType, boolean attentionBias, boolean qkNorm) {
      this.className = className;
      this.modelType = modelType;
      this.attentionBias = attentionBias;
      this.qkNorm = qkNorm;
    }

    /** The family of a transformers class name ({@code architectures} entry) or {@code model_type}, or null. */
    static Architecture named(String name) {
      for (Architecture a : values()) {
        if (a.className.equals(name) || a.modelType.equals(name)) {
          return a;
        }
      }
      return null;
    }

    static String supported() {
      return String.join(", ", java.util.Arrays.stream(values()).map(a -> a.className).toList());
    }
  }

  public Qwen2Config {
    require(hiddenSize > 0, "hidden_size must be positive");
    require(intermediateSize > 0, "intermediate_size must be positive");
    require(numHiddenLayers > 0, "num_hidden_layers must be positive");
    require(numAttentionHeads > 0, "num_attention_heads must be positive");
    require(numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0,
        "num_attention_heads (" + numAttentionHeads + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
    require(headDim > 0 && headDim % 2 == 0, "head_dim must be positive and even (rotary embedding pairs halves)");
    require(rmsNormEps > 0, "rms_norm_eps must be positive");
    require(ropeParameters != null, "rope parameters are required");
    require(vocabSize > 0, "vocab_size must be positive");
    require(maxPositionEmbeddings > 0, "max_position_embeddings must be positive");
    require(architecture != null, "the architecture is required");
    try {
      countParameters(architecture, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
          numKeyValueHeads, headDim, vocabSize, tieWordEmbeddings);
    } catch (ArithmeticException overflow) {
      throw new CheckpointException("config.json: the shape (hidden_size " + hiddenSize + ", intermediate_size "
          + intermediateSize + ", " + numHiddenLayers + " layers, head_dim " + headDim + ", vocab_size " + vocabSize
          + ") has more parameters than a 64-bit count holds: not a real checkpoint");
    }
  }

  /** A Qwen2 shape (the form every caller before Qwen3 used). */
  public Qwen2Config(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
      int numKeyValueHeads, int headDim, double rmsNormEps, RopeParameters ropeParameters, int vocabSize,
      int maxPositionEmbeddings, boolean tieWordEmbeddings, DType torchDtype) {
    this(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps,
        ropeParameters, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, torchDtype, Architecture.QWEN2);
  }

  /** A Qwen2 shape with unscaled RoPE of base {@code ropeTheta} (the form every caller before rope_parameters used). */
  public Qwen2Config(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
      int numKeyValueHeads, int headDim, double rmsNormEps, double ropeTheta, int vocabSize, int maxPositionEmbeddings,
      boolean tieWordEmbeddings, DType torchDtype) {
    this(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps,
        RopeParameters.defaults(ropeTheta), vocabSize, maxPositionEmbeddings, tieWordEmbeddings, torchDtype);
  }

  /** A shape of another family with unscaled RoPE of base {@code ropeTheta}. */
  public static Qwen2Config of(Architecture architecture, int hiddenSize, int intermediateSize, int numHiddenLayers,
      int numAttentionHeads, int numKeyValueHeads, int headDim, double rmsNormEps, double ropeTheta, int vocabSize,
      int maxPositionEmbeddings, boolean tieWordEmbeddings, DType torchDtype) {
    return new Qwen2Config(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim,
        rmsNormEps, RopeParameters.defaults(ropeTheta), vocabSize, maxPositionEmbeddings, tieWordEmbeddings,
        torchDtype, architecture);
  }

  /** q_proj, k_proj and v_proj have biases (Hugging Face's {@code attention_bias}; Qwen2 always has them). */
  public boolean attentionBias() {
    return architecture.attentionBias;
  }

  /** Each head's q and k go through an RMSNorm ({@code q_norm}, {@code k_norm}, weight [head_dim]) before RoPE. */
  public boolean qkNorm() {
    return architecture.qkNorm;
  }

  /** The base θ of the rotary position embedding. */
  public double ropeTheta() {
    return ropeParameters.ropeTheta();
  }

  /** The parameter count of a shape, with exact arithmetic: an ArithmeticException when it overflows a long. */
  private static long countParameters(Architecture architecture, long h, long intermediate, long layers, long heads,
      long kvHeads, long headDim, long vocab, boolean tied) {
    long q = Math.multiplyExact(heads, headDim);
    long kv = Math.multiplyExact(kvHeads, headDim);
    long bias = architecture.attentionBias ? 1 : 0;
    long perLayer = Math.addExact(Math.addExact(Math.addExact(
        Math.multiplyExact(2, h), // two RMSNorm weights
        Math.addExact(Math.multiplyExact(h, q), bias * q)), // q_proj (with bias)
        Math.multiplyExact(2, Math.addExact(Math.multiplyExact(h, kv), bias * kv))), // k, v (with biases)
        Math.addExact(Math.multiplyExact(q, h), Math.multiplyExact(3, Math.multiplyExact(h, intermediate)))); // o, MLP
    perLayer = Math.addExact(perLayer, architecture.qkNorm ? 2 * headDim : 0); // q_norm, k_norm
    long embeddings = Math.multiplyExact(vocab, h);
    return Math.addExact(Math.addExact(Math.multiplyExact(tied ? 1 : 2, embeddings), h),
        Math.multiplyExact(layers, perLayer));
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new CheckpointException("config.json: " + message);
    }
  }

  /** Query heads that share one key/value head. */
  public int numKeyValueGroups() {
    return numAttentionHeads / numKeyValueHeads;
  }

  /** Hugging Face {@code output_hidden_states} has numHiddenLayers + 1 entries: 0 is the embedding output. */
  public int numTaps() {
    return numHiddenLayers + 1;
  }

  /**
   * The tap at a fraction of the depth, by Gros &amp; Devanbu's rule {@code hidden_states[round(fraction * (1 + L))]};
   * fraction 0.5 is the middle layer. Python's round (half to even) is reproduced so indices agree with theirs.
   */
  public int tapAtFraction(double fraction) {
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new IllegalArgumentException("tap fraction must lie in [0, 1], got " + fraction);
    }
    return (int) Math.min(numHiddenLayers, Math.rint(fraction * (1 + numHiddenLayers)));
  }

  /** Number of parameters, lm_head counted once when tied. */
  public long parameterCount() {
    return countParameters(architecture, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
        numKeyValueHeads, headDim, vocabSize, tieWordEmbeddings); // cannot overflow: the constructor checked
  }

  public static Qwen2Config read(Path configJson) {
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(configJson, StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      throw CheckpointException.at(configJson, "file not found (a Hugging Face checkpoint directory needs config.json)");
    } catch (IOException e) {
      throw CheckpointException.at(configJson, "not valid JSON: " + e.getMessage());
    }
    try {
      return fromJson(root);
    } catch (CheckpointException e) {
      throw CheckpointException.at(configJson, e.getMessage().replaceFirst("^config.json: ", ""));
    }
  }

  public static Qwen2Config fromJson(JsonNode root) {
    if (root == null || !root.isObject()) {
      throw new CheckpointException("config.json: not a JSON object");
    }
    Architecture architecture = architecture(root);
    String activation = root.path("hidden_act").asText("silu");
    if (!activation.equals("silu")) {
      throw new CheckpointException("config.json: hidden_act '" + activation + "' is not supported (" + architecture.className
          + " uses silu)");
    }
    refuseWhatIsNotComputed(root, architecture);
    int hidden = intField(root, "hidden_size", null);
    int heads = intField(root, "num_attention_heads", null);
    if (heads <= 0) {
      throw new CheckpointException("config.json: num_attention_heads must be positive");
    }
    int layers = intField(root, "num_hidden_layers", null);
    int maxPosition = intField(root, "max_position_embeddings", 32768);
    return new Qwen2Config(
        hidden,
        intField(root, "intermediate_size", null),
        layers,
        heads,
        intField(root, "num_key_value_heads", heads),
        intField(root, "head_dim", hidden / heads),
        doubleField(root, "rms_norm_eps", 1e-6),
        RopeParameters.fromConfig(root, maxPosition, Math.max(0, Math.min(layers, 1 << 16))),
        intField(root, "vocab_size", null),
        maxPosition,
        root.path("tie_word_embeddings").asBoolean(false),
        dtypeField(root),
        architecture);
  }

  /** The first entry of {@code architectures} Candor runs, else {@code model_type}'s family; refused if neither. */
  private static Architecture architecture(JsonNode root) {
    JsonNode architectures = root.path("architectures");
    String modelType = root.path("model_type").asText("");
    if (architectures.isArray() && !architectures.isEmpty()) {
      for (JsonNode a : architectures) {
        Architecture known = Architecture.named(a.asText());
        if (known != null && a.asText().equals(known.className)) {
          return known;
        }
      }
    } else if (Architecture.named(modelType) != null) {
      return Architecture.named(modelType);
    }
    throw new CheckpointException("config.json: unknown architecture "
        + (architectures.isMissingNode() ? "model_type '" + modelType + "'" : architectures) + "; Candor runs "
        + Architecture.supported());
  }

  /** Settings of these families that Candor does not compute, refused in one line each rather than run wrong. */
  private static void refuseWhatIsNotComputed(JsonNode root, Architecture architecture) {
    if (root.path("use_sliding_window").asBoolean(false)) {
      throw new CheckpointException("config.json: use_sliding_window=true is not supported (Qwen2.5 and Qwen3"
          + " checkpoints ship it off)");
    }
    JsonNode window = root.get("sliding_window");
    if (architecture == Architecture.MISTRAL && window != null && !window.isNull()
        && window.asLong() < root.path("max_position_embeddings").asLong(32768)) {
      throw new CheckpointException("config.json: sliding_window " + window + " is not supported (Mistral v0.2 and"
          + " later ship it null)");
    }
    JsonNode bias = root.get("attention_bias");
    if (bias != null && !bias.isNull() && bias.asBoolean() != architecture.attentionBias) {
      throw new CheckpointException("config.json: attention_bias=" + bias + " is not supported for "
          + architecture.className + " (Candor computes " + architecture.attentionBias + ")");
    }
    if (root.path("mlp_bias").asBoolean(false)) {
      throw new CheckpointException("config.json: mlp_bias=true is not supported");
    }
  }

  private static int intField(JsonNode root, String name, Integer fallback) {
    JsonNode node = root.get(name);
    if (node == null || node.isNull()) {
      if (fallback == null) {
        throw new CheckpointException("config.json: missing " + name);
      }
      return fallback;
    }
    if (!node.isIntegralNumber() || !node.canConvertToInt()) {
      throw new CheckpointException("config.json: " + name + " must be an integer, got " + node);
    }
    return node.intValue();
  }

  private static double doubleField(JsonNode root, String name, double fallback) {
    JsonNode node = root.get(name);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isNumber()) {
      throw new CheckpointException("config.json: " + name + " must be a number, got " + node);
    }
    return node.doubleValue();
  }

  private static DType dtypeField(JsonNode root) {
    JsonNode node = root.get("torch_dtype");
    if (node == null || node.isNull()) {
      return DType.F32;
    }
    try {
      return DType.fromTorch(node.asText());
    } catch (IllegalArgumentException e) {
      throw new CheckpointException("config.json: " + e.getMessage());
    }
  }

  /** The config.json Hugging Face would write for this shape. */
  public ObjectNode toJson() {
    ObjectNode o = JSON.createObjectNode();
    o.putArray("architectures").add(architecture.className);
    o.put("model_type", architecture.modelType);
    o.put("hidden_act", "silu");
    o.put("hidden_size", hiddenSize);
    o.put("intermediate_size", intermediateSize);
    o.put("num_hidden_layers", numHiddenLayers);
    o.put("num_attention_heads", numAttentionHeads);
    o.put("num_key_value_heads", numKeyValueHeads);
    if (headDim != hiddenSize / numAttentionHeads || architecture != Architecture.QWEN2) {
      o.put("head_dim", headDim);
    }
    if (architecture != Architecture.QWEN2) {
      o.put("attention_bias", architecture.attentionBias);
    }
    o.put("rms_norm_eps", rmsNormEps);
    o.put("vocab_size", vocabSize);
    o.put("max_position_embeddings", maxPositionEmbeddings);
    o.put("tie_word_embeddings", tieWordEmbeddings);
    o.put("torch_dtype", torchDtype.torchName());
    if (architecture == Architecture.MISTRAL) {
      o.putNull("sliding_window");
    } else {
      o.put("use_sliding_window", false);
    }
    ropeParameters.writeTo(o);
    o.put("attention_dropout", 0.0);
    return o;
  }

  /**
   * A short hash of everything that fixes the meaning of a hidden state (shapes, not weights). A probe records it, so
   * it cannot silently be applied to a model of another shape.
   */
  public String fingerprint() {
    String canonical = String.join(",", architecture.modelType, "h" + hiddenSize, "i" + intermediateSize, "l" + numHiddenLayers,
        "a" + numAttentionHeads, "kv" + numKeyValueHeads, "d" + headDim, "v" + vocabSize, "t" + tieWordEmbeddings);
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public Qwen2Config withDtype(DType dtype) {
    return new Qwen2Config(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim,
        rmsNormEps, ropeParameters, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, dtype, architecture);
  }
}
