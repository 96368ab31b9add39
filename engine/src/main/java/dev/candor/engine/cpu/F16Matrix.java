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
 * {@link Float#float16ToFloat} does for every finite value, subnormals included: the 15 magnitude bits shifted into a
 * float32's place make a float32 2^112 times too small (exponent bias 127 against 15), so one multiplication by 2^112,
 * exact for a power of two, puts it right (a float16 subnormal becomes the float32 normal it is); then the sign. An
 * infinity or NaN would come out finite, so a matrix holding one is refused at load ({@link #firstNonFinite}); the
 * check for it in every kernel cost a factor of six.
 */
final class F16Matrix extends Matrix {
  private static final VectorSpecies<Short> S = Bf16Matrix.S;
  private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private final MemorySegment data; // [rows * cols] little-endian float16
  private final boolean mapped;

  F16Matrix(int rows, int cols, MemorySegment data) {
    super(rows, cols, LANES);
    this.data = data;
    this.mapped = data.isMapped();
  }

  /** The index of the first infinity or NaN (exponent bits all ones), or -1: a pass over the matrix at load. */
  long firstNonFinite() {
    long n = (long) rows * cols;
    long i = 0;
    for (; i + S.length() <= n; i += S.length()) {
      ShortVector bits = ShortVector.fromMemorySegment(S, data, 2 * i, ByteOrder.LITTLE_ENDIAN);
      if (bits.and((short) 0x7c00).eq((short) 0x7c00).anyTrue()) {
        break;
      }
    }
    for (; i < n; i++) {
      if ((data.getAtIndex(LE, i) & 0x7c00) == 0x7c00) {
        return i;
      }
    }
    return -1;
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
    FloatVector magnitude = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
    return magnitude.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
  }

  @Override
  float get(long row, int col) {
    return Float.float16ToFloat(data.getAtIndex(LE, row * cols + col));
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

  /**
   * Four one-token passes over the same four rows: the first reads them from memory, the others from cache. (A 4 × 4
   * register tile with this widening, twice BF16's operations, was 40 times slower: C2 boxed its vectors.)
   */
  @Override
  void tile4x4(float[] x, int xOff, int xStride, int r, int step, float[] acc, int a, int aStride) {
    for (int j = 0; j < 4; j++) {
      dot4(x, xOff + j * xStride, r, step, acc, a + j * aStride);
    }
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
