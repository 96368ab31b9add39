package dev.candor.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The arithmetic the Java backend's kernels share, written so that every result is a pure function of its inputs:
 * the same bits whether the code runs interpreted or compiled, in a one-token step or inside a 64-token chunk. That is
 * what lets a k-token verify equal k decode steps bit for bit, and a cold server give what a warm one gives.
 *
 * <p>Two things in the JDK do not promise that, so they are not used here. A float {@code reduceLanes(ADD)} may add
 * in any order, and HotSpot's compiled code adds in another order than the interpreter's: measured on a 128-wide row
 * (AVX2, one JVM, 2026-11-23), 129 of 200 dot products changed bits once compiled; {@link #sum} adds lanes in a fixed
 * tree instead (about 5 ns a row). And {@code lanewise(EXP)} is Intel's SVML once compiled and {@code Math.exp} per
 * lane before; {@link #exp} is a polynomial of additions and fused multiply-adds, exact operations in both.
 */
final class Vectors {
  private Vectors() {}

  static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  static final int LANES = F.length();
  static final VectorSpecies<Integer> I = F.withLanes(int.class);

  /** Lane i with lane i ^ step, for step = lanes / 2, ..., 1: a fixed tree of lane-wise additions. */
  @SuppressWarnings("unchecked")
  private static final VectorShuffle<Float>[] FOLDS = java.util.stream.IntStream
      .iterate(LANES / 2, step -> step >= 1, step -> step / 2)
      .mapToObj(step -> VectorShuffle.fromOp(F, i -> i ^ step)).toArray(VectorShuffle[]::new);

  /** The lanes of {@code v} added in a fixed order (a tree of lane-wise additions). */
  static float sum(FloatVector v) {
    for (VectorShuffle<Float> fold : FOLDS) {
      v = v.add(v.rearrange(fold));
    }
    return v.lane(0);
  }

  /**
   * out[outOff + j] = {@link #sum} of the accumulator vector at acc[off + j * LANES], for j < count. Kept out of the
   * kernels' loops: inside a 4 × 4 tile the tree's shuffles slowed the whole tile five-fold (C2 keeps the tile's
   * registers and the shuffles' apart badly), here it costs about a nanosecond a sum. (A butterfly that reduces 16
   * accumulators at once, with the same pairings and bits, was tried: C2 did not intrinsify it, 20–400 ns a sum.)
   */
  static void sums(float[] acc, int off, int count, float[] out, int outOff) {
    for (int j = 0; j < count; j++) {
      out[outOff + j] = sum(FloatVector.fromArray(F, acc, off + j * LANES));
    }
  }

  /** Σ a[aOff + i] · b[bOff + i] for i < n: one accumulator, lanes summed by {@link #sum}, the tail after it. */
  static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
    int i = 0;
    int bound = F.loopBound(n);
    FloatVector acc = FloatVector.zero(F);
    for (; i < bound; i += LANES) {
      acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
    }
    float s = sum(acc);
    for (; i < n; i++) {
      s += a[aOff + i] * b[bOff + i];
    }
    return s;
  }

  /** y[yOff + i] = y[yOff + i] · scale + alpha · x[xOff + i] for i < n. */
  static void scaleAdd(float[] y, int yOff, float scale, float alpha, float[] x, int xOff, int n) {
    int i = 0;
    int bound = F.loopBound(n);
    FloatVector s = FloatVector.broadcast(F, scale);
    FloatVector a = FloatVector.broadcast(F, alpha);
    for (; i < bound; i += LANES) {
      FloatVector.fromArray(F, x, xOff + i).fma(a, FloatVector.fromArray(F, y, yOff + i).mul(s)).intoArray(y, yOff + i);
    }
    for (; i < n; i++) {
      y[yOff + i] = Math.fma(x[xOff + i], alpha, y[yOff + i] * scale);
    }
  }

  // exp(x) = 2^n · e^r with n = round(x / ln 2) and |r| <= ln 2 / 2; e^r by its Taylor polynomial of degree 6
  // (relative error under 2e-7 on that interval, a couple of float ulps).
  private static final float LOG2E = 1.44269504f;
  private static final float LN2_HI = 0.693359375f; // ln 2 in 10 bits: n * LN2_HI is exact
  private static final float LN2_LO = -2.12194440e-4f;
  private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds a float to an integer
  private static final float MIN = -87.3f; // below this e^x is under the smallest normal float: 0
  private static final float MAX = 88.3f; // keeps n <= 127, so 2^n is a normal float
  private static final float[] TAYLOR = {1f / 720, 1f / 120, 1f / 24, 1f / 6, 0.5f, 1f, 1f};

  /** e^x lane-wise; exactly {@link #exp(float)} of each lane. */
  static FloatVector exp(FloatVector x) {
    FloatVector clamped = x.max(MIN).min(MAX);
    FloatVector t = clamped.fma(LOG2E, ROUND); // n + ROUND, rounded to nearest
    FloatVector n = t.sub(ROUND);
    FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), clamped);
    r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
    FloatVector p = FloatVector.broadcast(F, TAYLOR[0]);
    for (int i = 1; i < TAYLOR.length; i++) {
      p = p.fma(r, FloatVector.broadcast(F, TAYLOR[i]));
    }
    IntVector exponent = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127).lanewise(VectorOperators.LSHL, 23);
    FloatVector result = p.mul(exponent.reinterpretAsFloats());
    return result.blend(0f, x.compare(VectorOperators.LT, MIN));
  }

  /** e^x by the same operations as {@link #exp(FloatVector)}, for the elements after the last full vector. */
  static float exp(float x) {
    float clamped = Math.min(Math.max(x, MIN), MAX);
    float t = Math.fma(clamped, LOG2E, ROUND);
    float n = t - ROUND;
    float r = Math.fma(n, -LN2_HI, clamped);
    r = Math.fma(n, -LN2_LO, r);
    float p = TAYLOR[0];
    for (int i = 1; i < TAYLOR.length; i++) {
      p = Math.fma(p, r, TAYLOR[i]);
    }
    float result = p * Float.intBitsToFloat((Float.floatToRawIntBits(t) - (Float.floatToRawIntBits(ROUND) - 127)) << 23);
    return x < MIN ? 0f : result;
  }

  /** out[i] = silu(gate[i]) · up[i] = gate[i] / (1 + e^-gate[i]) · up[i] for i in [from, to). */
  static void swiglu(float[] gate, float[] up, float[] out, int from, int to) {
    int i = from;
    for (; i + LANES <= to; i += LANES) {
      FloatVector g = FloatVector.fromArray(F, gate, i);
      FloatVector u = FloatVector.fromArray(F, up, i);
      g.div(exp(g.neg()).add(1f)).mul(u).intoArray(out, i);
    }
    for (; i < to; i++) {
      out[i] = gate[i] / (exp(-gate[i]) + 1f) * up[i];
    }
  }
}
