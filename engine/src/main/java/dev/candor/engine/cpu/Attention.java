package dev.candor.engine.cpu;

import static dev.candor.engine.cpu.Vectors.F;
import static dev.candor.engine.cpu.Vectors.LANES;

import jdk.incubator.vector.FloatVector;

/**
 * Grouped-query causal attention over one layer's KV cache, in tiles (FlashAttention's online softmax, Dao et al.
 * 2022): the keys are visited {@link #TILE} positions at a time, and each query keeps a running maximum, a running sum
 * of exponentials and a running weighted sum of values, rescaled when the maximum grows. A task is one key/value head
 * and up to {@link #BLOCK} query tokens: every query head of that group and every token of the block reads a tile of
 * keys and values while it is in L1, so a long prompt reads the cache once per block instead of once per query.
 *
 * <p>The key cache is stored transposed, [kvHeads][headDim][capacity]: the scores of {@link Vectors#LANES} positions
 * are then one vector accumulator over headDim, with no lane sums. Tiles start at fixed positions (multiples of TILE)
 * and a query's last tile stops at its own position, so a query's result does not depend on the other queries of its
 * block: a one-token decode step and a verify chunk compute it identically.
 */
final class Attention {
  /** Key positions per tile: keys and values of a tile are 2 · TILE · headDim floats (32 KB at headDim 64). */
  static final int TILE = 64;
  /** Query tokens per task. */
  static final int BLOCK = 16;
  private static final long PARALLEL_WORK = 1 << 20; // multiply-adds; as Gemm's, a region must pay for itself

  private final int heads, kvHeads, hd, groups;
  private final float scale;
  private final Parallel parallel;
  private final float[][] scores; // per thread [TILE]
  private final float[][] acc; // per thread [BLOCK * groups * headDim]: running weighted sums of values
  private final float[][] max; // per thread [BLOCK * groups]: running maxima of the scores
  private final float[][] sum; // per thread [BLOCK * groups]: running sums of exponentials

  Attention(int heads, int kvHeads, int headDim, Parallel parallel) {
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.hd = headDim;
    this.groups = heads / kvHeads;
    this.scale = (float) (1.0 / Math.sqrt(headDim));
    this.parallel = parallel;
    int threads = parallel.threads();
    scores = new float[threads][TILE];
    acc = new float[threads][BLOCK * groups * headDim];
    max = new float[threads][BLOCK * groups];
    sum = new float[threads][BLOCK * groups];
  }

  /**
   * out[t][h] = Σ_p softmax_p(q[t][h] · k[p] / √headDim) · v[p] over positions p ≤ start + t, for tokens t < n and
   * query heads h; head h reads key/value head h / groups (Hugging Face's repeat_kv).
   *
   * @param q [n, heads * headDim], rotated
   * @param keys [kvHeads, headDim, capacity]: the cache, transposed, holding positions 0 .. start + n - 1
   * @param values [kvHeads, capacity, headDim]
   * @param out [n, heads * headDim]
   */
  void run(float[] q, int n, int start, float[] keys, float[] values, int capacity, float[] out) {
    run(q, 0, n, start, keys, values, capacity, out);
  }

  /**
   * The same for rows [row, row + n) of q and out ([rows, heads * headDim]), row + t at position start + t: one
   * sequence's rows among a batch's ({@link ForwardPass}).
   */
  void run(float[] q, int row, int n, int start, float[] keys, float[] values, int capacity, float[] out) {
    int blocks = (n + BLOCK - 1) / BLOCK;
    Parallel.Body body = (task, worker) -> attend(q, row, task / blocks, (task % blocks) * BLOCK,
        Math.min(n, (task % blocks + 1) * BLOCK), start, keys, values, capacity, out, worker);
    long work = (long) n * heads * hd * (start + n);
    if (work < PARALLEL_WORK) {
      for (int task = 0; task < kvHeads * blocks; task++) {
        body.run(task, 0);
      }
    } else {
      parallel.run(kvHeads * blocks, body);
    }
  }

  /** Key/value head g for tokens [t0, t1) (rows row + t): every tile of keys up to the last token's position. */
  private void attend(float[] q, int row0, int g, int t0, int t1, int start, float[] keys, float[] values,
      int capacity, float[] out, int worker) {
    int rows = (t1 - t0) * groups;
    java.util.Arrays.fill(acc[worker], 0, rows * hd, 0f);
    java.util.Arrays.fill(max[worker], 0, rows, Float.NEGATIVE_INFINITY);
    java.util.Arrays.fill(sum[worker], 0, rows, 0f);
    int qDim = heads * hd;
    for (int tile = 0; tile < start + t1; tile += TILE) {
      for (int t = t0; t < t1; t++) {
        int end = Math.min(tile + TILE, start + t + 1); // the query sees positions up to its own
        for (int j = 0; j < groups && tile < end; j++) {
          int row = (t - t0) * groups + j;
          int h = g * groups + j;
          update(q, (row0 + t) * qDim + h * hd, g, tile, end - tile, keys, values, capacity, worker, row);
        }
      }
    }
    for (int t = t0; t < t1; t++) {
      for (int j = 0; j < groups; j++) {
        int row = (t - t0) * groups + j;
        float inverse = 1 / sum[worker][row];
        int o = (row0 + t) * qDim + (g * groups + j) * hd;
        for (int d = 0; d < hd; d++) {
          out[o + d] = acc[worker][row * hd + d] * inverse;
        }
      }
    }
  }

  /** One query row and one tile of {@code count} positions from {@code tile}: scores, then the online update. */
  private void update(float[] q, int qOff, int g, int tile, int count, float[] keys, float[] values, int capacity,
      int worker, int row) {
    float[] s = scores[worker];
    scores(q, qOff, keys, (g * hd) * capacity + tile, capacity, count, s);
    float tileMax = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < count; j++) {
      s[j] *= scale;
      tileMax = Math.max(tileMax, s[j]);
    }
    float previous = max[worker][row];
    float newMax = Math.max(previous, tileMax);
    float correction = Vectors.exp(previous - newMax); // 0 on the first tile (previous is -inf)
    int j = 0;
    for (; j + LANES <= count; j += LANES) {
      Vectors.exp(FloatVector.fromArray(F, s, j).sub(newMax)).intoArray(s, j);
    }
    for (; j < count; j++) {
      s[j] = Vectors.exp(s[j] - newMax);
    }
    float tileSum = 0;
    for (j = 0; j < count; j++) {
      tileSum += s[j];
    }
    max[worker][row] = newMax;
    sum[worker][row] = sum[worker][row] * correction + tileSum;
    accumulate(acc[worker], row * hd, correction, s, count, values, (g * capacity + tile) * hd);
  }

  /** s[j] = q · k[tile + j] for j < count, from the transposed keys at {@code kOff} (row stride capacity). */
  private void scores(float[] q, int qOff, float[] keys, int kOff, int capacity, int count, float[] s) {
    int j = 0;
    for (; j + LANES <= count; j += LANES) {
      FloatVector a = FloatVector.zero(F);
      for (int d = 0; d < hd; d++) {
        a = FloatVector.broadcast(F, q[qOff + d]).fma(FloatVector.fromArray(F, keys, kOff + d * capacity + j), a);
      }
      a.intoArray(s, j);
    }
    for (; j < count; j++) {
      float a = 0;
      for (int d = 0; d < hd; d++) {
        a = Math.fma(q[qOff + d], keys[kOff + d * capacity + j], a);
      }
      s[j] = a;
    }
  }

  /** acc = acc · correction + Σ_j p[j] · v[j] over the tile's values at {@code vOff} ([count, headDim]). */
  private void accumulate(float[] acc, int aOff, float correction, float[] p, int count, float[] values, int vOff) {
    int d = 0;
    for (; d + LANES <= hd; d += LANES) {
      FloatVector a = FloatVector.fromArray(F, acc, aOff + d).mul(correction);
      for (int j = 0; j < count; j++) {
        a = FloatVector.fromArray(F, values, vOff + j * hd + d).fma(FloatVector.broadcast(F, p[j]), a);
      }
      a.intoArray(acc, aOff + d);
    }
    for (; d < hd; d++) {
      float a = acc[aOff + d] * correction;
      for (int j = 0; j < count; j++) {
        a = Math.fma(values[vOff + j * hd + d], p[j], a);
      }
      acc[aOff + d] = a;
    }
  }
}
