package dev.candor.engine.server;

import dev.candor.engine.confidence.ConfidenceBreaker;
import dev.candor.engine.confidence.Consistency;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.TokenRecord;
import java.util.List;

/** What a generation job tells the HTTP thread that serves its client, in order. */
sealed interface Events {
  /** Echoed prompt text (completions with echo) and, with logprobs, the prompt tokens' records (first without one). */
  record Echo(int choice, String text, List<TokenRecord> records, List<Integer> offsets) implements Events {}

  /** New output of one choice: the records released and the text they spell. */
  record Released(int choice, List<TokenRecord> records, List<Integer> offsets, String text) implements Events {}

  /**
   * A choice finished (breaker: what the confidence breaker saw, or null when none was asked for; consistency: its
   * agreement with the prompt's samples, or null when none were asked for).
   */
  record Finished(int choice, GenerationResult result, ConfidenceBreaker.Report breaker, ConsistencyScore consistency)
      implements Events {}

  /** A choice's agreement with its prompt's consistency samples, their temperature and the tokens they took. */
  record ConsistencyScore(Consistency.Result agreement, double temperature, int sampleTokens) {}

  /** The whole request finished; no more events. */
  record Done(int promptTokens, int completionTokens, int cachedTokens) implements Events {}

  /** The request failed; no more events. */
  record Failed(ApiException error) implements Events {}
}
