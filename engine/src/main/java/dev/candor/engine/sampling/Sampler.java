package dev.candor.engine.sampling;

import java.util.SplittableRandom;

/**
 * Draws tokens from {@link TokenDistribution}s with a generator seeded once per request, so a seeded run is
 * reproducible. Greedy decoding takes the argmax and consumes no randomness.
 */
public final class Sampler {
  private final SplittableRandom random;

  public Sampler(long seed) {
    this.random = new SplittableRandom(seed);
  }

  public int sample(TokenDistribution distribution) {
    if (distribution.params().isGreedy()) {
      return distribution.argmax();
    }
    return inverseCdf(distribution, random.nextDouble());
  }

  /** A uniform draw in [0, 1), for the accept/reject coin of speculative decoding. */
  public double uniform() {
    return random.nextDouble();
  }

  /** The first token whose cumulative sampling probability exceeds u. */
  static int inverseCdf(TokenDistribution distribution, double u) {
    int vocab = distribution.vocabSize();
    double cumulative = 0;
    int last = -1;
    for (int i = 0; i < vocab; i++) {
      double p = distribution.samplingProb(i);
      if (p > 0) {
        cumulative += p;
        last = i;
        if (u < cumulative) {
          return i;
        }
      }
    }
    return last; // u landed in float rounding slack past the end
  }

  /** Samples from an explicit probability vector (need not be normalised), as the rejection step's residual needs. */
  public int sample(float[] weights) {
    double total = 0;
    for (float w : weights) {
      total += w;
    }
    double u = random.nextDouble() * total;
    double cumulative = 0;
    int last = -1;
    for (int i = 0; i < weights.length; i++) {
      if (weights[i] > 0) {
        cumulative += weights[i];
        last = i;
        if (u < cumulative) {
          return i;
        }
      }
    }
    return last;
  }
}
