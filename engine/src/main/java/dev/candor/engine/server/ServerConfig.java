package dev.candor.engine.server;

/**
 * How the server runs.
 *
 * @param host address to bind (loopback by default)
 * @param port TCP port (0 picks a free one)
 * @param apiKey bearer token every request must carry, or null for none
 * @param maxQueue requests waiting for the worker before new ones get 429
 * @param maxBodyBytes largest request body accepted (413 beyond)
 * @param requestTimeoutMillis wall-clock limit of one request, queueing included; generation stops with "length"
 * @param limits per-request limits on n, stop, messages, top_logprobs, prompts
 * @param logPrompts log each request's prompt text (off by default: prompts are the user's data)
 */
public record ServerConfig(String host, int port, String apiKey, int maxQueue, int maxBodyBytes,
    long requestTimeoutMillis, RequestParser.Limits limits, boolean logPrompts) {

  public static ServerConfig defaults(int port) {
    return new ServerConfig("127.0.0.1", port, null, 16, 4 * 1024 * 1024, 300_000, RequestParser.Limits.DEFAULT,
        false);
  }

  public ServerConfig withApiKey(String key) {
    return new ServerConfig(host, port, key, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts);
  }

  public ServerConfig withHost(String h) {
    return new ServerConfig(h, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts);
  }

  public ServerConfig withMaxQueue(int q) {
    return new ServerConfig(host, port, apiKey, q, maxBodyBytes, requestTimeoutMillis, limits, logPrompts);
  }

  public ServerConfig withMaxBodyBytes(int b) {
    return new ServerConfig(host, port, apiKey, maxQueue, b, requestTimeoutMillis, limits, logPrompts);
  }

  public ServerConfig withLogPrompts(boolean log) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, log);
  }

  public ServerConfig withRequestTimeoutMillis(long t) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, t, limits, logPrompts);
  }
}
