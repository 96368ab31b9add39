package dev.candor.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.model.WeightFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Java backend's kernels, each against an obviously correct loop in double precision, and the bit-for-bit claims
 * the forward pass rests on: a row of a many-token product equals the same row computed alone.
 */
class KernelsTest {
  static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  @Test
  void expIsAccurateAndTheSameInEveryLane() {
    SplittableRandom random = new SplittableRandom(1);
    float[] x = new float[4096];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 180 - 90);
    }
    x[0] = Float.NEGATIVE_INFINITY;
    x[1] = -87.5f;
    x[2] = 0f;
    x[3] = 88.3f;
    float[] vector = new float[x.length];
    for (int i = 0; i + Vectors.LANES <= x.length; i += Vectors.LANES) {
      Vectors.exp(FloatVector.fromArray(Vectors.F, x, i)).intoArray(vector, i);
    }
    for (int i = 0; i < x.length; i++) {
      float scalar = Vectors.exp(x[i]);
      assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(vector[i]), "lane and scalar at " + x[i]);
      double exact = Math.exp(Math.max(x[i], -87.3));
      if (x[i] < -87.3f) {
        assertEquals(0f, scalar, "exp(" + x[i] + ")");
      } else if (x[i] <= 88.3f) {
        assertTrue(Math.abs(scalar - exact) <= 3e-7 * exact, "exp(" + x[i] + ") = " + scalar + ", not " + exact);
      }
    }
    assertTrue(Float.isFinite(Vectors.exp(1000f)));
  }

  @Test
  void lanesAreAddedInOneFixedOrder() {
    SplittableRandom random = new SplittableRandom(2);
    float[] acc = new float[37 * Vectors.LANES];
    for (int i = 0; i < acc.length; i++) {
      acc[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
    }
    float[] sums = new float[37];
    Vectors.sums(acc, 0, 37, sums, 0);
    for (int j = 0; j < 37; j++) {
      // the tree: lane i with lane i ^ step, step = LANES / 2 .. 1
      float[] v = java.util.Arrays.copyOfRange(acc, j * Vectors.LANES, (j + 1) * Vectors.LANES);
      for (int step = Vectors.LANES / 2; step >= 1; step /= 2) {
        float[] next = new float[v.length];
        for (int i = 0; i < v.length; i++) {
          next[i] = v[i] + v[i ^ step];
        }
        v = next;
      }
      assertEquals(Float.floatToRawIntBits(v[0]), Float.floatToRawIntBits(sums[j]), "accumulator " + j);
    }
  }

  /** A random [rows, cols] matrix in {@code format}, and its values as float32 (what the kernels must compute with). */
  record TestMatrix(Matrix matrix, float[] values) {}

  static TestMatrix matrix(WeightFormat format, int rows, int cols, Arena arena, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] values = new float[rows * cols];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    values[0] = 3e-6f; // a float16 subnormal
    Matrix m = switch (format) {
      case F32 -> {
        MemorySegment s = arena.allocate(4L * values.length);
        MemorySegment.copy(values, 0, s, F32, 0, values.length);
        yield new F32Matrix(rows, cols, s);
      }
      case F16, BF16 -> {
        MemorySegment s = arena.allocate(2L * values.length);
        for (int i = 0; i < values.length; i++) {
          short bits = format == WeightFormat.F16 ? Float.floatToFloat16(values[i]) : DType.floatToBf16(values[i]);
          s.setAtIndex(I16, i, bits);
          values[i] = format == WeightFormat.F16 ? Float.float16ToFloat(bits) : DType.bf16ToFloat(bits);
        }
        yield format == WeightFormat.F16 ? new F16Matrix(rows, cols, s) : new Bf16Matrix(rows, cols, s);
      }
      case Q8_0 -> {
        Q8Matrix q;
        try (Parallel one = new Parallel(1)) {
          q = Q8Matrix.quantize(rows, cols, (r, out) -> System.arraycopy(values, r * cols, out, 0, cols), arena, one);
        }
        for (int r = 0; r < rows; r++) {
          for (int c = 0; c < cols; c++) {
            values[r * cols + c] = q.quant(r, c) * q.scale(r, c / Q8_0.BLOCK);
          }
        }
        yield q;
      }
    };
    return new TestMatrix(m, values);
  }

  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void everyFormatUnpacksToItsValuesAndMultipliesLikeALoop(WeightFormat format) {
    // 45 rows: chunks of 16 and a last one of 13 (four rows 4 apart, then 3 apart and one alone); 300: chunks of 36,
    // four rows 9 apart (16 at 64 tokens): dot4 and tile4x4 on strided rows, against a loop and against one token
    for (int rows : new int[] {45, 300}) {
      multipliesLikeALoop(format, rows);
    }
  }

  private static void multipliesLikeALoop(WeightFormat format, int rows) {
    int cols = 512 + 3 * Vectors.LANES + 5; // whole vectors and a tail
    try (Arena arena = Arena.ofShared(); Parallel parallel = new Parallel(2)) {
      TestMatrix m = matrix(format, rows, cols, arena, 3);
      float[] row = new float[cols];
      for (int r = 0; r < rows; r += 11) {
        m.matrix().row(r, row, 0);
        for (int c = 0; c < cols; c++) {
          assertEquals(m.values()[r * cols + c], row[c], 0f, "W[" + r + "][" + c + "]");
          assertEquals(m.values()[r * cols + c], m.matrix().get(r, c), 0f);
        }
      }
      Gemm gemm = new Gemm(parallel);
      for (int n : new int[] {1, 2, 3, 4, 5, 7, 9, 64}) {
        float[] x = uniform(n * cols, n);
        float[] bias = uniform(rows, 99);
        float[] out = new float[n * rows];
        gemm.run(x, n, new Gemm.Product(m.matrix(), bias, out, false));
        for (int t = 0; t < n; t++) {
          // each token's row, computed alone, is the same to the bit
          float[] alone = new float[rows];
          gemm.run(java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1,
              new Gemm.Product(m.matrix(), bias, alone, false));
          for (int r = 0; r < rows; r++) {
            double expected = bias[r];
            double scale = 0;
            for (int c = 0; c < cols; c++) {
              expected += (double) m.values()[r * cols + c] * x[t * cols + c];
              scale += Math.abs((double) m.values()[r * cols + c] * x[t * cols + c]);
            }
            float got = out[t * rows + r];
            assertTrue(Math.abs(got - expected) <= 1e-6 * scale + 1e-6, format + " n " + n + " [" + t + "][" + r
                + "]: " + got + " vs " + expected);
            assertEquals(Float.floatToRawIntBits(alone[r]), Float.floatToRawIntBits(got), "n " + n + " token " + t
                + " row " + r + ": alone and in the batch differ");
          }
        }
      }
    }
  }

  static float[] uniform(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) random.nextDouble(-1, 1);
    }
    return out;
  }

  @Test
  void theResidualAccumulatesIntoItsOutput() {
    try (Arena arena = Arena.ofShared(); Parallel parallel = new Parallel(2)) {
      TestMatrix m = matrix(WeightFormat.BF16, 8, 32, arena, 4);
      float[] x = new float[2 * 32];
      java.util.Arrays.fill(x, 1f);
      float[] out = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
      new Gemm(parallel).run(x, 2, new Gemm.Product(m.matrix(), null, out, true));
      for (int r = 0; r < 8; r++) {
        double rowSum = 0;
        for (int c = 0; c < 32; c++) {
          rowSum += m.values()[r * 32 + c];
        }
        assertEquals(r + 1 + rowSum, out[r], 1e-5);
        assertEquals(r + 1 + rowSum, out[8 + r], 1e-5);
      }
    }
  }

  @Test
  void q8_0RoundsAsLlamaCppDoes() {
    // a block whose scale is 1: values x * 127 / 127 land on .5 exactly, and roundf takes them away from zero
    float[] block = new float[32];
    block[0] = 127f;
    block[1] = -2.5f;
    block[2] = 2.5f;
    block[3] = -0.5f;
    block[4] = 0.49999997f;
    block[5] = -127f;
    byte[] q = new byte[32];
    short d = Q8_0.quantize(block, 0, 32, q, 0);
    assertEquals(1f, Float.float16ToFloat(d));
    assertEquals(127, q[0]);
    assertEquals(-3, q[1]);
    assertEquals(3, q[2]);
    assertEquals(-1, q[3]);
    assertEquals(0, q[4]);
    assertEquals(-127, q[5]);
    assertEquals(0, q[6]);
    // an all-zero block has scale 0 and values 0 (no division by zero)
    assertEquals(0, Q8_0.quantize(new float[32], 0, 32, q, 0));
    assertEquals(0, q[0]);
    // a partial block has a scale of its own
    float[] five = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f};
    short partial = Q8_0.quantize(five, 0, 5, q, 0);
    assertEquals(Float.floatToFloat16(0.5f / 127), partial);
    assertEquals(-127, q[4]);
    assertEquals(2, Q8_0.blocks(37));
  }

  @Test
  void attentionAgreesWithTheDefinitionOverManyTilesAndAGroupOfHeads() {
    int heads = 6;
    int kvHeads = 2;
    int hd = 2 * Vectors.LANES + 3;
    int start = 2 * Attention.TILE + 7;
    int n = Attention.BLOCK + 5;
    int capacity = start + n + 3;
    SplittableRandom random = new SplittableRandom(5);
    float[] q = new float[n * heads * hd];
    float[] keys = new float[kvHeads * hd * capacity]; // [kvHeads, hd, capacity]
    float[] values = new float[kvHeads * capacity * hd]; // [kvHeads, capacity, hd]
    for (float[] a : new float[][] {q, keys, values}) {
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) random.nextGaussian();
      }
    }
    float[] out = new float[n * heads * hd];
    try (Parallel parallel = new Parallel(2)) {
      new Attention(heads, kvHeads, hd, parallel).run(q, n, start, keys, values, capacity, out);
    }
    for (int t = 0; t < n; t++) {
      for (int h = 0; h < heads; h++) {
        int g = h / (heads / kvHeads);
        int visible = start + t + 1;
        double[] scores = new double[visible];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p < visible; p++) {
          for (int d = 0; d < hd; d++) {
            scores[p] += (double) q[(t * heads + h) * hd + d] * keys[(g * hd + d) * capacity + p];
          }
          scores[p] /= Math.sqrt(hd);
          max = Math.max(max, scores[p]);
        }
        double sum = 0;
        for (int p = 0; p < visible; p++) {
          sum += Math.exp(scores[p] - max);
        }
        for (int d = 0; d < hd; d++) {
          double expected = 0;
          for (int p = 0; p < visible; p++) {
            expected += Math.exp(scores[p] - max) / sum * values[(g * capacity + p) * hd + d];
          }
          assertEquals(expected, out[(t * heads + h) * hd + d], 2e-6, "token " + t + " head " + h + " dim " + d);
        }
      }
    }
  }

  @Test
  void aParallelRegionRunsEveryChunkOnceAndPassesOnAFailure() {
    try (Parallel parallel = new Parallel(3)) {
      for (int region = 0; region < 2000; region++) {
        int chunks = 1 + region % 17;
        AtomicIntegerArray runs = new AtomicIntegerArray(chunks);
        parallel.run(chunks, (chunk, worker) -> {
          assertTrue(worker >= 0 && worker < 3);
          runs.incrementAndGet(chunk);
        });
        for (int c = 0; c < chunks; c++) {
          assertEquals(1, runs.get(c), "region " + region + " chunk " + c);
        }
      }
      IllegalStateException failure = new IllegalStateException("chunk 5 failed");
      assertSame(failure, assertThrows(IllegalStateException.class, () -> parallel.run(9, (chunk, worker) -> {
        if (chunk == 5) {
          throw failure;
        }
      })));
      AtomicIntegerArray after = new AtomicIntegerArray(4);
      parallel.run(4, (chunk, worker) -> after.incrementAndGet(chunk));
      for (int c = 0; c < 4; c++) {
        assertEquals(1, after.get(c), "the pool still works after a failure");
      }
    }
  }
}
