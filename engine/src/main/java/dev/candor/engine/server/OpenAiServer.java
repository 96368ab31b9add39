package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.TokenRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP endpoint, on the JDK's own HTTP server (no framework on the token path): GET /v1/models,
 * POST /v1/completions, POST /v1/chat/completions, GET /health (liveness, readiness, totals), GET /metrics
 * (Prometheus). Requests queue for one worker; responses are whole JSON or server-sent events. Errors are
 * OpenAI-shaped; no stack trace or file path ever reaches a client.
 */
public final class OpenAiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);

  private final LoadedModel model;
  private final Generator generator;
  private final ConfidenceModel confidence;
  private final ServerConfig config;
  private final RequestParser parser;
  private final Responses responses;
  private final Scheduler scheduler;
  private final HttpServer http;
  private final long startedAt = System.currentTimeMillis() / 1000;
  private final AtomicLong requestCounter = new AtomicLong();
  private final SecureRandom random = new SecureRandom();
  private final byte[] apiKey;
  private final ServerMetrics metrics;

  static {
    // A client that sends half a request and stalls loses its connection after this many seconds, instead of
    // holding it forever (the JDK server's own limit on reading a request; responses, i.e. streams, are not limited).
    // Read once, when the first server starts; -Dsun.net.httpserver.maxReqTime=... overrides it.
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
      System.setProperty("sun.net.httpserver.maxReqTime", "30");
    }
  }

  public OpenAiServer(LoadedModel model, Generator generator, ConfidenceModel confidence, ServerConfig config)
      throws IOException {
    this.model = model;
    this.generator = generator;
    this.confidence = confidence;
    this.config = config;
    this.parser = new RequestParser(model, config.limits());
    this.responses = new Responses(model.tokenizer(), confidence);
    this.scheduler = new Scheduler(config.maxQueue());
    this.metrics = new ServerMetrics(model.name(), model.backend().description(), scheduler::queued,
        scheduler::running);
    scheduler.onAbandon(metrics::abandoned);
    this.apiKey = config.apiKey() == null ? null : config.apiKey().getBytes(StandardCharsets.UTF_8);
    this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 128);
    http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    http.createContext("/", this::handle).getFilters().add(new WebUi(config)); // the web page at /: WebUi
    http.start();
  }

  /** The port actually bound (useful with port 0). */
  public int port() {
    return http.getAddress().getPort();
  }

  public String modelName() {
    return model.name();
  }

  private void handle(HttpExchange exchange) {
    String requestId = "req-" + requestCounter.incrementAndGet();
    long start = System.nanoTime();
    int status = 200;
    String path = "";
    exchange.getResponseHeaders().set("X-Request-Id", requestId);
    try {
      path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      if (!path.equals("/health")) {
        authorize(exchange);
      }
      switch (path) {
        case "/health" -> {
          requireMethod(method, "GET");
          ObjectNode health = Responses.JSON.createObjectNode();
          health.put("status", "ok");
          health.put("model", model.name());
          health.put("ready", true);
          health.put("queued", scheduler.queued());
          health.put("running", scheduler.running());
          health.put("requests", metrics.requestCount.get());
          health.put("generations", metrics.generationCount.get());
          health.put("cancelled_generations", metrics.cancelledCount.get());
          health.put("rejected", metrics.rejectedCount.get());
          health.put("failed", metrics.failedCount.get());
          sendJson(exchange, 200, health);
        }
        case "/metrics" -> {
          requireMethod(method, "GET");
          java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
          metrics.write(text);
          exchange.getResponseHeaders().set("Content-Type", metrics.contentType());
          exchange.sendResponseHeaders(200, text.size());
          try (OutputStream out = exchange.getResponseBody()) {
            text.writeTo(out);
          }
        }
        case "/v1/models" -> {
          requireMethod(method, "GET");
          sendJson(exchange, 200, models());
        }
        case "/v1/completions", "/v1/chat/completions" -> {
          requireMethod(method, "POST");
          status = complete(exchange, requestId, path.equals("/v1/chat/completions"));
        }
        default -> throw new ApiException(404, "invalid_request_error", null, "not_found",
            "no route " + method + " " + path + "; try /v1/chat/completions, /v1/completions or /v1/models");
      }
    } catch (ApiException e) {
      status = e.status;
      metrics.error(e);
      trySendError(exchange, e);
    } catch (Throwable t) {
      status = 500;
      LOG.error("request {}: internal error", requestId, t);
      ApiException e = new ApiException(500, "server_error", null, null,
          "internal error (request " + requestId + "); the server log has the details");
      metrics.error(e);
      trySendError(exchange, e);
    } finally {
      exchange.close(); // after any error response: try-with-resources would close before the catch blocks ran
      metrics.request(path, status, System.nanoTime() - start);
      LOG.info("request {} {} {} -> {} in {} ms", requestId, exchange.getRequestMethod(),
          exchange.getRequestURI().getPath(), status, (System.nanoTime() - start) / 1_000_000);
    }
  }

  private void authorize(HttpExchange exchange) {
    if (apiKey == null) {
      return;
    }
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    byte[] given = header != null && header.startsWith("Bearer ")
        ? header.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
    if (!MessageDigest.isEqual(given, apiKey)) { // constant time in the key's content
      throw new ApiException(401, "invalid_request_error", null, "invalid_api_key",
          "missing or incorrect API key: send 'Authorization: Bearer <key>'");
    }
  }

  private static void requireMethod(String method, String expected) {
    if (!method.equals(expected)) {
      throw new ApiException(405, "invalid_request_error", null, "method_not_allowed",
          "use " + expected + " for this endpoint, not " + method);
    }
  }

  private ObjectNode models() {
    ObjectNode root = Responses.JSON.createObjectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    ObjectNode m = data.addObject();
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
    return root;
  }

  private byte[] readBody(HttpExchange exchange) throws IOException {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > config.maxBodyBytes()) {
          throw tooLarge();
        }
      } catch (NumberFormatException e) {
        throw ApiException.invalid(null, "bad Content-Length header");
      }
    }
    try (InputStream in = exchange.getRequestBody()) {
      byte[] body = in.readNBytes(config.maxBodyBytes() + 1);
      if (body.length > config.maxBodyBytes()) {
        throw tooLarge();
      }
      return body;
    }
  }

  private ApiException tooLarge() {
    return new ApiException(413, "invalid_request_error", null, "request_too_large",
        "the request body exceeds " + config.maxBodyBytes() + " bytes");
  }

  private int complete(HttpExchange exchange, String requestId, boolean chat) throws IOException {
    JsonNode root = RequestParser.parseJson(readBody(exchange));
    ParsedRequest request = parser.parse(root, chat);
    if (config.logPrompts()) {
      LOG.info("request {} prompts: {}", requestId, Responses.JSON.writeValueAsString(request.promptTexts()));
    }
    int context = generator.contextWindow();
    for (int[] prompt : request.prompts()) {
      if (prompt.length >= context) {
        throw ApiException.invalid(chat ? "messages" : "prompt", "context_length_exceeded", "This model's maximum context length is "
            + context + " tokens. However, your prompt has " + prompt.length + " tokens.");
      }
      if (request.maxTokens() != null && prompt.length + request.maxTokens() > context) {
        throw ApiException.invalid("max_tokens", "context_length_exceeded",
            "This model's maximum context length is " + context + " tokens. However, you requested "
                + (prompt.length + request.maxTokens()) + " tokens (" + prompt.length + " in the prompt, "
                + request.maxTokens() + " for the completion).");
      }
    }
    long seed = request.seed() != null ? request.seed() : random.nextLong();
    long now = System.nanoTime();
    long deadline = now + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMillis());
    GenerationJob job = new GenerationJob(requestId, request, model, generator, confidence, seed, now, deadline,
        metrics);
    scheduler.submit(job);
    String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(randomBytes(12));
    long created = System.currentTimeMillis() / 1000;
    try {
      return request.stream() ? stream(exchange, job, request, id, created) : whole(exchange, job, request, id, created);
    } finally {
      job.cancel(); // a no-op when it already finished; frees the worker when the client left
    }
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** How often a stream that has nothing to send writes an SSE comment, to find out whether its client is still there. */
  static final long KEEP_ALIVE_MILLIS = 2_000;

  /**
   * The job's next event. A stream ({@code keepAlive} not null) writes an SSE comment line (": keep-alive") each
   * {@link #KEEP_ALIVE_MILLIS} it waits, e.g. while queued behind other requests: clients ignore comments, and a
   * client that has left makes the write fail, which cancels its job before the worker spends time on it.
   */
  private Events next(GenerationJob job, OutputStream keepAlive) throws IOException {
    long limit = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMillis() + 30_000);
    try {
      while (true) {
        long left = limit - System.nanoTime();
        if (left <= 0) {
          job.cancel();
          return new Events.Failed(new ApiException(504, "server_error", null, "timeout", "the request timed out"));
        }
        long wait = keepAlive == null ? left : Math.min(left, TimeUnit.MILLISECONDS.toNanos(KEEP_ALIVE_MILLIS));
        Events e = job.events.poll(wait, TimeUnit.NANOSECONDS);
        if (e != null) {
          return e;
        }
        if (keepAlive != null) {
          keepAlive.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
          keepAlive.flush();
        }
      }
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      job.cancel();
      return new Events.Failed(new ApiException(503, "server_error", null, null, "interrupted"));
    }
  }

  /** A per-choice accumulator for the whole (non-streamed) response. */
  private static final class Choice {
    String echoText = "";
    List<TokenRecord> echoRecords = List.of();
    List<Integer> echoOffsets = List.of();
    GenerationResult result;
    GenerationJob.BreakerReport breaker;
  }

  private int whole(HttpExchange exchange, GenerationJob job, ParsedRequest request, String id, long created)
      throws IOException {
    Map<Integer, Choice> choices = new TreeMap<>();
    while (true) {
      Events e = next(job, null);
      switch (e) {
        case Events.Echo echo -> {
          Choice c = choices.computeIfAbsent(echo.choice(), k -> new Choice());
          c.echoText = echo.text();
          c.echoRecords = echo.records();
          c.echoOffsets = echo.offsets();
        }
        case Events.Released released -> { }
        case Events.Finished finished -> {
          Choice c = choices.computeIfAbsent(finished.choice(), k -> new Choice());
          c.result = finished.result();
          c.breaker = finished.breaker();
        }
        case Events.Failed failed -> throw failed.error();
        case Events.Done done -> {
          ObjectNode root = Responses.envelope(id, request.chat() ? "chat.completion" : "text_completion", created,
              model.name());
          ArrayNode array = root.putArray("choices");
          for (var entry : choices.entrySet()) {
            array.add(wholeChoice(entry.getKey(), entry.getValue(), request));
          }
          root.set("usage", Responses.usage(done.promptTokens(), done.completionTokens()));
          sendJson(exchange, 200, root);
          return 200;
        }
      }
    }
  }

  private ObjectNode wholeChoice(int index, Choice c, ParsedRequest request) {
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    GenerationResult result = c.result;
    if (request.chat()) {
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      message.put("content", result.text());
      message.putNull("refusal");
      if (request.logprobs()) {
        choice.set("logprobs", responses.chatLogprobs(result.tokens()));
      } else {
        choice.putNull("logprobs");
      }
    } else {
      choice.put("text", c.echoText + result.text());
      if (request.logprobs()) {
        List<TokenRecord> records = new ArrayList<>(c.echoRecords);
        records.addAll(result.tokens());
        List<Integer> offsets = new ArrayList<>(c.echoOffsets);
        int base = c.echoText.length();
        result.textOffsets().forEach(o -> offsets.add(base + o));
        choice.set("logprobs", responses.completionLogprobs(records, offsets, 0));
      } else {
        choice.putNull("logprobs");
      }
    }
    choice.put("finish_reason", Responses.finishReason(result));
    if (request.confidence()) {
      choice.set("confidence", responses.confidence(result, c.breaker, true));
    }
    return choice;
  }

  private int stream(HttpExchange exchange, GenerationJob job, ParsedRequest request, String id, long created)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    String object = request.chat() ? "chat.completion.chunk" : "text_completion";
    Map<Integer, Integer> echoLength = new TreeMap<>();
    java.util.Set<Integer> started = new java.util.HashSet<>();
    try {
      while (true) {
        Events e = next(job, out);
        switch (e) {
          case Events.Echo echo -> {
            echoLength.put(echo.choice(), echo.text().length());
            ObjectNode choice = streamChoice(echo.choice(), request, echo.text(), echo.records(), echo.offsets(), 0);
            send(out, chunk(id, object, created, request, choice));
          }
          case Events.Released released -> {
            if (request.chat() && started.add(released.choice())) {
              send(out, chunk(id, object, created, request, roleChoice(released.choice())));
            }
            ObjectNode choice = streamChoice(released.choice(), request, released.text(), released.records(),
                released.offsets(), echoLength.getOrDefault(released.choice(), 0));
            if (request.confidence()) {
              ObjectNode c = choice.putObject("confidence");
              c.set("tokens", responses.confidenceTokens(released.records()));
            }
            send(out, chunk(id, object, created, request, choice));
          }
          case Events.Finished finished -> {
            if (request.chat() && started.add(finished.choice())) {
              send(out, chunk(id, object, created, request, roleChoice(finished.choice())));
            }
            ObjectNode choice = streamChoice(finished.choice(), request, "", List.of(), List.of(), 0);
            choice.put("finish_reason", Responses.finishReason(finished.result()));
            if (request.chat() || !request.logprobs()) {
              choice.putNull("logprobs");
            }
            if (request.confidence()) {
              choice.set("confidence", responses.confidence(finished.result(), finished.breaker(), false));
            }
            send(out, chunk(id, object, created, request, choice));
          }
          case Events.Failed failed -> {
            metrics.error(failed.error());
            send(out, Responses.error(failed.error()));
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            return failed.error().status;
          }
          case Events.Done done -> {
            if (request.includeUsage()) {
              ObjectNode usage = Responses.envelope(id, object, created, model.name());
              usage.putArray("choices");
              usage.set("usage", Responses.usage(done.promptTokens(), done.completionTokens()));
              send(out, usage);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            return 200;
          }
        }
      }
    } catch (IOException clientGone) {
      job.cancel();
      LOG.info("request {}: client disconnected mid-stream; generation cancelled", job.requestId);
      return 499;
    }
  }

  private ObjectNode roleChoice(int index) {
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    ObjectNode delta = choice.putObject("delta");
    delta.put("role", "assistant");
    delta.put("content", "");
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    return choice;
  }

  private ObjectNode streamChoice(int index, ParsedRequest request, String text, List<TokenRecord> records,
      List<Integer> offsets, int base) {
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    if (request.chat()) {
      ObjectNode delta = choice.putObject("delta");
      if (!text.isEmpty() || !records.isEmpty()) {
        delta.put("content", text);
      }
      if (request.logprobs() && !records.isEmpty()) {
        choice.set("logprobs", responses.chatLogprobs(records));
      } else {
        choice.putNull("logprobs");
      }
    } else {
      choice.put("text", text);
      if (request.logprobs()) {
        choice.set("logprobs", responses.completionLogprobs(records, offsets, base));
      } else {
        choice.putNull("logprobs");
      }
    }
    choice.putNull("finish_reason");
    return choice;
  }

  private ObjectNode chunk(String id, String object, long created, ParsedRequest request, ObjectNode choice) {
    ObjectNode root = Responses.envelope(id, object, created, model.name());
    root.putArray("choices").add(choice);
    if (request.includeUsage()) {
      root.putNull("usage");
    }
    return root;
  }

  private static void send(OutputStream out, ObjectNode node) throws IOException {
    out.write(("data: " + Responses.JSON.writeValueAsString(node) + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static void sendJson(HttpExchange exchange, int status, ObjectNode body) throws IOException {
    byte[] bytes = Responses.JSON.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static void trySendError(HttpExchange exchange, ApiException e) {
    try {
      if (e.status == 401) {
        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
      }
      if (e.status == 429 || e.status == 503) {
        exchange.getResponseHeaders().set("Retry-After", "1");
      }
      sendJson(exchange, e.status, Responses.error(e));
    } catch (IOException | RuntimeException ignored) {
      // headers already sent (mid-stream) or the client is gone: nothing more to tell it
    }
  }

  /** Stops accepting requests, lets running and queued ones finish for up to {@code graceMillis}, then stops. */
  public void shutdown(long graceMillis) {
    scheduler.shutdown(graceMillis);
    http.stop(1);
  }

  @Override
  public void close() {
    scheduler.close();
    http.stop(0);
  }
}
