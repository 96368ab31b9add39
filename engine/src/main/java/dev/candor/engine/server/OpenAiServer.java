package dev.candor.engine.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.generate.Generator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP server, on the JDK's HTTP server API as Jetty implements it ({@link HttpServers}; no
 * framework on the token path): it routes each request to its endpoint after the {@link RequestGuard} checks, turns
 * every failure into an OpenAI-shaped error, and logs one line per request. GET /v1/models and /v1/models/{id}, POST
 * /v1/completions, /v1/chat/completions and /v1/responses ({@link CompletionEndpoint}), GET /health (liveness and
 * readiness), GET /metrics (Prometheus), and the web page at / ({@link WebUi}). No stack trace or file path ever
 * reaches a client.
 */
public final class OpenAiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);

  /** The routes, by path; each takes one method (GET routes answer HEAD too). */
  private enum Route {
    HEALTH("/health", "GET"),
    METRICS("/metrics", "GET"),
    MODELS("/v1/models", "GET"),
    MODEL("/v1/models/", "GET"), // /v1/models/{id}
    COMPLETIONS("/v1/completions", "POST"),
    CHAT_COMPLETIONS("/v1/chat/completions", "POST"),
    RESPONSES("/v1/responses", "POST"),
    RESPONSE("/v1/responses/", "GET"); // /v1/responses/{id}: nothing is stored

    final String path;
    final String method;

    Route(String path, String method) {
      this.path = path;
      this.method = method;
    }

    static Route of(String path) {
      for (Route r : values()) {
        boolean prefix = r == MODEL || r == RESPONSE;
        if (prefix ? path.startsWith(r.path) && path.length() > r.path.length() : path.equals(r.path)) {
          return r;
        }
      }
      return null;
    }
  }

  private final LoadedModel model;
  private final Generator generator;
  private final ConfidenceModel confidence;
  private final ServerConfig config;
  private final Scheduler scheduler;
  private final ServerMetrics metrics;
  private final RequestGuard guard;
  private final RequestLog log;
  private final CompletionEndpoint completions;
  private final WebUi webUi;
  private final ExecutorService parsing;
  private final HttpServer http;
  private final long startedAt = System.currentTimeMillis() / 1000;
  private final AtomicLong requestCounter = new AtomicLong();

  public OpenAiServer(LoadedModel model, Generator generator, ConfidenceModel confidence, ServerConfig config)
      throws IOException {
    this.model = model;
    this.generator = generator;
    this.confidence = confidence;
    this.config = config;
    generator.cachePrefixes(config.prefixBudgetBytes()); // prompt prefixes reused across requests
    this.scheduler = new Scheduler(generator, config.maxQueue(), config.maxBatch(), config.kvBudgetBytes(),
        config.prefillChunk());
    this.metrics = new ServerMetrics(model.name(), model.backend().description(), scheduler::queued,
        scheduler::running, scheduler::batchSize, generator::prefixStats);
    scheduler.onDrop(metrics::dropped);
    this.guard = new RequestGuard(config);
    this.log = new RequestLog(config.accessLog(), config.logPrompts());
    // Tokenizing and rendering templates run on platform threads of their own: a huge prompt held in native code
    // would pin a virtual thread's carrier, and two of them would stall /health and every other request.
    this.parsing = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
        Thread.ofPlatform().name("candor-parse-", 0).daemon(true).factory());
    this.completions = new CompletionEndpoint(model, generator, confidence, config, scheduler, metrics, log,
        parsing);
    this.webUi = new WebUi(config);
    this.http = HttpServers.start(new InetSocketAddress(config.host(), config.port()), 128, this::handle,
        this::refusedByHttpLayer);
  }

  /** A request the HTTP layer refused before {@link #handle} saw it (a malformed or oversized request line or head). */
  private void refusedByHttpLayer(int status) {
    RequestLog.Entry entry = new RequestLog.Entry("req-" + requestCounter.incrementAndGet(), "-", "-");
    entry.status = status;
    metrics.error(HttpServers.JsonErrors.error(status));
    metrics.request(ServerMetrics.endpoint("-"), status, entry.nanos());
    log.finish(entry);
  }

  /** The port actually bound (useful with port 0). */
  public int port() {
    return http.getAddress().getPort();
  }

  public String modelName() {
    return model.name();
  }

  /**
   * A test seam: {@code hook} sees the prompt of each unit of work (one choice) on the worker before it is generated,
   * and whatever it throws fails that request as a model failure would (or it blocks, to hold the worker). Null to
   * remove.
   */
  void injectFault(Consumer<int[]> hook) {
    completions.faultHook = hook;
  }

  private void handle(HttpExchange exchange) {
    RequestLog.Entry entry = log.start("req-" + requestCounter.incrementAndGet(), exchange);
    exchange.getResponseHeaders().set("X-Request-Id", entry.requestId);
    String path = exchange.getRequestURI().getRawPath();
    try {
      guard.checkHost(exchange.getRequestHeaders());
      guard.checkOrigin(exchange);
      Route route = Route.of(path);
      if (exchange.getRequestMethod().equals("OPTIONS")) {
        guard.answerPreflight(exchange);
        Http.sendEmpty(exchange, 204);
        entry.status = 204;
        return;
      }
      if (route == null && webUi.handles(path)) {
        entry.status = webUi.serve(exchange, guard);
        return;
      }
      if (route == null) {
        throw ApiException.client(404, "not_found", "no route " + exchange.getRequestMethod() + " " + Http.shown(path)
            + "; try /v1/chat/completions, /v1/responses, /v1/completions or /v1/models");
      }
      if (!route.path.equals("/health")) {
        guard.authorize(exchange.getRequestHeaders());
      }
      entry.status = dispatch(route, exchange, entry);
    } catch (ApiException e) {
      entry.status = e.status;
      metrics.error(e);
      Http.trySendError(exchange, e);
    } catch (Throwable t) {
      entry.status = 500;
      LOG.error("request {}: internal error", entry.requestId, t);
      ApiException e = ApiException.server(500, null,
          "internal error (request " + entry.requestId + "); the server log has the details");
      metrics.error(e);
      Http.trySendError(exchange, e);
    } finally {
      try {
        exchange.close(); // after any error response: try-with-resources would close before the catch blocks ran
      } catch (RuntimeException clientGone) {
        // Jetty's exchange wraps the failed flush of a client that has left; the request is over either way
      }
      metrics.request(ServerMetrics.endpoint(path), entry.status, entry.nanos());
      log.finish(entry);
    }
  }

  private int dispatch(Route route, HttpExchange exchange, RequestLog.Entry entry) throws IOException {
    String method = exchange.getRequestMethod();
    boolean head = method.equals("HEAD") && route.method.equals("GET");
    if (!method.equals(route.method) && !head) {
      exchange.getResponseHeaders().set("Allow", route.method.equals("GET") ? "GET, HEAD" : route.method);
      throw ApiException.client(405, "method_not_allowed",
          "use " + route.method + " for " + route.path + ", not " + Http.shown(method));
    }
    if (route.method.equals("POST")) {
      guard.checkContentType(exchange.getRequestHeaders());
    }
    return switch (route) {
      case HEALTH -> health(exchange);
      case METRICS -> metrics(exchange);
      case MODELS -> Http.sendJson(exchange, 200, models());
      case MODEL -> Http.sendJson(exchange, 200, model(exchange.getRequestURI().getPath()));
      case COMPLETIONS -> completions.handle(exchange, entry, CompletionEndpoint.Api.COMPLETIONS);
      case CHAT_COMPLETIONS -> completions.handle(exchange, entry, CompletionEndpoint.Api.CHAT);
      case RESPONSES -> completions.handle(exchange, entry, CompletionEndpoint.Api.RESPONSES);
      case RESPONSE -> throw ApiException.client(404, "response_not_found", "this server stores no responses "
          + "(store is always false), so none can be retrieved");
    };
  }

  /** 200 while serving; 503 with ready false from the moment a shutdown begins. */
  private int health(HttpExchange exchange) throws IOException {
    boolean ready = !scheduler.stopping();
    ObjectNode health = Responses.JSON.createObjectNode();
    health.put("status", ready ? "ok" : "shutting_down");
    health.put("model", model.name());
    health.put("ready", ready);
    health.put("queued", scheduler.queued());
    health.put("running", scheduler.running());
    health.put("batch", scheduler.batchSize());
    health.put("requests", metrics.requestCount.get());
    health.put("generations", metrics.generationCount.get());
    health.put("cancelled_generations", metrics.cancelledCount.get());
    health.put("rejected", metrics.rejectedCount.get());
    health.put("failed", metrics.failedCount.get());
    return Http.sendJson(exchange, ready ? 200 : 503, health);
  }

  private int metrics(HttpExchange exchange) throws IOException {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    metrics.write(text);
    return Http.send(exchange, 200, metrics.contentType(), text.toByteArray());
  }

  private ObjectNode models() {
    ObjectNode root = Responses.JSON.createObjectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    data.add(modelCard());
    return root;
  }

  private ObjectNode model(String path) {
    String id = path.substring(Route.MODEL.path.length());
    if (!id.equals(model.name())) {
      throw new ApiException(404, ErrorType.INVALID_REQUEST, "model", "model_not_found",
          "The model '" + Http.shown(id) + "' does not exist; this server serves '" + model.name() + "'");
    }
    return modelCard();
  }

  private ObjectNode modelCard() {
    ObjectNode m = Responses.JSON.createObjectNode();
    m.put("id", model.name());
    m.put("object", "model");
    m.put("created", startedAt);
    m.put("owned_by", "candor");
    ObjectNode candor = m.putObject("candor");
    candor.put("context_window", generator.contextWindow());
    candor.put("speculative", generator.speculative());
    candor.put("draft_tokens", generator.draftLength());
    candor.put("confidence_method", confidence.method());
    candor.put("backend", model.backend().description());
    GenerationDefaults d = CompletionEndpoint.defaults(model, config);
    ObjectNode defaults = candor.putObject("generation_defaults");
    defaults.put("temperature", d.temperature());
    defaults.put("top_p", d.topP());
    defaults.put("top_k", d.topK());
    defaults.put("repetition_penalty", d.repetitionPenalty());
    defaults.put("source", d.source());
    return m;
  }

  /**
   * Graceful shutdown: from this moment /health says not ready and new requests get 503; requests admitted before it
   * run to their end for up to {@code graceMillis}, then what is left is cancelled and the server stops.
   */
  public void shutdown(long graceMillis) {
    scheduler.shutdown(graceMillis);
    http.stop(1);
    parsing.shutdownNow();
  }

  @Override
  public void close() {
    scheduler.close();
    http.stop(0);
    parsing.shutdownNow();
  }
}
