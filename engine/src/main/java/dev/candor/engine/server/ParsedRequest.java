package dev.candor.engine.server;

import java.util.List;

/**
 * A validated completion or chat request, in the engine's terms.
 *
 * @param chat a /v1/chat/completions request
 * @param prompts token ids of each prompt (chat: exactly one, the rendered conversation)
 * @param promptTexts each prompt's text (for echo)
 * @param n choices per prompt
 * @param maxTokens the most tokens per choice, or null for "up to the context window"
 * @param temperature sampling temperature (0 = greedy)
 * @param topP nucleus
 * @param topK top-k (extension; 0 = off)
 * @param seed the request's seed, or null for a random one
 * @param stop stop sequences
 * @param stream server-sent events
 * @param includeUsage a usage chunk before [DONE]
 * @param logprobs whether logprobs are returned
 * @param topLogprobs alternatives per token
 * @param echo completions: prepend the prompt (and its logprobs)
 * @param rawLogprobs report logprobs of the raw distribution instead of the sampling one (extension)
 * @param confidence include the confidence extension
 * @param breaker the confidence circuit breaker, or null
 */
record ParsedRequest(
    boolean chat,
    List<int[]> prompts,
    List<String> promptTexts,
    int n,
    Integer maxTokens,
    double temperature,
    double topP,
    int topK,
    Long seed,
    List<String> stop,
    boolean stream,
    boolean includeUsage,
    boolean logprobs,
    int topLogprobs,
    boolean echo,
    boolean rawLogprobs,
    boolean confidence,
    Breaker breaker) {

  /**
   * Stop generating when the mean p(correct) of the last {@code window} tokens falls below {@code threshold}.
   */
  record Breaker(int window, double threshold) {}
}
