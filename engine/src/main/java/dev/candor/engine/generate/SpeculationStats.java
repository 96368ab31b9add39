package dev.candor.engine.generate;

import java.util.List;

/**
 * What one response's decoding did, per token and per step.
 *
 * <p>Token counts ({@code nTokens}, {@code nAccepted}, {@code nResampled}, {@code nBonus}, {@code nTarget}) are over
 * the emitted tokens and sum to {@code nTokens}. {@code nDrafted} and {@code drafterAcceptance} are over the
 * verifier's decisions: every token the drafter proposed, and the fraction the target accepted (drafts past the end
 * of the output count too). {@code coverage} is the fraction of emitted tokens that carry a target distribution,
 * counted from the records (1.0 by construction; NaN when nothing was emitted). {@code acceptedPerStep[a]} counts the
 * verification steps that accepted exactly a drafted tokens.
 */
public record SpeculationStats(
    int nTokens, int nDrafted, int nAccepted, int nResampled, int nBonus, int nTarget, double drafterAcceptance,
    double coverage, int steps, int[] acceptedPerStep) {

  static SpeculationStats of(List<TokenRecord> tokens, int drafted, int acceptedDecisions, int steps, int[] histogram) {
    int accepted = 0;
    int resampled = 0;
    int bonus = 0;
    int target = 0;
    int measured = 0;
    for (TokenRecord r : tokens) {
      switch (r.source()) {
        case ACCEPTED -> accepted++;
        case RESAMPLED -> resampled++;
        case BONUS -> bonus++;
        case TARGET -> target++;
      }
      if (Double.isFinite(r.rawLogprob()) && Double.isFinite(r.entropy())) {
        measured++;
      }
    }
    double coverage = tokens.isEmpty() ? Double.NaN : (double) measured / tokens.size();
    double acceptance = drafted == 0 ? Double.NaN : (double) acceptedDecisions / drafted;
    return new SpeculationStats(tokens.size(), drafted, accepted, resampled, bonus, target, acceptance, coverage, steps,
        histogram);
  }
}
