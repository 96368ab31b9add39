package dev.candor.engine.confidence;

import dev.candor.engine.generate.TokenRecord;
import java.util.List;

/**
 * Turns emitted tokens into probabilities of being correct, for one token, a set of tokens (a line), and the whole
 * response. Two implementations: the raw token probability (what the model believes, not calibrated), and a trained,
 * Platt-scaled probe on middle-layer hidden states (Gros &amp; Devanbu), which needs the tap hidden state on each
 * record.
 */
public interface ConfidenceModel {
  /** The API's {@code confidence.method}: "token_prob" or "probe". */
  String method();

  /** The target hidden state this model reads from each record (Hugging Face index), or -1 for none. */
  int tap();

  /**
   * The drafter hidden state this model reads at each emitted token's position (Hugging Face index), or -1 for none
   * (a probe trained on the drafter's states; the generator does not supply them yet).
   */
  default int drafterTap() {
    return -1;
  }

  /** p(correct) of one token. */
  double token(TokenRecord record);

  /** p(correct) of one line's tokens; NaN when there is nothing to measure (a probe: a blank line). */
  double line(List<TokenRecord> records);

  /** p(correct) of the whole response; NaN when there is nothing to measure. */
  double response(List<TokenRecord> records);
}
