package dev.candor.engine.confidence;

import dev.candor.engine.generate.TokenRecord;
import java.util.List;

/**
 * The baseline: a token's p(correct) is the target's raw probability of it, exp(raw logprob); a line's or a
 * response's is the minimum over its tokens (a chain is as sure as its weakest link). Uncalibrated: raw token
 * probabilities are known to be poorly calibrated (Gros &amp; Devanbu report AUC ≈ 0.55 and negative skill at the line
 * level), which is why the probe exists.
 */
public final class TokenProbability implements ConfidenceModel {
  @Override
  public String method() {
    return "token_prob";
  }

  @Override
  public String note() {
    return "raw token probability from the model, not a calibrated estimate; load a probe (--probe) for one";
  }

  @Override
  public int[] taps() {
    return new int[0];
  }

  @Override
  public double token(TokenRecord record) {
    return Math.exp(record.rawLogprob());
  }

  @Override
  public double line(List<TokenRecord> records) {
    return min(records);
  }

  @Override
  public double response(List<TokenRecord> records) {
    return min(records);
  }

  private double min(List<TokenRecord> records) {
    double min = Double.NaN;
    for (TokenRecord r : records) {
      double p = token(r);
      min = Double.isNaN(min) ? p : Math.min(min, p);
    }
    return min;
  }
}
