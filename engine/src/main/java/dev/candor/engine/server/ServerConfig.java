package dev.candor.engine.server;

import java.util.List;

/**
 * How the server runs.
 *
 * @param host address to bind (loopback by default)
 * @param port TCP port (0 picks a free one)
 * @param apiKey bearer token every request must carry, or null for none
 * @param maxQueue requests waiting for the worker before new ones get 429
 * @param maxBodyBytes largest request body accepted (413 beyond)
 * @param requestTimeoutMillis wall-clock limit of one request, queueing included; generation stops with "length"
 * @param limits per-request limits on n, stop, messages, top_logprobs, prompts and the work a request may ask for
 * @param logPrompts log each request's prompt text (off by default: prompts are the user's data)
 * @param allowedHosts Host header names accepted besides the server's own (localhost, 127.0.0.1, [::1], the bound
 *     address); "*" accepts any. Refusing other names defeats DNS rebinding against a loopback server.
 * @param allowedOrigins browser origins (scheme://host[:port]) allowed to call the API cross-origin (CORS); none by
 *     default, "*" for any. A same-origin page (the server's own) needs no entry.
 * @param accessLog where the access log goes (one line per request), or null for none
 */
public record ServerConfig(String host, int port, String apiKey, int maxQueue, int maxBodyBytes,
    long requestTimeoutMillis, RequestLimits limits, boolean logPrompts, List<String> allowedHosts,
    List<String> allowedOrigins, java.io.PrintStream accessLog) {

  public ServerConfig {
    allowedHosts = List.copyOf(allowedHosts);
    allowedOrigins = List.copyOf(allowedOrigins);
  }

  public static ServerConfig defaults(int port) {
    return new ServerConfig("127.0.0.1", port, null, 16, 4 * 1024 * 1024, 300_000, RequestLimits.DEFAULT,
        false, List.of(), List.of(), null);
  }

  public ServerConfig withApiKey(String key) {
    return new ServerConfig(host, port, key, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        allowedHosts, allowedOrigins, accessLog);
  }

  public ServerConfig withHost(String h) {
    return new ServerConfig(h, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        allowedHosts, allowedOrigins, accessLog);
  }

  public ServerConfig withMaxQueue(int q) {
    return new ServerConfig(host, port, apiKey, q, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        allowedHosts, allowedOrigins, accessLog);
  }

  public ServerConfig withMaxBodyBytes(int b) {
    return new ServerConfig(host, port, apiKey, maxQueue, b, requestTimeoutMillis, limits, logPrompts, allowedHosts,
        allowedOrigins, accessLog);
  }

  public ServerConfig withLogPrompts(boolean log) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, log,
        allowedHosts, allowedOrigins, accessLog);
  }

  public ServerConfig withRequestTimeoutMillis(long t) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, t, limits, logPrompts, allowedHosts,
        allowedOrigins, accessLog);
  }

  public ServerConfig withLimits(RequestLimits l) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, l, logPrompts,
        allowedHosts, allowedOrigins, accessLog);
  }

  public ServerConfig withAllowedHosts(List<String> hosts) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        hosts, allowedOrigins, accessLog);
  }

  public ServerConfig withAccessLog(java.io.PrintStream out) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        allowedHosts, allowedOrigins, out);
  }

  public ServerConfig withAllowedOrigins(List<String> origins) {
    return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
        allowedHosts, origins, accessLog);
  }
}
