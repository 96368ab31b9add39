package dev.candor.engine.cpu;

import static dev.candor.engine.cpu.Vectors.F;
import static dev.candor.engine.cpu.Vectors.LANES;

import dev.candor.engine.model.WeightFormat;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * float16 weights, used in place from the memory-mapped checkpoint. Widened in registers exactly as
 * {@link Float#float16ToFloat} does, subnormals included: the 15 magnitude bits shifted into a float32's place make a
 * float32 2^112 times too small (exponent bias 127 against 15), so one multiplication by 2^112, exact for a power of
 * two, puts it right (a float16 subnormal becomes the float32 normal it is); infinities and NaNs, whose exponent is all
 * ones, get the float32 all-ones exponent instead; then the sign.
 */
final class F16Matrix extends Matrix {
  private static final VectorSpecies<Short> S = Bf16Matrix.S;
  private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private final MemorySegment data; // [rows * cols] little-endian float16
  private final boolean mapped;

  F16Matrix(int rows, int cols, MemorySegment data) {
    super(rows, cols);
    this.data = data;
    this.mapped = data.isMapped();
  }

  @Override
  WeightFormat format() {
    return WeightFormat.F16;
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
    IntVector h = (IntVector) bits.convertShape(VectorOperators.S2I, Vectors.I, 0);
    IntVector magnitude = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
    IntVector widened = magnitude.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
        .blend(magnitude.or(0x7f80_0000), h.and(0x7c00).eq(0x7c00));
    return widened.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
  }

  @Override
  float get(long row, int col) {
    return Float.float16ToFloat(data.getAtIndex(LE, row * cols + col));
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
