package dev.candor.engine.cpu;

import dev.candor.engine.model.WeightFormat;

/**
 * A weight matrix [rows, cols], row-major as Hugging Face stores a linear layer's weight ([out, in]), in one storage
 * format, with the kernels {@link Gemm} builds every product from. Each reads the weights where they lie and widens
 * them to float32 in a register as they stream past (a bfloat16 is a shift, a q8_0 value a product with its block's
 * scale): nothing is unpacked to memory first, which on a 4-row, 256-column slice cost more than the arithmetic.
 *
 * <ul>
 *   <li>{@link #dot4}: one token against four rows {@code step} apart, four independent accumulators: a decode step
 *       is this for every matrix, reading each weight once, with the four rows a quarter of a chunk apart
 *       ({@link Gemm});
 *   <li>{@link #tile4x4}: four tokens against the same four rows, 16 accumulators, each weight vector used four times
 *       once loaded (prefill, verification, a batch of decode steps);
 *   <li>{@link #dot1}: one token against one row, for the rows after the last four.
 * </ul>
 *
 * <p>Every kernel computes W[r] · x in one order: one vector accumulator, started at zero in a register, over the
 * columns in order; it is stored, and {@link Gemm} adds its lanes in {@link Vectors#sum}'s fixed tree, then the
 * columns from {@link #bound} on one at a time ({@link #get}). A one-token step and a 64-token chunk give the same
 * bits for the same row and token. (Walking K in blocks with the accumulators carried in memory between them was
 * measured: C2 does not keep accumulators loaded from memory unboxed when the weights are loaded as shorts or bytes,
 * and the BF16 tile fell from ~60 to under 8 GFLOP/s a core; blocks summed after each other cost 3× in call overhead
 * at 256 columns.) The four-format duplication is on purpose: one kernel calling an abstract load would be
 * megamorphic, and C2 would not turn it into vector instructions.
 */
abstract sealed class Matrix permits F32Matrix, F16Matrix, Bf16Matrix, Q8Matrix {
  final int rows;
  final int cols;
  /** The columns the kernels take in vectors: cols rounded down to whole steps of the format's loop. */
  final int bound;

  /** {@code step}: the columns one iteration of the format's kernels takes (LANES or a multiple of it). */
  Matrix(int rows, int cols, int step) {
    this.rows = rows;
    this.cols = cols;
    this.bound = cols / step * step;
  }

  abstract WeightFormat format();

  /** Bytes of weights (and scales) the matrix holds: what one pass over it reads. */
  abstract long bytes();

  /** Whether its weights are the checkpoint file's bytes in place (memory-mapped), not a converted copy. */
  abstract boolean mapped();

  /** acc[a ..] = the vector accumulator of W[r][0 .. bound) · x[xOff ..]. */
  abstract void dot1(float[] x, int xOff, int r, float[] acc, int a);

  /**
   * acc[a + i * step * LANES ..] = the vector accumulator of W[r + i * step][0 .. bound) · x[xOff ..], for i < 4:
   * four rows {@code step} apart, each accumulator where row r + i * step's would be among consecutive rows.
   */
  abstract void dot4(float[] x, int xOff, int r, int step, float[] acc, int a);

  /**
   * acc[a + j * aStride + i * step * LANES ..] = the vector accumulator of W[r + i * step][0 .. bound) ·
   * x[xOff + j * xStride ..] for rows i < 4 and tokens j < 4: {@link #dot4}'s four rows against four tokens.
   */
  abstract void tile4x4(float[] x, int xOff, int xStride, int r, int step, float[] acc, int a, int aStride);

  /** W[r][c] as float32. */
  abstract float get(long r, int c);

  /** Row r as float32 into out[off .. off + cols): an embedding lookup. */
  abstract void row(int r, float[] out, int off);

  @Override
  public String toString() {
    return format().label() + "[" + rows + ", " + cols + "]";
  }
}
