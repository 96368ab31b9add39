package dev.candor.engine.confidence;

import dev.candor.engine.generate.TokenRecord;
import java.util.List;

/**
 * Turns emitted tokens into probabilities of being correct, for one token, a set of tokens (a line), and the whole
 * response. Three implementations: the raw token probability (what the model believes, not calibrated); a trained,
 * Platt-scaled probe on middle-layer hidden states (Gros &amp; Devanbu), which needs the tap hidden state on each
 * record; and a probe whose lines are scored by a stack of probes over several taps ({@link StackedProbe}).
 */
public interface ConfidenceModel {
  /**
   * What a probe directory serves: its {@link StackedProbe} when it holds one, else its {@link Probe}; the model it
   * was trained on is not checked (tests and tools; the server checks it, {@code cli/Probes}).
   */
  static ConfidenceModel load(java.nio.file.Path dir) {
    return StackedProbe.isStack(dir) ? StackedProbe.load(dir) : Probe.load(dir, null);
  }

  /** The API's {@code confidence.method}: "token_prob" or "probe". */
  String method();

  /**
   * The target hidden states this model reads from each record (Hugging Face indices; empty for none): a record's
   * {@code hidden} holds them concatenated in this order.
   */
  int[] taps();

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

  /**
   * p(correct) of a response's line whose index among the response's code lines (its non-blank lines,
   * {@link Lines#code}) is {@code index}: what a model that knows where a line stands scores; the others ignore it.
   */
  default double line(List<TokenRecord> records, int index) {
    return line(records);
  }

  /** What the API's {@code confidence.note} says about this model's numbers. */
  default String note() {
    return "Platt-scaled probe on hidden states: a calibrated probability that the token, line, or response is correct";
  }

  /** p(correct) of the whole response; NaN when there is nothing to measure. */
  double response(List<TokenRecord> records);
}
