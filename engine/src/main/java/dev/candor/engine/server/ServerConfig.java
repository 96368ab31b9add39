package dev.candor.engine.server;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * How the server runs. Made with {@link #defaults} and changed with the {@code with*} copies.
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
 * @param probeDir the served probe's directory, whose report and diagrams the web page shows; null without a probe
 * @param useGenerationConfig requests that leave out temperature, top_p, top_k or repetition_penalty get the
 *     checkpoint's generation_config.json values (as vLLM does); false: OpenAI's defaults
 * @param maxBatch sessions (choices) generated together at most
 * @param kvCacheBytes KV cache the batch may hold; 0 for half the Java heap
 * @param prefillChunk prompt tokens a session prefills per step while others decode
 * @param prefixCacheBytes KV of prompt prefixes kept across requests; 0 for a quarter of the KV budget, -1 for none
 * @param splitSpecialTokens tokenize special-token text in messages and prompts as plain text (a request's
 *     {@code split_special_tokens} overrides it); false: as Hugging Face does by default, it becomes the special token
 */
public record ServerConfig(String host, int port, String apiKey, int maxQueue, int maxBodyBytes,
    long requestTimeoutMillis, RequestLimits limits, boolean logPrompts, List<String> allowedHosts,
    List<String> allowedOrigins, PrintStream accessLog, Path probeDir, boolean useGenerationConfig, int maxBatch,
    long kvCacheBytes, int prefillChunk, long prefixCacheBytes, boolean splitSpecialTokens) {

  /** Sessions generated together by default: enough to share a weight read on a bandwidth-bound model. */
  public static final int DEFAULT_MAX_BATCH = 8;

  public ServerConfig {
    if (maxBatch < 1) {
      throw new IllegalArgumentException("max batch must be at least 1, got " + maxBatch);
    }
    if (prefillChunk < 1) {
      throw new IllegalArgumentException("prefill chunk must be at least 1 token, got " + prefillChunk);
    }
    allowedHosts = List.copyOf(allowedHosts);
    allowedOrigins = List.copyOf(allowedOrigins);
  }

  public static ServerConfig defaults(int port) {
    return new ServerConfig("127.0.0.1", port, null, 16, 4 * 1024 * 1024, 300_000, RequestLimits.DEFAULT, false,
        List.of(), List.of(), null, null, true, DEFAULT_MAX_BATCH, 0, 256, 0, false);
  }

  public ServerConfig withHost(String h) {
    return new Builder(this).host(h).build();
  }

  public ServerConfig withApiKey(String key) {
    return new Builder(this).apiKey(key).build();
  }

  public ServerConfig withMaxQueue(int q) {
    return new Builder(this).maxQueue(q).build();
  }

  public ServerConfig withMaxBodyBytes(int b) {
    return new Builder(this).maxBodyBytes(b).build();
  }

  public ServerConfig withRequestTimeoutMillis(long t) {
    return new Builder(this).requestTimeoutMillis(t).build();
  }

  public ServerConfig withLimits(RequestLimits l) {
    return new Builder(this).limits(l).build();
  }

  public ServerConfig withLogPrompts(boolean log) {
    return new Builder(this).logPrompts(log).build();
  }

  public ServerConfig withAllowedHosts(List<String> hosts) {
    return new Builder(this).allowedHosts(hosts).build();
  }

  public ServerConfig withAllowedOrigins(List<String> origins) {
    return new Builder(this).allowedOrigins(origins).build();
  }

  public ServerConfig withAccessLog(PrintStream out) {
    return new Builder(this).accessLog(out).build();
  }

  public ServerConfig withProbeDir(Path dir) {
    return new Builder(this).probeDir(dir).build();
  }

  public ServerConfig withGenerationConfig(boolean use) {
    return new Builder(this).useGenerationConfig(use).build();
  }

  public ServerConfig withSplitSpecialTokens(boolean split) {
    return new Builder(this).splitSpecialTokens(split).build();
  }

  public ServerConfig withMaxBatch(int n) {
    return new Builder(this).maxBatch(n).build();
  }

  public ServerConfig withKvCacheBytes(long bytes) {
    return new Builder(this).kvCacheBytes(bytes).build();
  }

  public ServerConfig withPrefillChunk(int tokens) {
    return new Builder(this).prefillChunk(tokens).build();
  }

  public ServerConfig withPrefixCacheBytes(long bytes) {
    return new Builder(this).prefixCacheBytes(bytes).build();
  }

  /** The prefix cache's budget in effect: the configured one, a quarter of the KV budget, or none. */
  public long prefixBudgetBytes() {
    return prefixCacheBytes > 0 ? prefixCacheBytes : prefixCacheBytes == 0 ? kvBudgetBytes() / 4 : 0;
  }

  /** The KV budget in effect: the configured one, or half the Java heap. */
  public long kvBudgetBytes() {
    return kvCacheBytes > 0 ? kvCacheBytes : Runtime.getRuntime().maxMemory() / 2;
  }

  /** A mutable copy of a config, one field at a time. */
  private static final class Builder {
    private String host;
    private int port;
    private String apiKey;
    private int maxQueue;
    private int maxBodyBytes;
    private long requestTimeoutMillis;
    private RequestLimits limits;
    private boolean logPrompts;
    private List<String> allowedHosts;
    private List<String> allowedOrigins;
    private PrintStream accessLog;
    private Path probeDir;
    private boolean useGenerationConfig;
    private int maxBatch;
    private long kvCacheBytes;
    private int prefillChunk;
    private long prefixCacheBytes;
    private boolean splitSpecialTokens;

    Builder(ServerConfig c) {
      host = c.host;
      port = c.port;
      apiKey = c.apiKey;
      maxQueue = c.maxQueue;
      maxBodyBytes = c.maxBodyBytes;
      requestTimeoutMillis = c.requestTimeoutMillis;
      limits = c.limits;
      logPrompts = c.logPrompts;
      allowedHosts = c.allowedHosts;
      allowedOrigins = c.allowedOrigins;
      accessLog = c.accessLog;
      probeDir = c.probeDir;
      useGenerationConfig = c.useGenerationConfig;
      maxBatch = c.maxBatch;
      kvCacheBytes = c.kvCacheBytes;
      prefillChunk = c.prefillChunk;
      prefixCacheBytes = c.prefixCacheBytes;
      splitSpecialTokens = c.splitSpecialTokens;
    }

    Builder host(String v) {
      host = v;
      return this;
    }

    Builder apiKey(String v) {
      apiKey = v;
      return this;
    }

    Builder maxQueue(int v) {
      maxQueue = v;
      return this;
    }

    Builder maxBodyBytes(int v) {
      maxBodyBytes = v;
      return this;
    }

    Builder requestTimeoutMillis(long v) {
      requestTimeoutMillis = v;
      return this;
    }

    Builder limits(RequestLimits v) {
      limits = v;
      return this;
    }

    Builder logPrompts(boolean v) {
      logPrompts = v;
      return this;
    }

    Builder allowedHosts(List<String> v) {
      allowedHosts = v;
      return this;
    }

    Builder allowedOrigins(List<String> v) {
      allowedOrigins = v;
      return this;
    }

    Builder accessLog(PrintStream v) {
      accessLog = v;
      return this;
    }

    Builder probeDir(Path v) {
      probeDir = v;
      return this;
    }

    Builder useGenerationConfig(boolean v) {
      useGenerationConfig = v;
      return this;
    }

    Builder splitSpecialTokens(boolean v) {
      splitSpecialTokens = v;
      return this;
    }

    Builder maxBatch(int v) {
      maxBatch = v;
      return this;
    }

    Builder kvCacheBytes(long v) {
      kvCacheBytes = v;
      return this;
    }

    Builder prefillChunk(int v) {
      prefillChunk = v;
      return this;
    }

    Builder prefixCacheBytes(long v) {
      prefixCacheBytes = v;
      return this;
    }

    ServerConfig build() {
      return new ServerConfig(host, port, apiKey, maxQueue, maxBodyBytes, requestTimeoutMillis, limits, logPrompts,
          allowedHosts, allowedOrigins, accessLog, probeDir, useGenerationConfig, maxBatch, kvCacheBytes, prefillChunk,
          prefixCacheBytes, splitSpecialTokens);
    }
  }
}
