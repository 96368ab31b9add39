package dev.candor.models;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Config.Architecture;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named shapes: the published Qwen2.5 and Qwen3 configs (weights not included) and small ones for tests and demos.
 */
public final class Shapes {
  private Shapes() {}

  public static final Map<String, Qwen2Config> ALL = new LinkedHashMap<>();

  static {
    // Qwen/Qwen2.5-*-Instruct config.json values
    ALL.put("qwen2.5-0.5b", new Qwen2Config(896, 4864, 24, 14, 2, 64, 1e-6, 1_000_000, 151936, 32768, true, DType.BF16));
    ALL.put("qwen2.5-1.5b", new Qwen2Config(1536, 8960, 28, 12, 2, 128, 1e-6, 1_000_000, 151936, 32768, true, DType.BF16));
    ALL.put("qwen2.5-7b", new Qwen2Config(3584, 18944, 28, 28, 4, 128, 1e-6, 1_000_000, 152064, 32768, false, DType.BF16));
    // Qwen/Qwen3-*: head_dim 128 whatever the width (16 x 128 heads on a hidden size of 1024), q/k norms, no biases
    ALL.put("qwen3-0.6b", Qwen2Config.of(Architecture.QWEN3, 1024, 3072, 28, 16, 8, 128, 1e-6, 1_000_000, 151936, 40960,
        true, DType.BF16));
    ALL.put("qwen3-8b", Qwen2Config.of(Architecture.QWEN3, 4096, 12288, 36, 32, 8, 128, 1e-6, 1_000_000, 151936, 40960,
        false, DType.BF16));
    // a small model with Qwen's full vocabulary: what `make run` serves until the trained default exists
    ALL.put("qwen-vocab-tiny", new Qwen2Config(64, 176, 2, 4, 2, 16, 1e-6, 1_000_000, 151936, 4096, true, DType.F32));
    // the default target's and drafter's shapes: random copies of them are the probe's control
    ALL.put("default-target", dev.candor.models.train.DefaultModels.TARGET);
    ALL.put("default-drafter", dev.candor.models.train.DefaultModels.DRAFTER);
    // Hugging Face's test shape: odd sizes so no dimension can be mistaken for another
    ALL.put("tiny-odd", new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, 10000, 99, 512, false, DType.F32));
    // the same for Qwen3, with heads x head_dim (3 x 16) other than the hidden size (40)
    ALL.put("qwen3-tiny-odd", Qwen2Config.of(Architecture.QWEN3, 40, 37, 3, 3, 1, 16, 1e-6, 10000, 99, 512, true,
        DType.F32));
  }

  public static Qwen2Config get(String name) {
    Qwen2Config c = ALL.get(name);
    if (c == null) {
      throw new IllegalArgumentException("unknown shape '" + name + "'; known: " + String.join(", ", ALL.keySet()));
    }
    return c;
  }
}
