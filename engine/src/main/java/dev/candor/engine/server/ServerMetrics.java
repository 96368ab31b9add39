package dev.candor.engine.server;

import dev.candor.engine.generate.FinishReason;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.SpeculationStats;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * What the server counts about itself, in Prometheus form for GET /metrics (prometheus-metrics-core, text format
 * 0.0.4) and as a few totals for GET /health. Every metric is named {@code candor_*}; label values come from small
 * fixed sets (endpoint, status, error kind, finish reason, token source), never from request content.
 */
final class ServerMetrics {
  private static final String[] ENDPOINTS = {"/v1/completions", "/v1/chat/completions", "/v1/responses",
      "/v1/models", "/health", "/metrics"};

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter requests;
  private final Counter errors;
  private final Counter generations;
  private final Counter tokens;
  private final Counter promptTokens;
  private final Counter abandoned;
  private final Counter drafted;
  private final Counter draftAccepted;
  private final Histogram requestSeconds;
  private final Histogram firstTokenSeconds;
  private final Histogram decodeTokensPerSecond;

  // totals for /health, kept beside the labelled counters
  final AtomicLong requestCount = new AtomicLong();
  final AtomicLong generationCount = new AtomicLong();
  final AtomicLong cancelledCount = new AtomicLong();
  final AtomicLong rejectedCount = new AtomicLong();
  final AtomicLong failedCount = new AtomicLong();
  final AtomicLong tokenCount = new AtomicLong();

  ServerMetrics(String model, String backend, IntSupplier queued, IntSupplier running, IntSupplier batch,
      java.util.function.Supplier<dev.candor.engine.generate.PrefixCache.Stats> prefixes) {
    requests = Counter.builder().name("candor_requests").help("HTTP requests by endpoint and status")
        .labelNames("endpoint", "status").register(registry);
    errors = Counter.builder().name("candor_errors").help("Error responses by kind (the OpenAI error code or type)")
        .labelNames("kind").register(registry);
    generations = Counter.builder().name("candor_generations").help("Finished generations (choices) by finish reason")
        .labelNames("finish_reason").register(registry);
    tokens = Counter.builder().name("candor_generated_tokens")
        .help("Emitted tokens by the path that produced them (target, accepted, resampled, bonus)")
        .labelNames("source").register(registry);
    abandoned = Counter.builder().name("candor_dropped_jobs")
        .help("Requests the worker dropped instead of running: cancelled while queued, model error, shutdown")
        .labelNames("reason").register(registry);
    promptTokens = Counter.builder().name("candor_prompt_tokens").help("Prompt tokens processed").register(registry);
    drafted = Counter.builder().name("candor_draft_tokens").help("Tokens the drafter proposed").register(registry);
    draftAccepted = Counter.builder().name("candor_draft_tokens_accepted")
        .help("Drafted tokens the target accepted (acceptance rate = this / candor_draft_tokens_total)")
        .register(registry);
    requestSeconds = Histogram.builder().name("candor_request_duration_seconds")
        .help("Wall time of a completion request, queueing included").labelNames("endpoint").classicOnly()
        .classicUpperBounds(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300).register(registry);
    firstTokenSeconds = Histogram.builder().name("candor_time_to_first_token_seconds")
        .help("From a request's arrival to its first released output, queueing included").classicOnly()
        .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30).register(registry);
    decodeTokensPerSecond = Histogram.builder().name("candor_decode_tokens_per_second")
        .help("Decode speed of each finished generation (tokens after the first / time after the first)")
        .classicOnly().classicUpperBounds(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
        .register(registry);
    GaugeWithCallback.builder().name("candor_queue_depth").help("Requests waiting for the worker")
        .callback(cb -> cb.call(queued.getAsInt())).register(registry);
    GaugeWithCallback.builder().name("candor_running").help("Requests being generated now")
        .callback(cb -> cb.call(running.getAsInt())).register(registry);
    GaugeWithCallback.builder().name("candor_batch_sessions").help("Choices in the batch the engine steps together")
        .callback(cb -> cb.call(batch.getAsInt())).register(registry);
    registerPrefixCache(prefixes);
    GaugeWithCallback.builder().name("candor_model_info").help("The served model").labelNames("model", "backend")
        .callback(cb -> cb.call(1, model, backend)).register(registry);
  }

  /** The prefix cache's figures (hit rate = hits / lookups), read from the cache at each scrape. */
  private void registerPrefixCache(java.util.function.Supplier<dev.candor.engine.generate.PrefixCache.Stats> stats) {
    io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("candor_prefix_cache_lookups")
        .help("Prompts looked up in the prefix cache").callback(cb -> {
          var s = stats.get();
          cb.call(s == null ? 0 : s.lookups());
        }).register(registry);
    io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("candor_prefix_cache_hits")
        .help("Lookups that reused at least one cached block").callback(cb -> {
          var s = stats.get();
          cb.call(s == null ? 0 : s.hits());
        }).register(registry);
    io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("candor_prefix_cache_reused_tokens")
        .help("Prompt tokens whose KV was copied from the cache instead of computed").callback(cb -> {
          var s = stats.get();
          cb.call(s == null ? 0 : s.reusedTokens());
        }).register(registry);
    GaugeWithCallback.builder().name("candor_prefix_cache_bytes").help("Memory the prefix cache holds")
        .callback(cb -> {
          var s = stats.get();
          cb.call(s == null ? 0 : s.bytes());
        }).register(registry);
  }

  static String endpoint(String path) {
    for (String e : ENDPOINTS) {
      if (e.equals(path)) {
        return e;
      }
    }
    return "other";
  }

  void request(String path, int status, long nanos) {
    requestCount.incrementAndGet();
    String endpoint = endpoint(path);
    requests.labelValues(endpoint, Integer.toString(status)).inc();
    if (endpoint.startsWith("/v1/") && (endpoint.endsWith("completions") || endpoint.endsWith("responses"))) {
      requestSeconds.labelValues(endpoint).observe(nanos / 1e9);
    }
  }

  void error(ApiException e) {
    errors.labelValues(e.code != null ? e.code : e.type.apiName).inc();
    if (e.status == 429) {
      rejectedCount.incrementAndGet();
    } else if (e.status >= 500) {
      failedCount.incrementAndGet();
    }
  }

  void dropped(Scheduler.DropReason why) {
    abandoned.labelValues(why.label).inc();
  }

  void firstToken(long nanosSinceArrival) {
    firstTokenSeconds.observe(nanosSinceArrival / 1e9);
  }

  void generation(GenerationResult result) {
    generationCount.incrementAndGet();
    tokenCount.addAndGet(result.tokens().size());
    generations.labelValues(result.finishReason().name().toLowerCase(Locale.ROOT)).inc();
    promptTokens.inc(result.promptTokens());
    SpeculationStats s = result.stats();
    tokens.labelValues("target").inc(s.nTarget());
    tokens.labelValues("accepted").inc(s.nAccepted());
    tokens.labelValues("resampled").inc(s.nResampled());
    tokens.labelValues("bonus").inc(s.nBonus());
    if (s.nDrafted() > 0) {
      drafted.inc(s.nDrafted());
      draftAccepted.inc(Math.round(s.drafterAcceptance() * s.nDrafted()));
    }
    GenerationResult.Timings t = result.timings();
    long decodeNanos = t.totalNanos() - t.firstTokenNanos();
    if (result.tokens().size() > 1 && decodeNanos > 0) {
      decodeTokensPerSecond.observe((result.tokens().size() - 1) / (decodeNanos / 1e9));
    }
    if (result.finishReason() == FinishReason.CANCELLED) {
      cancelledCount.incrementAndGet();
    }
  }

  String contentType() {
    return writer.getContentType();
  }

  void write(OutputStream out) throws IOException {
    writer.write(out, registry.scrape());
  }
}
