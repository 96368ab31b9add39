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
   * cos and sin of position · θ^(−2i/headDim) for i in [0, headDim / 2): [2][maxPositionEmbeddings * headDim / 2].
   * Computed in float32 step by step as Hugging Face's Qwen2RotaryEmbedding does (inverse frequency, then the
   * product with the position, then cos and sin), so long positions round the same way.
   */
  public static float[][] ropeTables(Qwen2Config config) {
    int half = config.headDim() / 2;
    int positions = config.maxPositionEmbeddings();
    float[] cos = new float[positions * half];
    float[] sin = new float[positions * half];
    for (int i = 0; i < half; i++) {
      float exponent = (float) (2 * i) / config.headDim();
      float inverseFrequency = 1.0f / (float) Math.pow((float) config.ropeTheta(), exponent);
      for (int p = 0; p < positions; p++) {
        float angle = p * inverseFrequency;
        cos[p * half + i] = (float) Math.cos(angle);
        sin[p * half + i] = (float) Math.sin(angle);
      }
    }
    return new float[][] {cos, sin};
  }
}
