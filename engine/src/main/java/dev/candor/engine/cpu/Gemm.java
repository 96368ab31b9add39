package dev.candor.engine.cpu;

import static dev.candor.engine.cpu.Vectors.F;
import static dev.candor.engine.cpu.Vectors.LANES;

import jdk.incubator.vector.FloatVector;

/**
 * out = x · Wᵀ for x [n, cols] and W [rows, cols], split over the backend's threads: the one matrix product of the
 * forward pass, for a decode step (n = 1), a verify step (n = k + 1) or a prefill chunk, at every weight format. The
 * rows of x need not belong to one sequence: it is a plain product.
 *
 * <p>Each thread takes chunks of W's rows. With one token a chunk is {@link Matrix#dot}: the weights stream past once,
 * converted in registers. With more, the chunk goes four rows at a time through a panel: the four rows are unpacked to
 * float32 in this thread's panel (in L1/L2), then multiplied with every token, four tokens at a time, by a 4 × 4
 * register tile (16 accumulators, 8 loads for 16 fused multiply-adds a step). So each weight is read from memory once
 * per chunk of tokens, whatever the format, and the inner loop is the same for all of them.
 *
 * <p>Every out[t][r] is W[r] · x[t] computed in one fixed order, the order {@link Matrix#dot} uses: the same bits for
 * a token alone and in a chunk, on any thread.
 */
final class Gemm {
  /** What to do with a product: out[t][r] = W[r] · x[t] + bias[r], or out[t][r] += W[r] · x[t] (the residual). */
  record Product(Matrix weight, float[] bias, float[] out, boolean accumulate) {
    void store(int t, int r, float s) {
      int i = t * weight.rows + r;
      out[i] = accumulate ? out[i] + s : bias == null ? s : s + bias[r];
    }
  }

  /**
   * A region costs microseconds to start, and a thread descheduled in the middle of a chunk (the machine is shared)
   * holds it up: products below this many bytes of weights (memory-bound: a decode step) and this many multiply-adds
   * (compute-bound: a prefill chunk) run on the calling thread. The default model's are all below at decode and
   * verify; a Qwen2.5-0.5B's are all above.
   */
  private static final long PARALLEL_BYTES = 1 << 20;
  private static final long PARALLEL_WORK = 1 << 21;
  /** Rows per chunk at least (a multiple of 4, the tile), and about this many multiply-adds per chunk. */
  private static final int MIN_ROWS = 16;
  private static final long CHUNK_WORK = 1 << 19;
  /** Accumulators per chunk at most: rows times tokens (128 KB of them at 16 lanes). */
  private static final int MAX_ACCUMULATORS = 2048;
  /** Columns a panel holds (the K block): 4 rows of it, 4 tokens' slices of x and 16 accumulators fit in L1. */
  static final int KC = 256;

  private final Parallel parallel;
  private final float[][] panels; // per thread [4 * KC]
  private final float[][] accumulators; // per thread [MAX_ACCUMULATORS * LANES]
  private final float[][] sums; // per thread [MAX_ACCUMULATORS]

  Gemm(Parallel parallel) {
    this.parallel = parallel;
    this.panels = new float[parallel.threads()][4 * KC];
    this.accumulators = new float[parallel.threads()][MAX_ACCUMULATORS * LANES];
    this.sums = new float[parallel.threads()][MAX_ACCUMULATORS];
  }

  Parallel parallel() {
    return parallel;
  }

  /** Every product in one parallel region (they share x [n, cols]): q, k and v; or one matrix alone. */
  void run(float[] x, int n, Product... products) {
    int[] firstChunk = new int[products.length + 1];
    int[] rowsPerChunk = new int[products.length];
    long work = 0;
    long bytes = 0;
    for (int p = 0; p < products.length; p++) {
      Matrix w = products[p].weight();
      work += (long) n * w.rows * w.cols;
      bytes += w.bytes();
      rowsPerChunk[p] = rowsPerChunk(w, n);
      firstChunk[p + 1] = firstChunk[p] + (w.rows + rowsPerChunk[p] - 1) / rowsPerChunk[p];
    }
    Parallel.Body body = (chunk, worker) -> {
      int p = 0;
      while (chunk >= firstChunk[p + 1]) {
        p++;
      }
      Product product = products[p];
      int from = (chunk - firstChunk[p]) * rowsPerChunk[p];
      multiply(x, n, product, from, Math.min(product.weight().rows, from + rowsPerChunk[p]), worker);
    };
    if (work < PARALLEL_WORK && bytes < PARALLEL_BYTES) {
      for (int c = 0; c < firstChunk[products.length]; c++) {
        body.run(c, 0);
      }
    } else {
      parallel.run(firstChunk[products.length], body);
    }
  }

  private int rowsPerChunk(Matrix w, int n) {
    if (n > MAX_ACCUMULATORS / 4) {
      throw new IllegalArgumentException(n + " tokens in one product; at most " + MAX_ACCUMULATORS / 4);
    }
    int rows = (int) Math.max(MIN_ROWS, CHUNK_WORK / Math.max(1, (long) n * w.cols));
    // enough chunks that the threads share out a large matrix evenly (4 a thread at least)
    rows = Math.min(rows, Math.max(MIN_ROWS, w.rows / (4 * parallel.threads())));
    rows = Math.min(rows, MAX_ACCUMULATORS / n);
    return Math.max(4, rows / 4 * 4);
  }

  /** Rows [from, to) of the product, for every token, on this thread. */
  void multiply(float[] x, int n, Product product, int from, int to, int worker) {
    Matrix w = product.weight();
    int m = to - from;
    float[] acc = accumulators[worker];
    if (n == 1) {
      w.dot(x, 0, from, to, acc, 0);
    } else {
      java.util.Arrays.fill(acc, 0, n * m * LANES, 0f);
      accumulate(x, n, w, from, to, acc, panels[worker]);
    }
    float[] s = sums[worker];
    int bound = F.loopBound(w.cols);
    for (int t = 0; t < n; t++) {
      Vectors.sums(acc, t * m * LANES, m, s, 0);
      for (int r = from; r < to; r++) {
        float v = s[r - from];
        for (int c = bound; c < w.cols; c++) { // the columns after the last full vector, in order
          v += w.get(r, c) * x[t * w.cols + c];
        }
        product.store(t, r, v);
      }
    }
  }

  /**
   * acc[(t * m + r - from) * LANES ..] += the vector part of W[r] · x[t] for every token and row [from, to): K blocks
   * of {@link #KC} columns, in each four rows unpacked to the panel and multiplied with four tokens at a time.
   */
  private static void accumulate(float[] x, int n, Matrix w, int from, int to, float[] acc, float[] panel) {
    int cols = w.cols;
    int bound = F.loopBound(cols);
    int stride = (to - from) * LANES; // between two tokens' accumulators
    for (int k0 = 0; k0 < bound; k0 += KC) {
      int kc = Math.min(KC, bound - k0);
      for (int r = from; r < to; r += 4) {
        int rows = Math.min(4, to - r);
        w.unpack(r, r + rows, k0, k0 + kc, panel, 0);
        int a = (r - from) * LANES;
        int t = 0;
        if (rows == 4) {
          for (; t + 4 <= n; t += 4) {
            tile4x4(panel, kc, x, t * cols + k0, cols, acc, t * stride + a, stride);
          }
          for (; t < n; t++) {
            tile1x4(panel, kc, x, t * cols + k0, acc, t * stride + a);
          }
        } else {
          for (; t < n; t++) {
            for (int i = 0; i < rows; i++) {
              tile1x1(panel, i * kc, kc, x, t * cols + k0, acc, t * stride + a + i * LANES);
            }
          }
        }
      }
    }
  }

  /** Four panel rows against four tokens: acc(t + j, r + i) at acc[a + j * stride + i * LANES]. */
  private static void tile4x4(float[] p, int kc, float[] x, int xOff, int cols, float[] acc, int a, int stride) {
    FloatVector a00 = at(acc, a), a10 = at(acc, a + LANES), a20 = at(acc, a + 2 * LANES), a30 = at(acc, a + 3 * LANES);
    int b = a + stride;
    FloatVector a01 = at(acc, b), a11 = at(acc, b + LANES), a21 = at(acc, b + 2 * LANES), a31 = at(acc, b + 3 * LANES);
    int c = b + stride;
    FloatVector a02 = at(acc, c), a12 = at(acc, c + LANES), a22 = at(acc, c + 2 * LANES), a32 = at(acc, c + 3 * LANES);
    int d = c + stride;
    FloatVector a03 = at(acc, d), a13 = at(acc, d + LANES), a23 = at(acc, d + 2 * LANES), a33 = at(acc, d + 3 * LANES);
    for (int i = 0; i < kc; i += LANES) {
      FloatVector w0 = at(p, i), w1 = at(p, kc + i), w2 = at(p, 2 * kc + i), w3 = at(p, 3 * kc + i);
      FloatVector x0 = at(x, xOff + i);
      a00 = w0.fma(x0, a00);
      a10 = w1.fma(x0, a10);
      a20 = w2.fma(x0, a20);
      a30 = w3.fma(x0, a30);
      FloatVector x1 = at(x, xOff + cols + i);
      a01 = w0.fma(x1, a01);
      a11 = w1.fma(x1, a11);
      a21 = w2.fma(x1, a21);
      a31 = w3.fma(x1, a31);
      FloatVector x2 = at(x, xOff + 2 * cols + i);
      a02 = w0.fma(x2, a02);
      a12 = w1.fma(x2, a12);
      a22 = w2.fma(x2, a22);
      a32 = w3.fma(x2, a32);
      FloatVector x3 = at(x, xOff + 3 * cols + i);
      a03 = w0.fma(x3, a03);
      a13 = w1.fma(x3, a13);
      a23 = w2.fma(x3, a23);
      a33 = w3.fma(x3, a33);
    }
    a00.intoArray(acc, a);
    a10.intoArray(acc, a + LANES);
    a20.intoArray(acc, a + 2 * LANES);
    a30.intoArray(acc, a + 3 * LANES);
    a01.intoArray(acc, b);
    a11.intoArray(acc, b + LANES);
    a21.intoArray(acc, b + 2 * LANES);
    a31.intoArray(acc, b + 3 * LANES);
    a02.intoArray(acc, c);
    a12.intoArray(acc, c + LANES);
    a22.intoArray(acc, c + 2 * LANES);
    a32.intoArray(acc, c + 3 * LANES);
    a03.intoArray(acc, d);
    a13.intoArray(acc, d + LANES);
    a23.intoArray(acc, d + 2 * LANES);
    a33.intoArray(acc, d + 3 * LANES);
  }

  /** Four panel rows against one token. */
  private static void tile1x4(float[] p, int kc, float[] x, int xOff, float[] acc, int a) {
    FloatVector a0 = at(acc, a), a1 = at(acc, a + LANES), a2 = at(acc, a + 2 * LANES), a3 = at(acc, a + 3 * LANES);
    for (int i = 0; i < kc; i += LANES) {
      FloatVector v = at(x, xOff + i);
      a0 = at(p, i).fma(v, a0);
      a1 = at(p, kc + i).fma(v, a1);
      a2 = at(p, 2 * kc + i).fma(v, a2);
      a3 = at(p, 3 * kc + i).fma(v, a3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + LANES);
    a2.intoArray(acc, a + 2 * LANES);
    a3.intoArray(acc, a + 3 * LANES);
  }

  /** One panel row (at pOff) against one token. */
  private static void tile1x1(float[] p, int pOff, int kc, float[] x, int xOff, float[] acc, int a) {
    FloatVector a0 = at(acc, a);
    for (int i = 0; i < kc; i += LANES) {
      a0 = at(p, pOff + i).fma(at(x, xOff + i), a0);
    }
    a0.intoArray(acc, a);
  }

  private static FloatVector at(float[] array, int offset) {
    return FloatVector.fromArray(F, array, offset);
  }
}
