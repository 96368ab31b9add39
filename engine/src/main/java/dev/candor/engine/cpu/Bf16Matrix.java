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
    super(rows, cols, LANES);
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
  void dot1(float[] x, int xOff, int r, float[] acc, int a) {
    FloatVector a0 = FloatVector.zero(F);
    for (int i = 0; i < bound; i += LANES) {
      a0 = load(r, i).fma(FloatVector.fromArray(F, x, xOff + i), a0);
    }
    a0.intoArray(acc, a);
  }

  @Override
  void dot4(float[] x, int xOff, int r, int step, float[] acc, int a) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < bound; i += LANES) {
      FloatVector v = FloatVector.fromArray(F, x, xOff + i);
      a0 = load(r, i).fma(v, a0);
      a1 = load(r + step, i).fma(v, a1);
      a2 = load(r + 2 * step, i).fma(v, a2);
      a3 = load(r + 3 * step, i).fma(v, a3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + step * LANES);
    a2.intoArray(acc, a + 2 * step * LANES);
    a3.intoArray(acc, a + 3 * step * LANES);
  }

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
