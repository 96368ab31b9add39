package dev.candor.engine.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.candor.engine.model.Forward;
import dev.candor.engine.sampling.LogitSummary;

/** Assertions on {@link Forward}s, shared by the backends' batched-forward tests. */
public final class Forwards {
  private Forwards() {}

  /**
   * {@code actual} holds exactly the bits of {@code expected}: the same kind of rows (logits or summaries), every
   * logit, every summary's argmax, log partition, entropy and top tokens and logits, every tap.
   */
  public static void assertIdentical(Forward expected, Forward actual, String what) {
    if (expected.summaries() != null) {
      assertEquals(null, actual.logits(), what);
      assertEquals(expected.summaries().length, actual.summaries().length, what);
      for (int r = 0; r < expected.summaries().length; r++) {
        LogitSummary s = expected.summaries()[r], t = actual.summaries()[r];
        assertEquals(s.argmax(), t.argmax(), what);
        assertEquals(Double.doubleToRawLongBits(s.logPartition()), Double.doubleToRawLongBits(t.logPartition()), what);
        assertEquals(Double.doubleToRawLongBits(s.entropy()), Double.doubleToRawLongBits(t.entropy()), what);
        assertArrayEquals(s.topTokens(), t.topTokens(), what);
        assertArrayEquals(s.topLogits(), t.topLogits(), 0f, what);
      }
    } else {
      assertEquals(null, actual.summaries(), what);
      assertEquals(expected.logits().length, actual.logits().length, what);
      for (int r = 0; r < expected.logits().length; r++) {
        assertArrayEquals(expected.logits()[r], actual.logits()[r], 0f, what + ", row " + r);
      }
    }
    assertEquals(expected.taps().length, actual.taps().length, what);
    for (int i = 0; i < expected.taps().length; i++) {
      for (int p = 0; p < expected.taps()[i].length; p++) {
        assertArrayEquals(expected.taps()[i][p], actual.taps()[i][p], 0f, what + ", tap " + i + " position " + p);
      }
    }
  }
}
