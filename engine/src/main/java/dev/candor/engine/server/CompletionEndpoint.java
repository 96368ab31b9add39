package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.generate.Generator;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * POST /v1/completions, /v1/chat/completions and /v1/responses: the body read and parsed (off the HTTP threads; a
 * Responses body as the chat request it amounts to, {@link ResponsesRequest}), the cheap checks made before any work
 * (context window, the request's work budget), the job admitted to the scheduler, and its events written back whole
 * ({@link WholeResponse}) or streamed ({@link StreamResponse}), or as a Responses API response
 * ({@link ResponsesResponse}).
 */
final class CompletionEndpoint {
  /** The three generating APIs, with the prefix of their response ids. */
  enum Api {
    COMPLETIONS("cmpl-"),
    CHAT("chatcmpl-"),
    RESPONSES("resp_");

    final String idPrefix;

    Api(String idPrefix) {
      this.idPrefix = idPrefix;
    }
  }

  /** A parsed request and the body it came from (the Responses API echoes its settings back). */
  private record Parsed(ParsedRequest request, JsonNode body) {}

  /** How often a stream that has nothing to send writes an SSE comment, to find out whether its client is still there. */
  static final long KEEP_ALIVE_MILLIS = 2_000;

  private final LoadedModel model;
  private final Generator generator;
  private final ConfidenceModel confidence;
  private final ServerConfig config;
  private final Scheduler scheduler;
  private final ServerMetrics metrics;
  private final RequestLog log;
  private final ExecutorService parsing;
  private final RequestParser parser;
  private final Responses responses;
  private final SecureRandom random = new SecureRandom();
  volatile Consumer<int[]> faultHook; // see OpenAiServer#injectFault

  CompletionEndpoint(LoadedModel model, Generator generator, ConfidenceModel confidence, ServerConfig config,
      Scheduler scheduler, ServerMetrics metrics, RequestLog log, ExecutorService parsing) {
    this.model = model;
    this.generator = generator;
    this.confidence = confidence;
    this.config = config;
    this.scheduler = scheduler;
    this.metrics = metrics;
    this.log = log;
    this.parsing = parsing;
    this.parser = new RequestParser(model, config.limits(), generator.contextWindow(), defaults(model, config),
        new Constraints(model), config.splitSpecialTokens());
    this.responses = new Responses(model.tokenizer(), confidence);
  }

  int handle(HttpExchange exchange, RequestLog.Entry entry, Api api) throws IOException {
    if (scheduler.stopping()) {
      throw Scheduler.shuttingDown(); // before reading anything: a client learns at once
    }
    byte[] body = Http.readBody(exchange, config.maxBodyBytes());
    Parsed parsed = parse(body, api);
    ParsedRequest request = parsed.request();
    boolean chat = api != Api.COMPLETIONS;
    log.prompts(entry, request.promptTexts());
    checkContext(request, chat);
    checkBudget(request);
    long seed = request.seed() != null ? request.seed() : random.nextLong();
    long now = System.nanoTime();
    long deadline = now + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMillis());
    GenerationJob job = new GenerationJob(entry.requestId, request, model, generator, confidence, seed, now, deadline,
        metrics, faultHook, generator.kvBytesPerPosition());
    scheduler.submit(job);
    String id = api.idPrefix + HexFormat.of().formatHex(randomBytes(api == Api.RESPONSES ? 24 : 12));
    long created = System.currentTimeMillis() / 1000;
    try {
      if (api == Api.RESPONSES) {
        return new ResponsesResponse(this, job, request, parsed.body(), id, created, entry).write(exchange);
      }
      return request.stream()
          ? new StreamResponse(this, job, request, id, created, entry).write(exchange)
          : new WholeResponse(this, job, request, id, created, entry).write(exchange);
    } finally {
      job.cancel(); // a no-op when it already finished; frees the worker when the client left
    }
  }

  /** Parses on the parsing threads; the HTTP thread (virtual) waits without holding a carrier. */
  private Parsed parse(byte[] body, Api api) {
    try {
      return parsing.submit(() -> {
        JsonNode root = RequestParser.parseJson(body);
        if (api != Api.RESPONSES) {
          return new Parsed(parser.parse(root, api == Api.CHAT), root);
        }
        try {
          return new Parsed(parser.parse(ResponsesRequest.chat(root), true), root);
        } catch (ApiException e) {
          throw ResponsesRequest.renamed(e);
        }
      }).get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Scheduler.shuttingDown();
    } catch (java.util.concurrent.RejectedExecutionException e) {
      throw Scheduler.shuttingDown();
    }
  }

  /** Every prompt, and prompt + max_tokens, within the context window (in long arithmetic: max_tokens may be huge). */
  private void checkContext(ParsedRequest request, boolean chat) {
    int context = generator.contextWindow();
    for (int[] prompt : request.prompts()) {
      if (prompt.length >= context) {
        throw ApiException.invalid(chat ? "messages" : "prompt", "context_length_exceeded", "This model's maximum "
            + "context length is " + context + " tokens. However, your prompt has " + prompt.length + " tokens.");
      }
      if (request.maxTokens() != null && (long) prompt.length + request.maxTokens() > context) {
        throw ApiException.invalid("max_tokens", "context_length_exceeded",
            "This model's maximum context length is " + context + " tokens. However, you requested "
                + ((long) prompt.length + request.maxTokens()) + " tokens (" + prompt.length + " in the prompt, "
                + request.maxTokens() + " for the completion).");
      }
    }
  }

  /**
   * The work one request may ask for: tokens processed over all its choices (prompt + max_tokens each; the rest of
   * the window when max_tokens is absent) and the response's estimated size. A request past either is refused
   * before it runs, naming the limit.
   */
  private void checkBudget(ParsedRequest request) {
    int context = generator.contextWindow();
    long work = 0;
    long emitted = 0;
    for (int[] prompt : request.prompts()) {
      long output = request.maxTokens() != null ? request.maxTokens() : context - prompt.length;
      work += sessionsPerPrompt(request) * (prompt.length + output);
      emitted += request.n() * (output + (request.echo() ? prompt.length : 0));
    }
    long tokenLimit = config.limits().requestTokens(context);
    if (work > tokenLimit) {
      throw ApiException.invalid("max_tokens", "request_too_large", "this request asks for up to " + work
          + " tokens of work (" + request.prompts().size() + " prompt(s) x n " + request.n() + " x prompt and "
          + "max_tokens, consistency samples included); one request may ask for at most " + tokenLimit
          + ": lower n, max_tokens, the samples or the prompts");
    }
    long perToken = 48 + (request.logprobs() ? 96L * (1 + request.topLogprobs()) : 0) + (request.confidence() ? 48 : 0);
    long bytes = emitted * perToken;
    if (bytes > config.limits().maxResponseBytes()) {
      throw ApiException.invalid(request.logprobs() ? "top_logprobs" : "max_tokens", "request_too_large",
          "the response could reach " + bytes / (1024 * 1024) + " MB; the limit is "
              + config.limits().maxResponseBytes() / (1024 * 1024) + " MB: lower max_tokens, n or top_logprobs");
    }
  }

  /** Sessions each prompt runs: its n choices and its consistency samples. */
  private static long sessionsPerPrompt(ParsedRequest request) {
    return request.n() + (request.consistency() == null ? 0 : request.consistency().samples());
  }

  /** The sampling defaults requests get: the checkpoint's, unless the server was told to ignore them. */
  static GenerationDefaults defaults(LoadedModel model, ServerConfig config) {
    return config.useGenerationConfig() ? GenerationDefaults.of(model.generationConfig()) : GenerationDefaults.OPENAI;
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  Responses responses() {
    return responses;
  }

  String modelName() {
    return model.name();
  }

  ServerMetrics metrics() {
    return metrics;
  }

  /**
   * The job's next event. A stream ({@code keepAlive} not null) writes an SSE comment line (": keep-alive") each
   * {@link #KEEP_ALIVE_MILLIS} it waits, e.g. while queued behind other requests: clients ignore comments, and a
   * client that has left makes the write fail, which cancels its job before the worker spends time on it.
   */
  Events next(GenerationJob job, OutputStream keepAlive) throws IOException {
    long limit = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMillis() + 30_000);
    try {
      while (true) {
        long left = limit - System.nanoTime();
        if (left <= 0) {
          job.cancel();
          return new Events.Failed(ApiException.server(504, "timeout", "the request timed out"));
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
      return new Events.Failed(Scheduler.shuttingDown());
    }
  }
}
