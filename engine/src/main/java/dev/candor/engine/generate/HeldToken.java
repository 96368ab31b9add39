package dev.candor.engine.generate;

import dev.candor.engine.sampling.TokenDistribution;

/**
 * The token that closes a decode step, when a probe wants hidden states: a token's hidden state is the one at its own
 * position, which only the next forward computes (that forward feeds the token), so the record waits one step for it.
 * Emitting it is the first thing the next step does; a generation that ends early emits it too (after one last
 * forward for its hidden state when the cache has room), so no token is ever dropped.
 */
final class HeldToken {
  private TokenRecord record; // waiting for its hidden state, or null
  private TokenDistribution distribution; // the target's distribution it was drawn from

  boolean isEmpty() {
    return record == null;
  }

  void hold(TokenRecord record, TokenDistribution distribution) {
    if (this.record != null) {
      throw new IllegalStateException("a token is already held");
    }
    this.record = record;
    this.distribution = distribution;
  }

  TokenDistribution distribution() {
    return distribution;
  }

  /** The held record with its hidden state (null when none could be computed); nothing is held afterwards. */
  TokenRecord take(float[] hidden) {
    TokenRecord r = hidden == null ? record : record.withHidden(hidden);
    record = null;
    distribution = null;
    return r;
  }
}
