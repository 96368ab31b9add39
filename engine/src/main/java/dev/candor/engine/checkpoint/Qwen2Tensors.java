package dev.candor.engine.checkpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * The tensors of a Qwen2ForCausalLM checkpoint, by their Hugging Face keys, with the shape config.json implies. The
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
   * One decoder layer's tensors, under Hugging Face's names ({@code modeling_qwen2.py}'s {@code Qwen2DecoderLayer}).
   * {@code T} is whatever a caller holds them as: a {@link Spec}, a checkpoint {@link Tensor}, a backend's matrix.
   * A tensor a model family does not have is null (Qwen2 has every one of these; biases are what it adds to Llama).
   *
   * @param inputLayernorm [hidden]
   * @param qProj [numAttentionHeads * headDim, hidden]
   * @param qProjBias [numAttentionHeads * headDim]
   * @param kProj [numKeyValueHeads * headDim, hidden]
   * @param kProjBias [numKeyValueHeads * headDim]
   * @param vProj [numKeyValueHeads * headDim, hidden]
   * @param vProjBias [numKeyValueHeads * headDim]
   * @param oProj [hidden, numAttentionHeads * headDim], no bias
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
      T postAttentionLayernorm,
      T gateProj, T upProj, T downProj) {

    /** The same layer with every tensor mapped by {@code f}; a tensor the layer does not have stays null. */
    public <U> Layer<U> map(Function<? super T, ? extends U> f) {
      Function<T, U> m = t -> t == null ? null : f.apply(t);
      return new Layer<>(m.apply(inputLayernorm), m.apply(qProj), m.apply(qProjBias), m.apply(kProj),
          m.apply(kProjBias), m.apply(vProj), m.apply(vProjBias), m.apply(oProj), m.apply(postAttentionLayernorm),
          m.apply(gateProj), m.apply(upProj), m.apply(downProj));
    }

    /** The tensors the layer has, in the order Hugging Face writes them. */
    public List<T> all() {
      List<T> all = new ArrayList<>();
      for (T t : java.util.Arrays.asList(inputLayernorm, qProj, qProjBias, kProj, kProjBias, vProj, vProjBias, oProj,
          postAttentionLayernorm, gateProj, upProj, downProj)) {
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
    String p = "model.layers." + l + ".";
    return new Layer<>(
        new Spec(p + "input_layernorm.weight", h),
        new Spec(p + "self_attn.q_proj.weight", q, h), new Spec(p + "self_attn.q_proj.bias", q),
        new Spec(p + "self_attn.k_proj.weight", kv, h), new Spec(p + "self_attn.k_proj.bias", kv),
        new Spec(p + "self_attn.v_proj.weight", kv, h), new Spec(p + "self_attn.v_proj.bias", kv),
        new Spec(p + "self_attn.o_proj.weight", h, q),
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

  /** The tensor, checked against the shape config.json implies. */
  public static Tensor get(Weights weights, Qwen2Config c, String name) {
    for (Spec spec : all(c)) {
      if (spec.name().equals(name)) {
        return weights.get(name).expectShape(spec.shape());
      }
    }
    throw new IllegalArgumentException("not a Qwen2 tensor: " + name);
  }
}
