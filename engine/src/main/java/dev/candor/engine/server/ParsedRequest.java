package dev.candor.engine.server;

import dev.candor.engine.grammar.TokenAutomaton;
import dev.candor.engine.sampling.LogitAdjustments;
import java.util.List;

/**
 * A validated completion or chat request, in the engine's terms.
 *
 * @param chat a /v1/chat/completions request
 * @param prompts token ids of each prompt (chat: exactly one, the rendered conversation)
 * @param promptTexts each prompt's text (for echo)
 * @param n choices per prompt
 * @param maxTokens the most tokens per choice, or null for "up to the context window"
 * @param sampling temperature, top-p, top-k and the logit adjustments, the request's or the server's defaults
 * @param seed the request's seed, or null for a random one
 * @param stop stop sequences
 * @param stream server-sent events
 * @param includeUsage a usage chunk before [DONE]
 * @param logprobs whether logprobs are returned
 * @param topLogprobs alternatives per token
 * @param echo completions: prepend the prompt (and its logprobs)
 * @param rawLogprobs report logprobs of the raw distribution (the default, as vLLM's) instead of the one sampled
 *     from ({@code "logprobs_mode": "processed"})
 * @param skipSpecialTokens leave special tokens' text out of the returned text (they stay in logprobs)
 * @param ignoreEos generate past end-of-sequence tokens (vLLM's, for benchmarks)
 * @param minTokens no end-of-sequence token before this many tokens (vLLM's)
 * @param confidence include the confidence extension
 * @param breaker the confidence circuit breaker, or null
 * @param constraint the grammar every choice follows (response_format, forced tool calls), or null
 * @param reply how a chat reply is read back (reasoning, tool calls); {@link Reply#PLAIN} for completions
 * @param consistency self-consistency samples to score each choice against, or null for none
 */
record ParsedRequest(
    boolean chat,
    List<int[]> prompts,
    List<String> promptTexts,
    int n,
    Integer maxTokens,
    Sampling sampling,
    Long seed,
    List<String> stop,
    boolean stream,
    boolean includeUsage,
    boolean logprobs,
    int topLogprobs,
    boolean echo,
    boolean rawLogprobs,
    boolean skipSpecialTokens,
    boolean ignoreEos,
    int minTokens,
    boolean confidence,
    Breaker breaker,
    TokenAutomaton constraint,
    Reply reply,
    Consistency consistency) {

  /**
   * How tokens are drawn.
   *
   * @param temperature sampling temperature (0 = greedy; anything under 1e-5 is taken as 0, as vLLM does)
   * @param topP nucleus
   * @param topK top-k (0 = off)
   * @param adjustments repetition, presence and frequency penalties and the logit bias
   */
  record Sampling(double temperature, double topP, int topK, LogitAdjustments adjustments) {}

  /**
   * Stop generating when the mean p(correct) of the last {@code window} tokens falls below {@code threshold}; with a
   * {@code phase}, of that phase's tokens only (null: every token).
   */
  record Breaker(int window, double threshold, Phase phase) {}

  /**
   * {@code "confidence": {"method": "consistency", "samples": N, "temperature": T}}: besides each choice, N samples of
   * the same prompt at temperature T (not returned), and each line of the choice scored by how many of them agree with
   * it (see {@link dev.candor.engine.confidence.Consistency}).
   */
  record Consistency(int samples, double temperature) {
    static final int MAX_SAMPLES = 16;
  }
}
