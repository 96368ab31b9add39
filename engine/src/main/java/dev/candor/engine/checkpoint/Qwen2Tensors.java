package dev.candor.engine.checkpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * The tensors of a Qwen2ForCausalLM checkpoint (and of the families {@link Qwen2Config.Architecture} names), by their Hugging Face keys, with the shape config.json implies. The
 * loader checks shapes against this list and the generator and trainer write it: one table, no renaming. The keys of
 * a decoder layer are spelled once, in {@link #layer(Qwen2Config, int)}; every backend takes a layer's tensors as a
 * {@link Layer} and maps it to what it computes with.
 */
public final class Qwen2Tensors {
  private Qwen2Tensors() {}

  /** A checkpoint key and the shape it must have. */
  public record Spec(String name, long... shape) {}

  public static final String EMBED_TOKENS = "model.embed_tokens.weight";
  public static final String NORM = "model.norm.weight";
  public static final String LM_HEAD = "lm_head.weight";

  /**
   * One decoder layer's tensors, under Hugging Face's names ({@code modeling_qwen2.py}'s {@code Qwen2DecoderLayer},
   * {@code modeling_qwen3.py}'s {@code Qwen3Attention}). {@code T} is whatever a caller holds them as: a {@link Spec},
   * a checkpoint {@link Tensor}, a backend's matrix. A tensor a model family does not have is null: the biases are
   * what Qwen2 adds to Llama, the q/k norms what Qwen3 adds (and it drops the biases).
   *
   * @param inputLayernorm [hidden]
   * @param qProj [numAttentionHeads * headDim, hidden]
   * @param qProjBias [numAttentionHeads * headDim]
   * @param kProj [numKeyValueHeads * headDim, hidden]
   * @param kProjBias [numKeyValueHeads * headDim]
   * @param vProj [numKeyValueHeads * headDim, hidden]
   * @param vProjBias [numKeyValueHeads * headDim]
   * @param oProj [hidden, numAttentionHeads * headDim], no bias
   * @param qNorm [headDim]: Qwen3's RMSNorm of each query head before RoPE
   * @param kNorm [headDim]: the same for each key head
   * @param postAttentionLayernorm [hidden]
   * @param gateProj [intermediate, hidden]
   * @param upProj [intermediate, hidden]
   * @param downProj [hidden, intermediate]
   */
  public record Layer<T>(
      T inputLayernorm,
      T qProj, T qProjBias,
      T kProj, T kProjBias,
      T vProj, T vProjBias,
      T oProj,
      T qNorm, T kNorm,
      T postAttentionLayernorm,
      T gateProj, T upProj, T downProj) {

    /** The same layer with every tensor mapped by {@code f}; a tensor the layer does not have stays null. */
    public <U> Layer<U> map(Function<? super T, ? extends U> f) {
      Function<T, U> m = t -> t == null ? null : f.apply(t);
      return new Layer<>(m.apply(inputLayernorm), m.apply(qProj), m.apply(qProjBias), m.apply(kProj),
          m.apply(kProjBias), m.apply(vProj), m.apply(vProjBias), m.apply(oProj), m.apply(qNorm), m.apply(kNorm),
          m.apply(postAttentionLayernorm), m.apply(gateProj), m.apply(upProj), m.apply(downProj));
    }

    /** The tensors the layer has, in the order Hugging Face writes them. */
    public List<T> all() {
      List<T> all = new ArrayList<>();
      for (T t : java.util.Arrays.asList(inputLayernorm, qProj, qProjBias, kProj, kProjBias, vProj, vProjBias, oProj,
          qNorm, kNorm, postAttentionLayernorm, gateProj, upProj, downProj)) {
        if (t != null) {
          all.add(t);
        }
      }
      return all;
    }
  }

  /** Layer {@code l}'s keys and shapes: the one place they are spelled. */
  public static Layer<Spec> layer(Qwen2Config c, int l) {
    Objects.checkIndex(l, c.numHiddenLayers());
    long h = c.hiddenSize();
    long q = (long) c.numAttentionHeads() * c.headDim();
    long kv = (long) c.numKeyValueHeads() * c.headDim();
    long im = c.intermediateSize();
    long hd = c.headDim();
    String p = "model.layers." + l + ".";
    boolean bias = c.attentionBias();
    boolean norms = c.qkNorm();
    return new Layer<>(
        new Spec(p + "input_layernorm.weight", h),
        new Spec(p + "self_attn.q_proj.weight", q, h), bias ? new Spec(p + "self_attn.q_proj.bias", q) : null,
        new Spec(p + "self_attn.k_proj.weight", kv, h), bias ? new Spec(p + "self_attn.k_proj.bias", kv) : null,
        new Spec(p + "self_attn.v_proj.weight", kv, h), bias ? new Spec(p + "self_attn.v_proj.bias", kv) : null,
        new Spec(p + "self_attn.o_proj.weight", h, q),
        norms ? new Spec(p + "self_attn.q_norm.weight", hd) : null,
        norms ? new Spec(p + "self_attn.k_norm.weight", hd) : null,
        new Spec(p + "post_attention_layernorm.weight", h),
        new Spec(p + "mlp.gate_proj.weight", im, h), new Spec(p + "mlp.up_proj.weight", im, h),
        new Spec(p + "mlp.down_proj.weight", h, im));
  }

  /** Layer {@code l}'s tensors in {@code weights}, each checked against the shape config.json implies. */
  public static Layer<Tensor> layer(Weights weights, Qwen2Config c, int l) {
    return layer(c, l).map(spec -> weights.get(spec.name()).expectShape(spec.shape()));
  }

  /** Every tensor the checkpoint holds, in the order Hugging Face writes them. */
  public static List<Spec> all(Qwen2Config c) {
    long h = c.hiddenSize();
    List<Spec> specs = new ArrayList<>();
    specs.add(new Spec(EMBED_TOKENS, c.vocabSize(), h));
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      specs.addAll(layer(c, l).all());
    }
    specs.add(new Spec(NORM, h));
    if (!c.tieWordEmbeddings()) {
      specs.add(new Spec(LM_HEAD, c.vocabSize(), h));
    }
    return specs;
  }

  /**
   * Refuses a decoder-layer tensor the architecture does not compute (a Qwen2 checkpoint whose config.json says Llama
   * has biases that would be silently dropped). Old checkpoints' {@code rotary_emb.inv_freq} buffers are allowed.
   */
  public static void checkNoOthers(Weights weights, Qwen2Config c) {
    java.util.Set<String> known = new java.util.HashSet<>();
    all(c).forEach(spec -> known.add(spec.name()));
    for (String name : weights.names()) {
      if (name.startsWith("model.layers.") && !known.contains(name) && !name.endsWith("rotary_emb.inv_freq")) {
        throw new CheckpointException("tensor '" + name + "' is not part of a " + c.architecture().className
            + " (" + (c.attentionBias() ? "q/k/v biases" : "no biases") + (c.qkNorm() ? ", q/k norms" : "")
            + "): config.json and the weights disagree");
      }
    }
  }

  /** The tensor, checked against the shape config.json implies. */
  public static Tensor get(Weights weights, Qwen2Config c, String name) {
    for (Spec spec : all(c)) {
      if (spec.name().equals(name)) {
        return weights.get(name).expectShape(spec.shape());
      }
    }
    throw new IllegalArgumentException("not a " + c.architecture().className + " tensor: " + name);
  }
}
