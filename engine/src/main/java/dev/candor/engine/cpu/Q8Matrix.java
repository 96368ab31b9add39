package dev.candor.engine.cpu;

import static dev.candor.engine.cpu.Vectors.F;
import static dev.candor.engine.cpu.Vectors.LANES;

import dev.candor.engine.model.WeightFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * 8-bit weights in {@link Q8_0} blocks: the int8 values of a row back to back, and one float16 scale per block of 32
 * beside them, 34 bytes per 32 weights as in llama.cpp. A weight is widened in a register as (float) q · d, the same
 * product in every kernel and in {@link #get}, so a one-token step and a chunk agree bit for bit. Quantized at load
 * into memory of its own ({@link #quantize}).
 */
final class Q8Matrix extends Matrix {
  /**
   * Columns per iteration of dot1 and dot4: two vectors, which lie in one block (LANES is at most 16), so their scale
   * is loaded, converted and broadcast once for both. Unrolled by hand: the same two vectors as a loop inside the
   * block loop ran 2.1–2.6× slower (C2 kept the inner loop), by hand 17–19% faster than a scale per vector
   * (one thread, a 5 MB matrix, interleaved in one JVM, 2026-12-02, shared machine). The products are the same.
   */
  static final int STEP = 2 * LANES;
  private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
  private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private final MemorySegment quants; // [rows * cols] int8
  private final MemorySegment scales; // [rows * blocks(cols)] float16
  private final int blocks;

  Q8Matrix(int rows, int cols, MemorySegment quants, MemorySegment scales) {
    super(rows, cols, STEP);
    this.quants = quants;
    this.scales = scales;
    this.blocks = Q8_0.blocks(cols);
  }

  /** Quantizes a matrix given row by row ({@code rowSource} fills a float32 row), into memory of {@code arena}. */
  static Q8Matrix quantize(int rows, int cols, RowSource rowSource, Arena arena, Parallel parallel) {
    int blocks = Q8_0.blocks(cols);
    MemorySegment quants = arena.allocate((long) rows * cols, 64);
    MemorySegment scales = arena.allocate((long) rows * blocks * 2, 64);
    int rowsPerChunk = Math.max(1, (1 << 20) / cols);
    int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
    parallel.run(chunks, (chunk, worker) -> {
      float[] row = new float[cols];
      byte[] q = new byte[cols];
      for (int r = chunk * rowsPerChunk; r < Math.min(rows, (chunk + 1) * rowsPerChunk); r++) {
        rowSource.row(r, row);
        for (int b = 0; b < blocks; b++) {
          int from = b * Q8_0.BLOCK;
          short d = Q8_0.quantize(row, from, Math.min(Q8_0.BLOCK, cols - from), q, from);
          scales.setAtIndex(F16, (long) r * blocks + b, d);
        }
        MemorySegment.copy(q, 0, quants, ValueLayout.JAVA_BYTE, (long) r * cols, cols);
      }
    });
    return new Q8Matrix(rows, cols, quants, scales);
  }

  /** Fills {@code out} with row r of a matrix as float32. */
  @FunctionalInterface
  interface RowSource {
    void row(int r, float[] out);
  }

  @Override
  WeightFormat format() {
    return WeightFormat.Q8_0;
  }

  @Override
  long bytes() {
    return quants.byteSize() + scales.byteSize();
  }

  @Override
  boolean mapped() {
    return false;
  }

  /** Block b's scale of row r, as float32. */
  float scale(long row, int block) {
    return Float.float16ToFloat(scales.getAtIndex(F16, row * blocks + block));
  }

  /** The int8 value at (row, col). */
  byte quant(long row, int col) {
    return quants.get(ValueLayout.JAVA_BYTE, row * cols + col);
  }

  /** Weights [col, col + LANES) of a row as float32: each int8 value times its block's scale. */
  private FloatVector load(long row, int col) {
    return quants(row, col).mul(scale(row, col / Q8_0.BLOCK));
  }

  @Override
  float get(long row, int col) {
    return quant(row, col) * scale(row, col / Q8_0.BLOCK);
  }

  /** Weights [col, col + LANES) of a row as int8 values in floats, not yet scaled. */
  private FloatVector quants(long row, int col) {
    ByteVector q = ByteVector.fromMemorySegment(B, quants, row * cols + col, ByteOrder.LITTLE_ENDIAN);
    return (FloatVector) q.convertShape(VectorOperators.B2F, F, 0);
  }

  /** The scale of the block holding column col, in every lane. */
  private FloatVector scales(long row, int col) {
    return FloatVector.broadcast(F, scale(row, col / Q8_0.BLOCK));
  }

  @Override
  void dot1(float[] x, int xOff, int r, float[] acc, int a) {
    FloatVector a0 = FloatVector.zero(F);
    for (int i = 0; i < bound; i += STEP) {
      FloatVector d0 = scales(r, i);
      a0 = quants(r, i).mul(d0).fma(at(x, xOff + i), a0);
      a0 = quants(r, i + LANES).mul(d0).fma(at(x, xOff + i + LANES), a0);
    }
    a0.intoArray(acc, a);
  }

  @Override
  void dot4(float[] x, int xOff, int r, int step, float[] acc, int a) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < bound; i += STEP) {
      FloatVector d0 = scales(r, i), d1 = scales(r + step, i), d2 = scales(r + 2 * step, i), d3 = scales(r + 3 * step, i);
      FloatVector v = at(x, xOff + i);
      a0 = quants(r, i).mul(d0).fma(v, a0);
      a1 = quants(r + step, i).mul(d1).fma(v, a1);
      a2 = quants(r + 2 * step, i).mul(d2).fma(v, a2);
      a3 = quants(r + 3 * step, i).mul(d3).fma(v, a3);
      v = at(x, xOff + i + LANES);
      a0 = quants(r, i + LANES).mul(d0).fma(v, a0);
      a1 = quants(r + step, i + LANES).mul(d1).fma(v, a1);
      a2 = quants(r + 2 * step, i + LANES).mul(d2).fma(v, a2);
      a3 = quants(r + 3 * step, i + LANES).mul(d3).fma(v, a3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + step * LANES);
    a2.intoArray(acc, a + 2 * step * LANES);
    a3.intoArray(acc, a + 3 * step * LANES);
  }

  /** The tile loads each vector's scale (the same float, so the same products as dot4's). */
  @Override
  void tile4x4(float[] x, int xOff, int xStride, int r, int step, float[] acc, int a, int aStride) {
    FloatVector a00 = FloatVector.zero(F), a10 = a00, a20 = a00, a30 = a00, a01 = a00, a11 = a00, a21 = a00, a31 = a00;
    FloatVector a02 = a00, a12 = a00, a22 = a00, a32 = a00, a03 = a00, a13 = a00, a23 = a00, a33 = a00;
    for (int i = 0; i < bound; i += LANES) {
      FloatVector w0 = load(r, i), w1 = load(r + step, i), w2 = load(r + 2 * step, i), w3 = load(r + 3 * step, i);
      FloatVector x0 = at(x, xOff + i);
      a00 = w0.fma(x0, a00);
      a10 = w1.fma(x0, a10);
      a20 = w2.fma(x0, a20);
      a30 = w3.fma(x0, a30);
      FloatVector x1 = at(x, xOff + xStride + i);
      a01 = w0.fma(x1, a01);
      a11 = w1.fma(x1, a11);
      a21 = w2.fma(x1, a21);
      a31 = w3.fma(x1, a31);
      FloatVector x2 = at(x, xOff + 2 * xStride + i);
      a02 = w0.fma(x2, a02);
      a12 = w1.fma(x2, a12);
      a22 = w2.fma(x2, a22);
      a32 = w3.fma(x2, a32);
      FloatVector x3 = at(x, xOff + 3 * xStride + i);
      a03 = w0.fma(x3, a03);
      a13 = w1.fma(x3, a13);
      a23 = w2.fma(x3, a23);
      a33 = w3.fma(x3, a33);
    }
    int b = a + aStride;
    int c = b + aStride;
    int d = c + aStride;
    a00.intoArray(acc, a);
    a10.intoArray(acc, a + step * LANES);
    a20.intoArray(acc, a + 2 * step * LANES);
    a30.intoArray(acc, a + 3 * step * LANES);
    a01.intoArray(acc, b);
    a11.intoArray(acc, b + step * LANES);
    a21.intoArray(acc, b + 2 * step * LANES);
    a31.intoArray(acc, b + 3 * step * LANES);
    a02.intoArray(acc, c);
    a12.intoArray(acc, c + step * LANES);
    a22.intoArray(acc, c + 2 * step * LANES);
    a32.intoArray(acc, c + 3 * step * LANES);
    a03.intoArray(acc, d);
    a13.intoArray(acc, d + step * LANES);
    a23.intoArray(acc, d + 2 * step * LANES);
    a33.intoArray(acc, d + 3 * step * LANES);
  }

  @Override
  void row(int r, float[] out, int off) {
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += LANES) {
      load(r, i).intoArray(out, off + i);
    }
    for (int i = bound; i < cols; i++) {
      out[off + i] = get(r, i);
    }
  }

  private static FloatVector at(float[] array, int offset) {
    return FloatVector.fromArray(F, array, offset);
  }
}
