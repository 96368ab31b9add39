package dev.candor.engine.confidence;

import dev.candor.engine.generate.FinishReason;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.TokenRecord;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * The confidence circuit breaker: generation stops right after the token at which the mean p(correct) of the last
 * {@code window} measured tokens falls below {@code threshold} (finish reason {@code low_confidence}). It watches
 * every emitted token in output order, inside the decode loop, so with a drafter it stops at the same token as
 * without one: a step that settled several tokens at once emits none past the trip.
 *
 * <p>A token without a measurement (p_correct NaN: no hidden state for a probe) does not count. Until {@code window}
 * tokens were measured there is nothing to judge: the report's window mean is then NaN ("nothing measured"), never a
 * low confidence.
 *
 * <p>A {@link Selection} can restrict it to some tokens, e.g. a thinking model's answer and not its reasoning. A token
 * whose kind is known only after later tokens (the start of a reply that may open a think block) is measured when it
 * is known; should that trip the breaker, it stops after the token that made it known.
 */
public final class ConfidenceBreaker implements GenerationRequest.TokenWatcher {
  /**
   * What the breaker saw.
   *
   * @param window tokens averaged
   * @param threshold trip below this mean
   * @param tripped whether it tripped
   * @param trippedAt the output index of the token it tripped at, -1 if it did not
   * @param windowMean the mean p(correct) of the last full window (at the trip, or at the end); NaN when fewer than
   *     window tokens were measured
   * @param measured tokens with a p(correct)
   */
  public record Report(int window, double threshold, boolean tripped, int trippedAt, double windowMean, int measured) {}

  /** Which emitted tokens the breaker measures. */
  @FunctionalInterface
  public interface Selection {
    /** Every token. */
    Selection ALL = record -> List.of(record);

    /**
     * The tokens to measure now that {@code record} was emitted, in output order: it alone, or none, or it with
     * earlier ones whose kind it decided.
     */
    List<TokenRecord> measured(TokenRecord record);
  }

  private final int window;
  private final double threshold;
  private final Selection selection;
  private final Deque<Double> last = new ArrayDeque<>();
  private int measured;
  private boolean tripped;
  private double windowMean = Double.NaN;
  private int trippedAt = -1;

  public ConfidenceBreaker(int window, double threshold) {
    this(window, threshold, Selection.ALL);
  }

  /** Measuring only the tokens {@code selection} picks. */
  public ConfidenceBreaker(int window, double threshold, Selection selection) {
    if (window < 1) {
      throw new IllegalArgumentException("breaker window must be at least 1, got " + window);
    }
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new IllegalArgumentException("breaker threshold must lie in [0, 1], got " + threshold);
    }
    this.window = window;
    this.threshold = threshold;
    this.selection = selection;
  }

  @Override
  public FinishReason afterToken(TokenRecord record) {
    if (tripped) {
      return FinishReason.LOW_CONFIDENCE;
    }
    for (TokenRecord r : selection.measured(record)) {
      if (measure(r.pCorrect())) {
        tripped = true;
        trippedAt = record.index();
        return FinishReason.LOW_CONFIDENCE;
      }
    }
    return null;
  }

  /** Adds one token's p(correct) to the window; whether the window's mean is now below the threshold. */
  private boolean measure(double p) {
    if (Double.isNaN(p)) {
      return false;
    }
    measured++;
    last.addLast(p);
    if (last.size() > window) {
      last.removeFirst();
    }
    if (last.size() < window) {
      return false;
    }
    double sum = 0; // summed afresh each token (at most 4096 values): no drift from a running sum
    for (double q : last) {
      sum += q;
    }
    windowMean = sum / window;
    return windowMean < threshold;
  }

  public Report report() {
    return new Report(window, threshold, tripped, trippedAt, windowMean, measured);
  }
}
