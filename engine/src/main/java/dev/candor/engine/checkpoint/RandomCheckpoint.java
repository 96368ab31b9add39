package dev.candor.engine.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Random weights for any Qwen2 shape, deterministic from a seed: each element is a hash of (seed, tensor name,
 * index), so the values do not depend on chunking, sharding or dtype. Used for tests (tiny odd shapes) and
 * benchmarks (the real Qwen2.5-0.5B and -7B shapes).
 *
 * <p>Matrices are uniform with standard deviation {@code std} (Hugging Face initialises with 0.02); RMSNorm weights are
 * 1 plus noise and biases small noise, so every weight a forward pass reads changes its output.
 */
public final class RandomCheckpoint {
  private RandomCheckpoint() {}

  public static List<CheckpointWriter.Entry> entries(Qwen2Config config, long seed, double std) {
    List<CheckpointWriter.Entry> entries = new ArrayList<>();
    for (Qwen2Tensors.Spec spec : Qwen2Tensors.all(config)) {
      String name = spec.name();
      long stream = mix(seed ^ mix(hash(name)));
      float scale = (float) (std * Math.sqrt(3.0)); // uniform on [-a, a] has std a / sqrt(3)
      float offset = 0;
      if (name.endsWith("norm.weight")) {
        offset = 1;
        scale = 0.1f;
      } else if (name.endsWith(".bias")) {
        scale = 0.1f;
      }
      float a = scale;
      float b = offset;
      entries.add(new CheckpointWriter.Entry(name, spec.shape(), (from, out, count) -> {
        for (int i = 0; i < count; i++) {
          out[i] = b + a * uniform(stream, from + i);
        }
      }));
    }
    return entries;
  }

  /**
   * Writes a complete checkpoint directory (weights, config, generation config and, if given, the tokenizer).
   * {@code std} 0.02 is Hugging Face's initialisation; tests use larger values so attention is far from uniform and a
   * wrong position or head shows in the logits.
   */
  public static void write(Path dir, Qwen2Config config, long seed, double std, DType dtype, long maxShardBytes,
      Path tokenizerDir, List<Integer> eosTokenIds) throws IOException {
    CheckpointWriter.write(dir, config, entries(config, seed, std), dtype, maxShardBytes, eosTokenIds);
    if (tokenizerDir != null) {
      CheckpointWriter.copyTokenizer(tokenizerDir, dir);
    }
  }

  /** Uniform on [-1, 1), a pure function of (stream, index). */
  static float uniform(long stream, long index) {
    long bits = mix(stream + index * 0x9E3779B97F4A7C15L);
    return ((bits >>> 40) * 0x1.0p-24f) * 2f - 1f;
  }

  /** SplitMix64's finaliser. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static long hash(String s) {
    long h = 1125899906842597L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h = 31 * h + b;
    }
    return h;
  }
}
