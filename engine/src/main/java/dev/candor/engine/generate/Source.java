package dev.candor.engine.generate;

/**
 * Which path produced an emitted token, in vLLM's vocabulary (Leviathan et al. 2023, Chen et al. 2023). Whatever the
 * path, the target's distribution at that position is known: it is what verification computes.
 */
public enum Source {
  /** Proposed by the drafter and accepted by the target's verification. */
  ACCEPTED,
  /** The target rejected the drafter's token and drew this one from the residual max(0, target − draft). */
  RESAMPLED,
  /** All drafted tokens were accepted; this one was drawn from the target at the position after them. */
  BONUS,
  /** Plain decoding, no drafter. */
  TARGET;

  public String apiName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
