package dev.candor.engine.server;

/**
 * Where a thinking model's token falls: in its reasoning (the {@code <think>…</think>} block the reply opens with) or
 * in its answer. A model that does not think has only an answer.
 */
enum Phase {
  REASONING("reasoning"),
  ANSWER("answer");

  /** The API's name: {@code confidence.tokens[].phase}, {@code confidence.phases.*}, the breaker's {@code phase}. */
  final String apiName;

  Phase(String apiName) {
    this.apiName = apiName;
  }

  static Phase of(String apiName) {
    for (Phase p : values()) {
      if (p.apiName.equals(apiName)) {
        return p;
      }
    }
    return null;
  }
}
