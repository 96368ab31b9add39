package dev.candor.engine.cpu;

import static dev.candor.engine.cpu.Vectors.F;
import static dev.candor.engine.cpu.Vectors.LANES;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.model.WeightFormat;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * bfloat16 weights, Qwen's own type, used in place from the memory-mapped checkpoint: half the bytes of float32 to
 * stream per token. A bfloat16 is the top half of a float32, so widening one is a shift: 16 of them are loaded as
 * shorts, sign-extended to ints, shifted left by 16 and read as floats, all in registers.
 */
final class Bf16Matrix extends Matrix {
  static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16));
  private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private final MemorySegment data; // [rows * cols] little-endian bfloat16
  private final boolean mapped;

  Bf16Matrix(int rows, int cols, MemorySegment data) {
    super(rows, cols);
    this.data = data;
    this.mapped = data.isMapped();
  }

  @Override
  WeightFormat format() {
    return WeightFormat.BF16;
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
    ShortVector bits = ShortVector.fromMemorySegment(S, data, (row * cols + col) * 2, ByteOrder.LITTLE_ENDIAN);
    return ((IntVector) bits.convertShape(VectorOperators.S2I, Vectors.I, 0)).lanewise(VectorOperators.LSHL, 16)
        .reinterpretAsFloats();
  }

  @Override
  float get(long row, int col) {
    return DType.bf16ToFloat(data.getAtIndex(LE, row * cols + col));
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
