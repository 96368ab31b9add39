package dev.candor.engine.cpu;

import static dev.candor.engine.cpu.Vectors.F;
import static dev.candor.engine.cpu.Vectors.LANES;

import jdk.incubator.vector.FloatVector;

/**
 * out = x · Wᵀ for x [n, cols] and W [rows, cols], split over the backend's threads: the one matrix product of the
 * forward pass, for a decode step (n = 1), a verify step (n = k + 1) or a prefill chunk, at every weight format. The
 * rows of x need not belong to one sequence: it is a plain product.
 *
 * <p>Each thread takes chunks of W's rows, four rows a quarter of the chunk apart at a time (four long streams,
 * {@link #accumulate}) against four tokens at a time ({@link Matrix#tile4x4}: the four rows stay in L1 or L2 while
 * every token passes, so each weight is read from memory once per chunk of tokens), then one token at a time for the
 * tokens left ({@link Matrix#dot4}: a decode step is only this). The kernels store their accumulators in a buffer;
 * their lanes are summed afterwards, outside the kernels' loops (inside a 4 × 4 tile the fixed tree's shuffles made
 * the whole tile five times slower).
 *
 * <p>Every out[t][r] is W[r] · x[t] in one fixed order (see {@link Matrix}): the same bits for a token alone and in a
 * chunk, on any thread.
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
  private final Parallel parallel;
  private final float[][] accumulators; // per thread [MAX_ACCUMULATORS * LANES]
  private final float[][] sums; // per thread [MAX_ACCUMULATORS]

  Gemm(Parallel parallel) {
    this.parallel = parallel;
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
    accumulate(x, n, w, from, to, acc);
    float[] s = sums[worker];
    int bound = w.bound;
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
   * acc[(t * m + r - from) * LANES ..] = the vector part of W[r] · x[t] for every token and row [from, to). The chunk's
   * rows are taken in groups of four a quarter of the chunk apart (group g: rows from + g + i * quarter), so a thread
   * reads its chunk as four long sequential streams rather than as groups of four adjacent rows of a few cache lines
   * each (a Qwen2.5-0.5B row is 28 of them in BF16): four streams a thread read 54–62 GB/s where one contiguous stream
   * read 32–35 (the end-to-end runs' {@code MemoryBandwidth}, 2026-12-02). Each group against four tokens at a time
   * ({@link Matrix#tile4x4}), then against the tokens left one at a time ({@link Matrix#dot4}); the rows after the last
   * whole group alone. Each row's products are the same, in the same order, whichever group it falls in.
   */
  private static void accumulate(float[] x, int n, Matrix w, int from, int to, float[] acc) {
    int cols = w.cols;
    int stride = (to - from) * LANES; // between two tokens' accumulators
    int quarter = (to - from) / 4;
    for (int g = 0; g < quarter; g++) {
      int a = g * LANES;
      int t = 0;
      for (; t + 4 <= n; t += 4) {
        w.tile4x4(x, t * cols, cols, from + g, quarter, acc, t * stride + a, stride);
      }
      for (; t < n; t++) {
        w.dot4(x, t * cols, from + g, quarter, acc, t * stride + a);
      }
    }
    rowsOneByOne(x, n, w, from, from + 4 * quarter, to, acc);
  }

  /** The rows [first, to) after the last whole group of four, one at a time, into the chunk [from, to)'s layout. */
  private static void rowsOneByOne(float[] x, int n, Matrix w, int from, int first, int to, float[] acc) {
    int stride = (to - from) * LANES;
    for (int r = first; r < to; r++) {
      for (int t = 0; t < n; t++) {
        w.dot1(x, t * w.cols, r, acc, t * stride + (r - from) * LANES);
      }
    }
  }
}
