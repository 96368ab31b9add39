package dev.candor.engine.confidence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GeluTest {
  @Test
  void erfMatchesPublishedValues() {
    // erf at 0.5, 1, 2, 3 and Φ(1), to the digits of Abramowitz & Stegun's tables (and scipy.special.erf)
    assertEquals(0.5204998778130465, Gelu.erf(0.5), 5e-15);
    assertEquals(0.8427007929497149, Gelu.erf(1), 5e-15);
    assertEquals(-0.8427007929497149, Gelu.erf(-1), 5e-15);
    assertEquals(0.9953222650189527, Gelu.erf(2), 5e-15);
    assertEquals(0.9999779095030014, Gelu.erf(3), 5e-15);
    assertEquals(0.8413447460685429, Gelu.gelu(1), 5e-15);
    assertEquals(0, Gelu.erf(0));
  }

  @Test
  void tableAgreesWithTheSeriesEverywhere() {
    double worst = 0;
    for (int i = -80_000; i <= 80_000; i++) {
      double x = i / 10_000.0; // every interval, both signs, and past the table's end at 6
      worst = Math.max(worst, Math.abs(Gelu.erf(x) - Gelu.erfReference(x)));
    }
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 200_000; i++) {
      double x = random.nextDouble(-7, 7);
      worst = Math.max(worst, Math.abs(Gelu.erf(x) - Gelu.erfReference(x)));
    }
    assertTrue(worst < 5e-15, "max |table − series| " + worst);
  }

  @Test
  void endsAndNonFiniteInputs() {
    assertEquals(1, Gelu.erf(6));
    assertEquals(-1, Gelu.erf(-40));
    assertEquals(1, Gelu.erf(Double.POSITIVE_INFINITY));
    assertEquals(-1, Gelu.erf(Double.NEGATIVE_INFINITY));
    assertTrue(Double.isNaN(Gelu.erf(Double.NaN)));
    assertEquals(9, Gelu.gelu(9));
    assertEquals(0, Gelu.gelu(-40), 0);
    assertTrue(Gelu.erf(5.999999) <= 1 && Gelu.erf(5.999999) > 1 - 1e-15);
    assertEquals(-Gelu.erf(0.01), Gelu.erf(-0.01));
    assertEquals(2 / Math.sqrt(Math.PI) * 1e-9, Gelu.erf(1e-9), 1e-24);
  }

  @Test
  void monotoneAcrossIntervalEdges() {
    for (int k = 1; k < 96; k++) {
      double edge = k / 16.0;
      double below = Math.nextDown(edge);
      assertTrue(Gelu.erf(below) <= Gelu.erf(edge) + 5e-15, "erf steps down at " + edge);
    }
  }
}
