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
 * product in {@link #dot} and {@link #unpack}, so a one-token step and a chunk agree bit for bit. Quantized at load
 * into memory of its own ({@link #quantize}).
 */
final class Q8Matrix extends Matrix {
  private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
  private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private final MemorySegment quants; // [rows * cols] int8
  private final MemorySegment scales; // [rows * blocks(cols)] float16
  private final int blocks;

  Q8Matrix(int rows, int cols, MemorySegment quants, MemorySegment scales) {
    super(rows, cols);
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

  private FloatVector load(long row, int col) {
    ByteVector q = ByteVector.fromMemorySegment(B, quants, row * cols + col, ByteOrder.LITTLE_ENDIAN);
    return ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale(row, col / Q8_0.BLOCK));
  }

  @Override
  float get(long row, int col) {
    return quant(row, col) * scale(row, col / Q8_0.BLOCK);
  }

  @Override
  void dot(float[] x, int xOff, int from, int to, float[] acc, int accOff) {
    int bound = F.loopBound(cols);
    int r = from;
    for (; r + 4 <= to; r += 4) { // four rows at a time: four independent streams and accumulators
      FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
      for (int i = 0; i < bound; i += LANES) {
        FloatVector v = FloatVector.fromArray(F, x, xOff + i);
        a0 = load(r, i).fma(v, a0);
        a1 = load(r + 1, i).fma(v, a1);
        a2 = load(r + 2, i).fma(v, a2);
        a3 = load(r + 3, i).fma(v, a3);
      }
      int o = accOff + (r - from) * LANES;
      a0.intoArray(acc, o);
      a1.intoArray(acc, o + LANES);
      a2.intoArray(acc, o + 2 * LANES);
      a3.intoArray(acc, o + 3 * LANES);
    }
    for (; r < to; r++) {
      FloatVector a = FloatVector.zero(F);
      for (int i = 0; i < bound; i += LANES) {
        a = load(r, i).fma(FloatVector.fromArray(F, x, xOff + i), a);
      }
      a.intoArray(acc, accOff + (r - from) * LANES);
    }
  }

  @Override
  void unpack(int from, int to, int c0, int c1, float[] panel, int off) {
    int width = c1 - c0;
    int bound = c0 + F.loopBound(width);
    for (int r = from; r < to; r++) {
      int base = off + (r - from) * width - c0;
      int i = c0;
      for (; i < bound; i += LANES) {
        load(r, i).intoArray(panel, base + i);
      }
      for (; i < c1; i++) {
        panel[base + i] = get(r, i);
      }
    }
  }
}
