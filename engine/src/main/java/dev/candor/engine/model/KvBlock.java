package dev.candor.engine.model;

/**
 * A copy of some consecutive positions of a sequence's KV cache (every layer's keys and values there), taken by
 * {@link Sequence#copyOut} and appended to another sequence of the same backend by {@link Sequence#append}: how a
 * prompt prefix computed for one request is reused by the next. A block is immutable once taken.
 */
public interface KvBlock {
  /** Positions it holds. */
  int positions();

  /** Memory it takes. */
  long bytes();
}
