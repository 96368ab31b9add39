package dev.candor.models;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import java.util.LinkedHashMap;
import java.util.Map;

/** Named Qwen2 shapes: the published Qwen2.5 configs (weights not included) and small ones for tests and demos. */
public final class Shapes {
  private Shapes() {}

  public static final Map<String, Qwen2Config> ALL = new LinkedHashMap<>();

  static {
    // Qwen/Qwen2.5-*-Instruct config.json values
    ALL.put("qwen2.5-0.5b", new Qwen2Config(896, 4864, 24, 14, 2, 64, 1e-6, 1_000_000, 151936, 32768, true, DType.BF16));
    ALL.put("qwen2.5-1.5b", new Qwen2Config(1536, 8960, 28, 12, 2, 128, 1e-6, 1_000_000, 151936, 32768, true, DType.BF16));
    ALL.put("qwen2.5-7b", new Qwen2Config(3584, 18944, 28, 28, 4, 128, 1e-6, 1_000_000, 152064, 32768, false, DType.BF16));
    // a small model with Qwen's full vocabulary: what `make run` serves until the trained default exists
    ALL.put("qwen-vocab-tiny", new Qwen2Config(64, 176, 2, 4, 2, 16, 1e-6, 1_000_000, 151936, 4096, true, DType.F32));
    // the default target's and drafter's shapes: random copies of them are the probe's control
    ALL.put("default-target", dev.candor.models.train.DefaultModels.TARGET);
    ALL.put("default-drafter", dev.candor.models.train.DefaultModels.DRAFTER);
    // Hugging Face's test shape: odd sizes so no dimension can be mistaken for another
    ALL.put("tiny-odd", new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, 10000, 99, 512, false, DType.F32));
  }

  public static Qwen2Config get(String name) {
    Qwen2Config c = ALL.get(name);
    if (c == null) {
      throw new IllegalArgumentException("unknown shape '" + name + "'; known: " + String.join(", ", ALL.keySet()));
    }
    return c;
  }
}
