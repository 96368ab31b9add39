package dev.candor.engine.generate;

import dev.candor.engine.sampling.TokenDistribution;

/**
 * What a drafter proposes: k tokens and the drafter's distribution each was drawn from (the verifier needs draft(x)).
 *
 * @param tokens the drafted tokens, in order
 * @param distributions the drafter's distribution at each drafted position
 */
public record Draft(int[] tokens, TokenDistribution[] distributions) {
  public static final Draft EMPTY = new Draft(new int[0], new TokenDistribution[0]);

  public int size() {
    return tokens.length;
  }
}
