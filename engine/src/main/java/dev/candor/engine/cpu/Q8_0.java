package dev.candor.engine.cpu;

/**
 * llama.cpp's Q8_0 quantization ({@code ggml-quants.c}, {@code quantize_row_q8_0_ref}): a row is cut into blocks of
 * {@link #BLOCK} values; a block keeps one scale d = max|x| / 127, stored as float16, and the values as int8
 * q = round(x / d), rounded half away from zero as C's {@code roundf}; a value is read back as q · d. The arithmetic
 * here is llama.cpp's step for step (the reciprocal of d taken before d is rounded to float16), so a GGUF written
 * from these blocks holds exactly the weights Candor computes with, and the peer in the benchmark runs the same
 * model. A row whose length is not a multiple of 32 ends in a shorter block with its own scale (llama.cpp refuses
 * such rows; the odd test shapes have them).
 */
public final class Q8_0 {
  private Q8_0() {}

  /** Values per block. */
  public static final int BLOCK = 32;

  /** Blocks in a row of {@code cols} values. */
  public static int blocks(int cols) {
    return (cols + BLOCK - 1) / BLOCK;
  }

  /**
   * Quantizes {@code values[from .. from + count)} (count at most {@link #BLOCK}) into {@code q[qOff ..]}; returns
   * the block's scale as float16 bits.
   */
  public static short quantize(float[] values, int from, int count, byte[] q, int qOff) {
    float amax = 0;
    for (int j = 0; j < count; j++) {
      amax = Math.max(amax, Math.abs(values[from + j]));
    }
    float d = amax / 127;
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < count; j++) {
      q[qOff + j] = (byte) roundHalfAway(values[from + j] * id);
    }
    return Float.floatToFloat16(d);
  }

  /** C's roundf: to the nearest integer, halfway cases away from zero (Math.round would take -2.5 to -2). */
  static int roundHalfAway(float x) {
    double rounded = Math.floor(Math.abs((double) x) + 0.5);
    return (int) Math.copySign(rounded, x);
  }
}
