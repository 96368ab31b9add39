package dev.candor.engine.cpu;

import static dev.candor.engine.cpu.Vectors.F;
import static dev.candor.engine.cpu.Vectors.LANES;

import dev.candor.engine.model.WeightFormat;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/** float32 weights, read where they lie (a memory-mapped safetensors tensor, or memory of a conversion). */
final class F32Matrix extends Matrix {
  private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private final MemorySegment data; // [rows * cols] little-endian float32
  private final boolean mapped;

  F32Matrix(int rows, int cols, MemorySegment data) {
    super(rows, cols);
    this.data = data;
    this.mapped = data.isMapped();
  }

  @Override
  WeightFormat format() {
    return WeightFormat.F32;
  }

  @Override
  long bytes() {
    return data.byteSize();
  }

  @Override
  boolean mapped() {
    return mapped;
  }

  private FloatVector load(long row, int col) {
    return FloatVector.fromMemorySegment(F, data, (row * cols + col) * 4, ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  float get(long row, int col) {
    return data.getAtIndex(LE, row * cols + col);
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
    for (int r = from; r < to; r++) {
      MemorySegment.copy(data, LE, ((long) r * cols + c0) * 4, panel, off + (r - from) * width, width);
    }
  }
}
