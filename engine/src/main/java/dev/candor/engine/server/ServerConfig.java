package dev.candor.engine.server;

import java.nio.file.Path;

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
 * @param probeDir the served probe's directory, whose report and diagrams the web page shows; null without a probe
 */
public record ServerConfig(String host, int port, String apiKey, int maxQueue, int maxBodyBytes,
    long requestTimeoutMillis, RequestParser.Limits limits, boolean logPrompts, Path probeDir) {

  public static ServerConfig defaults(int port) {
    return new ServerConfig("127.0.0.1", port, null, 16, 4 * 1024 * 1024, 300_000, RequestParser.Limits.DEFAULT,
        false, null);
  }

  public ServerConfig withApiKey(String key) {
    return new ServerConfig(host, port, key, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        probeDir);
  }

  public ServerConfig withHost(String h) {
    return new ServerConfig(h, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        probeDir);
  }

  public ServerConfig withMaxQueue(int q) {
    return new ServerConfig(host, port, apiKey, q, maxBodyBytes, requestTimeoutMillis, limits, logPrompts, probeDir);
  }

  public ServerConfig withMaxBodyBytes(int b) {
    return new ServerConfig(host, port, apiKey, maxQueue, b, requestTimeoutMillis, limits, logPrompts, probeDir);
  }

  public ServerConfig withLogPrompts(boolean log) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, log, probeDir);
  }

  public ServerConfig withRequestTimeoutMillis(long t) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, t, limits, logPrompts, probeDir);
  }

  public ServerConfig withProbeDir(Path dir) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts, dir);
  }
}
