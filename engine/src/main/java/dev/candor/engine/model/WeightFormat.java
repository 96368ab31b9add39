package dev.candor.engine.model;

import dev.candor.engine.checkpoint.DType;
import java.util.Locale;

/**
 * What a backend holds a weight matrix as. F32, F16 and BF16 are the checkpoint's own types (used where they lie in
 * the memory-mapped file); Q8_0 is llama.cpp's 8-bit format: blocks of 32 values, each block one float16 scale d and
 * 32 int8 q with value = q · d (see {@code cpu.Q8_0}). Norms and biases are vectors, not matrices, and stay float32.
 */
public enum WeightFormat {
  F32(4),
  F16(2),
  BF16(2),
  Q8_0(34.0 / 32);

  /** Bytes per weight as stored (Q8_0: 32 one-byte values and a two-byte scale per block). */
  public final double bytesPerWeight;

  WeightFormat(double bytesPerWeight) {
    this.bytesPerWeight = bytesPerWeight;
  }

  /** The format of a checkpoint tensor used as it is. */
  public static WeightFormat of(DType dtype) {
    return switch (dtype) {
      case F32 -> F32;
      case F16 -> F16;
      case BF16 -> BF16;
    };
  }

  /** The lower-case name a user writes ({@code --weights q8_0}). */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a user's name for a format: f32, f16, bf16 or q8_0 (any case); null or "native" is null (as stored). */
  public static WeightFormat parse(String name) {
    if (name == null || name.equalsIgnoreCase("native")) {
      return null;
    }
    for (WeightFormat f : values()) {
      if (f.label().equalsIgnoreCase(name)) {
        return f;
      }
    }
    throw new IllegalArgumentException("weights must be native, f32, f16, bf16 or q8_0, got '" + name + "'");
  }
}
