package dev.candor.engine.sampling;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp and lane sums that give the same bits interpreted and compiled. The Vector API leaves the order of
 * {@code reduceLanes(ADD)} to the implementation and computes {@code lanewise(EXP)} with an intrinsic once C2
 * compiles it, so a record differed in the last bits between a cold server's first request and a warm one's (issue
 * 20: logprobs up to 2.4e-7 apart). Here both are built from operations IEEE 754 rounds exactly (add, mul, fma, exact
 * integer conversion and bit operations), in a fixed order, so every tier agrees; the scalar form is the same
 * arithmetic lane by lane, so a vector lane and a loop's tail agree too.
 *
 * <p>exp follows Cephes' expf: x = n ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 split in two for an exact reduction), e^r by
 * a degree-6 polynomial (relative error under 2 ulp on that range), and 2^n put into the exponent bits. It is defined
 * here for x ≤ 0, where it is used (logits minus their maximum); below -87.33 it returns 0.
 */
final class VectorMath {
  static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, SPECIES.vectorShape());

  private static final float LOG2E = 1.44269504088896341f;
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;
  private static final float LOWEST = -87.33654f; // e^LOWEST is the smallest normal float: below it, 0
  private static final float[] POLY = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f, 4.1665795894E-2f,
      1.6666665459E-1f, 5.0000001201E-1f};

  /** Lane i with lane i ^ step, for step = lanes / 2, ..., 1: a fixed tree of lane-wise additions. */
  @SuppressWarnings("unchecked")
  private static final VectorShuffle<Float>[] FOLDS = java.util.stream.IntStream
      .iterate(SPECIES.length() / 2, step -> step >= 1, step -> step / 2)
      .mapToObj(step -> VectorShuffle.fromOp(SPECIES, i -> i ^ step)).toArray(VectorShuffle[]::new);

  private VectorMath() {}

  /** e^x for each lane x ≤ 0. */
  static FloatVector exp(FloatVector x) {
    FloatVector clamped = x.max(LOWEST);
    // n = round(x log2 e), toward +inf on ties: x ≤ 0, so truncating x log2 e - 0.5 rounds it
    IntVector n = (IntVector) clamped.mul(LOG2E).sub(0.5f).convert(VectorOperators.F2I, 0);
    FloatVector nf = (FloatVector) n.convert(VectorOperators.I2F, 0);
    FloatVector r = clamped.sub(nf.mul(LN2_HI)).sub(nf.mul(LN2_LO));
    FloatVector p = FloatVector.broadcast(SPECIES, POLY[0]);
    for (int i = 1; i < POLY.length; i++) {
      p = p.fma(r, FloatVector.broadcast(SPECIES, POLY[i]));
    }
    FloatVector er = p.mul(r.mul(r)).add(r).add(1f);
    FloatVector scale = (FloatVector) n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    return er.mul(scale).blend(0f, x.compare(VectorOperators.LT, LOWEST));
  }

  /** e^x for x ≤ 0: the same arithmetic as one lane of {@link #exp(FloatVector)}. */
  static float exp(float x) {
    float clamped = Math.max(x, LOWEST);
    int n = (int) (clamped * LOG2E - 0.5f);
    float nf = n;
    float r = clamped - nf * LN2_HI - nf * LN2_LO;
    float p = POLY[0];
    for (int i = 1; i < POLY.length; i++) {
      p = Math.fma(p, r, POLY[i]);
    }
    float er = p * (r * r) + r + 1f;
    float scale = Float.intBitsToFloat((n + 127) << 23);
    return x < LOWEST ? 0f : er * scale;
  }

  /** The lanes of {@code v} added in a fixed order (a tree of lane-wise additions). */
  static float sum(FloatVector v) {
    for (VectorShuffle<Float> fold : FOLDS) {
      v = v.add(v.rearrange(fold));
    }
    return v.lane(0);
  }
}
