package dev.candor.engine.checkpoint;

import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a Qwen2ForCausalLM checkpoint, by their Hugging Face keys, with the shape config.json implies. The
 * loader checks shapes against this list and the generator and trainer write it: one table, no renaming.
 */
public final class Qwen2Tensors {
  private Qwen2Tensors() {}

  /** A checkpoint key and the shape it must have. */
  public record Spec(String name, long... shape) {}

  public static final String EMBED_TOKENS = "model.embed_tokens.weight";
  public static final String NORM = "model.norm.weight";
  public static final String LM_HEAD = "lm_head.weight";

  public static String layer(int layer, String suffix) {
    return "model.layers." + layer + "." + suffix;
  }

  /** Every tensor the checkpoint holds, in the order Hugging Face writes them. */
  public static List<Spec> all(Qwen2Config c) {
    long h = c.hiddenSize();
    long q = (long) c.numAttentionHeads() * c.headDim();
    long kv = (long) c.numKeyValueHeads() * c.headDim();
    long im = c.intermediateSize();
    List<Spec> specs = new ArrayList<>();
    specs.add(new Spec(EMBED_TOKENS, c.vocabSize(), h));
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      specs.add(new Spec(layer(l, "input_layernorm.weight"), h));
      specs.add(new Spec(layer(l, "self_attn.q_proj.weight"), q, h));
      specs.add(new Spec(layer(l, "self_attn.q_proj.bias"), q));
      specs.add(new Spec(layer(l, "self_attn.k_proj.weight"), kv, h));
      specs.add(new Spec(layer(l, "self_attn.k_proj.bias"), kv));
      specs.add(new Spec(layer(l, "self_attn.v_proj.weight"), kv, h));
      specs.add(new Spec(layer(l, "self_attn.v_proj.bias"), kv));
      specs.add(new Spec(layer(l, "self_attn.o_proj.weight"), h, q));
      specs.add(new Spec(layer(l, "post_attention_layernorm.weight"), h));
      specs.add(new Spec(layer(l, "mlp.gate_proj.weight"), im, h));
      specs.add(new Spec(layer(l, "mlp.up_proj.weight"), im, h));
      specs.add(new Spec(layer(l, "mlp.down_proj.weight"), h, im));
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
