package dev.candor.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The deterministic exp against Math.exp, and its vector lanes against its scalar form. */
class VectorMathTest {
  @Test
  void expIsWithinTwoUlpsOfMathExpAndZeroBelowTheNormalRange() {
    SplittableRandom r = new SplittableRandom(3);
    double worst = 0;
    for (int i = 0; i < 200_000; i++) {
      float x = (float) (-r.nextDouble() * (i % 2 == 0 ? 87.3 : 3));
      float exact = (float) Math.exp(x);
      float got = VectorMath.exp(x);
      worst = Math.max(worst, Math.abs(got - exact) / Math.ulp(exact));
    }
    assertTrue(worst <= 2, "worst error " + worst + " ulp");
    assertEquals(1f, VectorMath.exp(0f));
    assertEquals(0f, VectorMath.exp(-88f));
    assertEquals(0f, VectorMath.exp(-1e30f));
  }

  @Test
  void everyLaneEqualsTheScalarForm() {
    int lanes = VectorMath.SPECIES.length();
    float[] x = new float[lanes * 1000];
    SplittableRandom r = new SplittableRandom(5);
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (-r.nextDouble() * 100);
    }
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i += lanes) {
      VectorMath.exp(FloatVector.fromArray(VectorMath.SPECIES, x, i)).intoArray(out, i);
    }
    for (int i = 0; i < x.length; i++) {
      assertEquals(Float.floatToIntBits(VectorMath.exp(x[i])), Float.floatToIntBits(out[i]), "x = " + x[i]);
    }
  }
}
