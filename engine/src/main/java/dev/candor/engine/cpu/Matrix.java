package dev.candor.engine.cpu;

import dev.candor.engine.model.WeightFormat;

/**
 * A weight matrix [rows, cols], row-major as Hugging Face stores a linear layer's weight ([out, in]), in one storage
 * format, with the two kernels the forward pass needs of it:
 *
 * <ul>
 *   <li>{@link #dot}: one token's activations against rows of the matrix, converting each weight to float32 in a
 *       register as it streams past. A decode step is this for every matrix: it reads each weight once, so it runs
 *       at the speed memory delivers them.
 *   <li>{@link #unpack}: rows as float32 into a small panel in cache, which {@link Gemm} then multiplies with every
 *       token of a chunk (prefill, verification). Converting once per panel costs little against the tokens' work.
 * </ul>
 *
 * <p>Both feed the same arithmetic: every W[r] · x is one vector accumulator over the columns in order, its lanes
 * added in {@link Vectors#sum}'s fixed tree, then the columns after the last full vector one at a time; so a
 * one-token step and a 64-token chunk give the same bits for the same row and token.
 */
abstract sealed class Matrix permits F32Matrix, F16Matrix, Bf16Matrix, Q8Matrix {
  final int rows;
  final int cols;

  Matrix(int rows, int cols) {
    this.rows = rows;
    this.cols = cols;
  }

  abstract WeightFormat format();

  /** Bytes of weights (and scales) the matrix holds: what one pass over it reads. */
  abstract long bytes();

  /** Whether its weights are the checkpoint file's bytes in place (memory-mapped), not a converted copy. */
  abstract boolean mapped();

  /**
   * The first half of W[r] · x[xOff ..] for r in [from, to): one vector accumulator per row over the columns
   * 0 .. {@link Vectors#F}.loopBound(cols), stored at acc[accOff + (r - from) * LANES]. {@link Gemm} adds its lanes
   * and then the remaining columns ({@link #get}).
   */
  abstract void dot(float[] x, int xOff, int from, int to, float[] acc, int accOff);

  /** panel[off + (r - from) * (c1 - c0) + c - c0] = W[r][c] as float32, for r in [from, to), c in [c0, c1). */
  abstract void unpack(int from, int to, int c0, int c1, float[] panel, int off);

  /** W[r][c] as float32. */
  abstract float get(long r, int c);

  /** Row r as float32 into out[off .. off + cols): an embedding lookup. */
  void row(int r, float[] out, int off) {
    unpack(r, r + 1, 0, cols, out, off);
  }

  @Override
  public String toString() {
    return format().label() + "[" + rows + ", " + cols + "]";
  }
}
