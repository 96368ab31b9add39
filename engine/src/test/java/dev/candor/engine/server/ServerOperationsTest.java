package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.get;
import static dev.candor.engine.server.ServerHttpTest.health;
import static dev.candor.engine.server.ServerHttpTest.post;
import static dev.candor.engine.server.ServerHttpTest.startStream;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The operational surface and the faults a server meets: Prometheus metrics, a client that leaves while queued, a
 * request that stalls half-sent, a slow reader, a model that fails on one request, and a graceful shutdown.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServerOperationsTest {
  static final String SHORT = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 3}";

  /** The value of one sample line of the Prometheus text format, or 0 when the series is absent. */
  static double sample(String metrics, String series) {
    Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  static String metrics(TestServer s) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(s.url("/metrics")))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
    return r.body();
  }

  static void await(String what, java.util.concurrent.Callable<Boolean> condition) throws Exception {
    for (int i = 0; i < 400; i++) {
      if (condition.call()) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("timed out waiting until " + what);
  }

  /**
   * Holds the worker: the first request to reach it waits in the fault hook until {@link #open}; the worker is busy
   * for exactly as long as a test needs, whatever the machine's speed.
   */
  static final class Gate implements AutoCloseable {
    final java.util.concurrent.CountDownLatch latch = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

    final TestServer server;

    Gate(TestServer server, java.util.function.IntConsumer afterFirst) {
      this.server = server;
      server.server.injectFault(prompt -> {
        int call = calls.incrementAndGet();
        if (call == 1) {
          try {
            latch.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        } else {
          afterFirst.accept(call);
        }
      });
    }

    void open() {
      latch.countDown();
    }

    @Override
    public void close() {
      latch.countDown();
      server.server.injectFault(null);
    }
  }

  /** Reads a stream's data lines up to and including [DONE] (or the end of the connection). */
  static List<String> readData(Socket socket) throws Exception {
    List<String> data = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.startsWith("data: ")) {
        data.add(line);
        if (line.equals("data: [DONE]")) {
          break;
        }
      }
    }
    return data;
  }

  @Test
  void metricsCountRequestsTokensErrorsAndLatencyInPrometheusFormat() throws Exception {
    try (TestServer s = new TestServer(true, ServerConfig.defaults(0))) {
      assertEquals(200, post(s, "/v1/chat/completions", SHORT).status());
      assertEquals(200, post(s, "/v1/chat/completions", SHORT).status());
      assertError(post(s, "/v1/chat/completions", "{\"messages\": []}"), 400, "messages");
      String text = metrics(s);
      assertEquals(2, sample(text, "candor_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"));
      assertEquals(1, sample(text, "candor_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"}"));
      assertEquals(1, sample(text, "candor_errors_total{kind=\"invalid_request_error\"}"), text);
      assertEquals(2, sample(text, "candor_time_to_first_token_seconds_count"));
      assertEquals(3, sample(text, "candor_request_duration_seconds_count{endpoint=\"/v1/chat/completions\"}"),
          "every completion request, the rejected one too");
      double emitted = 0;
      for (String source : List.of("target", "accepted", "resampled", "bonus")) {
        emitted += sample(text, "candor_generated_tokens_total{source=\"" + source + "\"}");
      }
      assertEquals(6, emitted, "3 tokens per request, each counted once by the path that produced it");
      assertTrue(sample(text, "candor_draft_tokens_total") > 0, "the drafter proposed tokens");
      assertTrue(sample(text, "candor_draft_tokens_accepted_total") <= sample(text, "candor_draft_tokens_total"));
      assertEquals(0, sample(text, "candor_queue_depth"));
      assertEquals(1, sample(text, "candor_model_info{backend=\"" + s.target.backend().description()
          + "\",model=\"candor-test\"}"), text);
      assertEquals(4, health(s).get("requests").asLong(), "three completions and the scrape");
    }
  }

  @Test
  void aStreamWhoseClientLeavesWhileQueuedIsNeverRun() throws Exception {
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0)); Gate gate = new Gate(s, call -> { })) {
      Socket running = startStream(s, 5);
      await("the first stream holds the worker", () -> health(s).get("running").asInt() == 1);
      Socket queued = new Socket("127.0.0.1", s.server.port());
      String body = "{\"prompt\": \"q\", \"max_tokens\": 50, \"stream\": true}";
      queued.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
          + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
      await("the stream is queued", () -> health(s).get("queued").asInt() == 1);
      queued.close();
      // its keep-alive comments find the closed socket within a few intervals; only then let the worker go on
      Thread.sleep(3 * CompletionEndpoint.KEEP_ALIVE_MILLIS);
      gate.open();
      assertEquals("data: [DONE]", readData(running).getLast());
      running.close();
      await("the queued job is dropped", () ->
          sample(metrics(s), "candor_dropped_jobs_total{reason=\"cancelled_while_queued\"}") == 1);
      assertEquals(1, health(s).get("generations").asLong(), "only the running stream generated anything");
      assertEquals(200, post(s, "/v1/chat/completions", SHORT).status());
    }
  }

  @Test
  void aRequestThatStallsHalfSentLosesItsConnectionAndOthersAreServed() throws Exception {
    // the engine's tests run with -Dsun.net.httpserver.maxReqTime=3 (pom.xml); a server's default is 30 s
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0));
        Socket stalled = new Socket("127.0.0.1", s.server.port())) {
      stalled.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
          + "{\"messages\": [").getBytes(StandardCharsets.UTF_8));
      stalled.getOutputStream().flush();
      assertEquals(200, post(s, "/v1/chat/completions", SHORT).status(), "a stalled client blocks no one");
      stalled.setSoTimeout(20_000);
      long start = System.nanoTime();
      InputStream in = stalled.getInputStream();
      try {
        while (in.read() >= 0) {
          // an error response, if any, then the end of the stream
        }
      } catch (java.net.SocketException reset) {
        // closed by the server: what we wanted
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      assertTrue(seconds < 20, "the server dropped the stalled request after " + seconds + " s");
      assertEquals(200, post(s, "/v1/chat/completions", SHORT).status());
    }
  }

  @Test
  void aSlowReaderGetsTheWholeStream() throws Exception {
    try (TestServer s = new TestServer(true, ServerConfig.defaults(0));
        Socket socket = new Socket("127.0.0.1", s.server.port())) {
      String body = "{\"prompt\": \"slow\", \"max_tokens\": 40, \"stream\": true, \"temperature\": 0}";
      socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
          + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8),
          16);
      String line;
      List<String> data = new ArrayList<>();
      while ((line = in.readLine()) != null) {
        if (line.startsWith("data: ")) {
          Thread.sleep(20); // far slower than the tiny model generates: the events queue up server-side
          data.add(line);
          if (line.equals("data: [DONE]")) {
            break;
          }
        }
      }
      assertEquals("data: [DONE]", data.getLast(), "the stream ended with [DONE]");
      assertTrue(data.get(data.size() - 2).matches(".*\"finish_reason\":\"(length|stop)\".*"), data.get(data.size() - 2));
    }
  }

  @Test
  void aModelFailureFailsThatRequestOnly() throws Exception {
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0)); Gate gate = new Gate(s, call -> {
      if (call == 2) {
        throw new IllegalStateException("injected fault at /secret/path/model.safetensors");
      }
    })) {
      Socket running = startStream(s, 20);
      await("the first stream holds the worker", () -> health(s).get("running").asInt() == 1);
      CompletableFuture<ServerHttpTest.Reply> failing = CompletableFuture.supplyAsync(() -> call(s, SHORT));
      await("the failing request is queued", () -> health(s).get("queued").asInt() == 1);
      gate.open();
      List<String> data = readData(running);
      assertEquals("data: [DONE]", data.getLast(), "the request before it finished normally");
      assertTrue(data.stream().noneMatch(l -> l.contains("\"error\"")), data.toString());
      ServerHttpTest.Reply failed = failing.get(60, TimeUnit.SECONDS);
      assertError(failed, 500, null);
      assertFalse(failed.raw().contains("secret") || failed.raw().contains("injected"), failed.raw());
      assertEquals(200, post(s, "/v1/chat/completions", SHORT).status(), "and the next one is served");
      String text = metrics(s);
      assertEquals(1, sample(text, "candor_dropped_jobs_total{reason=\"model_error\"}"));
      assertEquals(1, health(s).get("failed").asLong());
      running.close();
    }
  }

  static ServerHttpTest.Reply call(TestServer s, String body) {
    try {
      return post(s, "/v1/chat/completions", body);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void gracefulShutdownFinishesTheStreamInFlightAndRefusesNewWork() throws Exception {
    TestServer s = new TestServer(false, ServerConfig.defaults(0));
    try (Gate gate = new Gate(s, call -> { })) {
      Socket socket = startStream(s, 30);
      await("the stream holds the worker", () -> health(s).get("running").asInt() == 1);
      CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> s.server.shutdown(60_000));
      await("shutdown has begun", () -> call(s, SHORT).status() == 503);
      ServerHttpTest.Reply refused = call(s, SHORT);
      assertError(refused, 503, null);
      assertEquals("shutting_down", refused.body().get("error").get("code").asText());
      HttpResponse<String> raw = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
          s.url("/v1/chat/completions"))).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(SHORT)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(503, raw.statusCode());
      assertEquals("1", raw.headers().firstValue("Retry-After").orElse(null), "a client is told when to retry");
      gate.open(); // the stream in flight now generates, during the grace period
      List<String> data = readData(socket);
      assertEquals("data: [DONE]", data.getLast(), "the stream in flight ended cleanly");
      assertTrue(data.get(data.size() - 2).matches(".*\"finish_reason\":\"(length|stop)\".*"),
          data.get(data.size() - 2));
      assertTrue(data.size() > 3, "it generated: " + data);
      shutdown.get(60, TimeUnit.SECONDS);
      socket.close();
    } finally {
      s.close();
    }
  }
}
