package dev.candor.engine.server;

/**
 * What one request may ask for; each limit, when exceeded, is a 400 that names it.
 *
 * @param maxN choices per prompt
 * @param maxStop stop sequences
 * @param maxStopLength characters of one stop sequence
 * @param maxMessages chat messages
 * @param maxTopLogprobs alternatives per token
 * @param maxPrompts prompts in one completions request
 * @param maxRequestTokens the most tokens one request may ask to process, summed over its choices (prompt plus
 *     max_tokens, or plus the rest of the context window when max_tokens is absent); 0 for 8 context windows
 * @param maxResponseBytes the most bytes a response may be estimated to take (tokens × what logprobs add per token)
 */
public record RequestLimits(int maxN, int maxStop, int maxStopLength, int maxMessages, int maxTopLogprobs,
    int maxPrompts, long maxRequestTokens, long maxResponseBytes) {
  public static final RequestLimits DEFAULT = new RequestLimits(8, 4, 256, 1024, 20, 16, 0, 256L * 1024 * 1024);

  /** The token budget for a model with this context window. */
  long requestTokens(int contextWindow) {
    return maxRequestTokens > 0 ? maxRequestTokens : 8L * contextWindow;
  }

  public RequestLimits withMaxRequestTokens(long tokens) {
    return new RequestLimits(maxN, maxStop, maxStopLength, maxMessages, maxTopLogprobs, maxPrompts, tokens,
        maxResponseBytes);
  }
}
