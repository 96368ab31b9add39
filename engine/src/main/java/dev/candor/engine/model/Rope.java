package dev.candor.engine.model;

import dev.candor.engine.checkpoint.Qwen2Config;

/**
 * Rotary position embedding tables (Su et al. 2021, "RoFormer"), in the rotate-half form Hugging Face's Qwen2 uses:
 * one cos and one sin per position and frequency. Every backend takes them from here, so none depends on another to
 * compute them (they used to live in the DJL forward pass, which made the Java and CUDA backends import DJL).
 */
public final class Rope {
  private Rope() {}

  /**
   * cos and sin of position · inverse frequency for each of the headDim / 2 frequencies, scaled by the attention
   * factor (1 unless YaRN): [2][maxPositionEmbeddings * headDim / 2]. The frequencies come from
   * {@link dev.candor.engine.checkpoint.RopeParameters} (θ^(−2i/headDim), or YaRN's blend); the product with the
   * position and cos and sin are computed in float32 as Hugging Face's Qwen2RotaryEmbedding does, so long positions
   * round the same way.
   */
  public static float[][] ropeTables(Qwen2Config config) {
    int half = config.headDim() / 2;
    int positions = config.maxPositionEmbeddings();
    float[] inverseFrequencies = config.ropeParameters().inverseFrequencies(config.headDim());
    float scale = (float) config.ropeParameters().attentionScaling();
    float[] cos = new float[positions * half];
    float[] sin = new float[positions * half];
    for (int i = 0; i < half; i++) {
      for (int p = 0; p < positions; p++) {
        float angle = p * inverseFrequencies[i];
        cos[p * half + i] = (float) Math.cos(angle) * scale;
        sin[p * half + i] = (float) Math.sin(angle) * scale;
      }
    }
    return new float[][] {cos, sin};
  }
}
