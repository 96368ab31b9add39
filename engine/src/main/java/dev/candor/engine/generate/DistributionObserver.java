package dev.candor.engine.generate;

import dev.candor.engine.sampling.TokenDistribution;

/** Sees the target's whole distribution at every emitted token, before it is discarded. */
@FunctionalInterface
public interface DistributionObserver {
  void observe(TokenRecord record, TokenDistribution target);
}
