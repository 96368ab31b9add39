package dev.candor.engine.generate;

/** Why a generation ended, with OpenAI's names plus Candor's confidence circuit breaker. */
public enum FinishReason {
  /** An end-of-sequence token or a stop sequence. */
  STOP,
  /** max_tokens, or the context window, was reached. */
  LENGTH,
  /** The client's confidence circuit breaker tripped. */
  LOW_CONFIDENCE,
  /** The client went away or the request was cancelled. */
  CANCELLED;

  public String apiName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
