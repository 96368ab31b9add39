package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.get;
import static dev.candor.engine.server.ServerHttpTest.health;
import static dev.candor.engine.server.ServerHttpTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One regression test per row of the adversarial pass (issue 20): each reproduces what was observed and checks the
 * fixed behaviour. Row 1 (the breaker with a drafter) is also tested in the decode loop (BreakerTest); row 8 (cold and
 * warm records) in DistributionDeterminismTest; row 9 (shutdown) in ServerOperationsTest.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HostileInputTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static TestServer server;

  @BeforeAll
  static void start() {
    server = new TestServer(false, ServerConfig.defaults(0));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** A raw HTTP exchange: the response's status (0 when the server closed without one) and its text. */
  record Raw(int status, String text) {}

  static Raw raw(TestServer s, byte[] request, boolean closeAfterWrite) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", s.server.port())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write(request);
      out.flush();
      if (closeAfterWrite) {
        return new Raw(0, "");
      }
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      try {
        for (int n; (n = in.read(buffer)) > 0; ) {
          got.write(buffer, 0, n);
          if (got.toString(StandardCharsets.UTF_8).contains("\r\n\r\n") && complete(got.toString(StandardCharsets.UTF_8))) {
            break;
          }
        }
      } catch (java.net.SocketException | SocketTimeoutException reset) {
        // a closed connection is an acceptable answer to garbage; what was read so far is the answer
      }
      String text = got.toString(StandardCharsets.UTF_8);
      int status = text.startsWith("HTTP/1.1 ") ? Integer.parseInt(text.substring(9, 12)) : 0;
      return new Raw(status, text);
    }
  }

  private static boolean complete(String response) {
    int headerEnd = response.indexOf("\r\n\r\n");
    String headers = response.substring(0, headerEnd).toLowerCase();
    int at = headers.indexOf("content-length: ");
    if (at < 0) {
      return false;
    }
    int length = Integer.parseInt(headers.substring(at + 16).split("\r\n")[0].trim());
    return response.getBytes(StandardCharsets.UTF_8).length >= headerEnd + 4 + length;
  }

  static byte[] request(String method, String path, String host, String contentType, String body) {
    StringBuilder r = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n");
    if (contentType != null) {
      r.append("Content-Type: ").append(contentType).append("\r\n");
    }
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    r.append("Content-Length: ").append(bytes.length).append("\r\nConnection: close\r\n\r\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(r.toString().getBytes(StandardCharsets.UTF_8));
    out.writeBytes(bytes);
    return out.toByteArray();
  }

  static String ids(int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(Integer.toString(100 + i % 50));
    }
    return "[" + String.join(",", ids) + "]";
  }

  @Test
  void row2ContextArithmeticCannotOverflow() throws Exception {
    int context = TestServer.TARGET.maxPositionEmbeddings();
    String prompt = ids(context - 24);
    assertError(post(server, "/v1/completions", "{\"prompt\": " + prompt + ", \"max_tokens\": 2147483647}"), 400,
        "max_tokens");
    assertError(post(server, "/v1/completions", "{\"prompt\": " + prompt + ", \"max_tokens\": 25}"), 400,
        "max_tokens");
    ServerHttpTest.Reply fits = post(server, "/v1/completions", "{\"prompt\": " + prompt + ", \"max_tokens\": 24}");
    assertEquals(200, fits.status(), fits.raw());
    assertTrue(fits.body().get("usage").get("total_tokens").asInt() <= context, fits.raw());
  }

  @Test
  void row3AGarbledChunkedBodyIsTheClientsError() throws Exception {
    long failedBefore = health(server).get("failed").asLong();
    for (String chunk : List.of("ZZZ", "-5", "ffffffffffffffffffff")) {
      byte[] bad = ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk + "\r\n{\"prompt\": \"a\"}\r\n0\r\n\r\n")
          .getBytes(StandardCharsets.UTF_8);
      Raw r = raw(server, bad, false);
      assertTrue(r.status() == 400 || r.status() == 0, "400 or a closed connection, not " + r.text());
      assertFalse(r.text().contains("Exception"), r.text());
    }
    byte[] half = ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Content-Length: 1000\r\n\r\n{\"prompt\": ").getBytes(StandardCharsets.UTF_8);
    raw(server, half, true); // the client leaves mid-upload
    Thread.sleep(300);
    assertEquals(failedBefore, health(server).get("failed").asLong(), "no server error was counted");
  }

  @Test
  void row4APromptThatCannotFitIsRefusedBeforeTokenizing() throws Exception {
    String huge = "x".repeat(3 * 1024 * 1024);
    ServerHttpTest.Reply r = post(server, "/v1/completions", "{\"prompt\": \"" + huge + "\", \"max_tokens\": 1}");
    assertError(r, 400, "prompt");
    assertTrue(r.body().get("error").get("message").asText().contains("cannot fit"), r.raw());
    assertEquals("context_length_exceeded", r.body().get("error").get("code").asText());
  }

  @Test
  void row5OneRequestCannotAskForUnboundedWork() throws Exception {
    String body = "{\"prompt\": [" + String.join(",", Collections.nCopies(16, "\"x = 0\\n\"")) + "], \"n\": 8, "
        + "\"max_tokens\": 480, \"temperature\": 2, \"logprobs\": 20, \"echo\": true}";
    ServerHttpTest.Reply r = post(server, "/v1/completions", body);
    assertError(r, 400, "max_tokens");
    assertEquals("request_too_large", r.body().get("error").get("code").asText());
    assertTrue(r.body().get("error").get("message").asText().contains("at most " + 8 * 1024), r.raw());
  }

  @Test
  void row5RequestsAreInterleavedAChoiceAtATime() throws Exception {
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0))) {
      List<Integer> order = Collections.synchronizedList(new ArrayList<>());
      CountDownLatch gate = new CountDownLatch(1);
      s.server.injectFault(prompt -> {
        order.add(prompt[0]);
        if (order.size() == 1) {
          try {
            gate.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      CompletableFuture<ServerHttpTest.Reply> longJob = CompletableFuture.supplyAsync(() -> call(s,
          "{\"prompt\": [7, 8, 9], \"n\": 4, \"max_tokens\": 3}"));
      ServerOperationsTest.await("the long job holds the worker", () -> health(s).get("running").asInt() == 1);
      CompletableFuture<ServerHttpTest.Reply> shortJob = CompletableFuture.supplyAsync(() -> call(s,
          "{\"prompt\": [5, 6], \"max_tokens\": 2}"));
      ServerOperationsTest.await("the short job waits", () -> health(s).get("queued").asInt() == 1);
      gate.countDown();
      assertEquals(200, shortJob.get(60, TimeUnit.SECONDS).status());
      assertEquals(200, longJob.get(60, TimeUnit.SECONDS).status());
      assertEquals(List.of(7, 5, 7, 7, 7), order, "the short request was admitted after one choice of the long one");
    }
  }

  @Test
  void row5AShortRequestIsServedWhileALongOneStreams() throws Exception {
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0))) {
      java.net.Socket longStream = ServerHttpTest.openStream(s, 900); // generating now
      ServerHttpTest.Reply quick = call(s, "{\"prompt\": [5, 6], \"max_tokens\": 2}");
      assertEquals(200, quick.status(), quick.raw());
      assertEquals(1, health(s).get("running").asInt(), "the short request joined the batch and left it; the long "
          + "one is still generating");
      longStream.close();
    }
  }

  static ServerHttpTest.Reply call(TestServer s, String body) {
    try {
      return post(s, "/v1/completions", body);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void row6TextOffsetCountsCharactersOfTheReturnedText() throws Exception {
    String prompt = "éx\uD83D\uDE00y z";
    ServerHttpTest.Reply r = post(server, "/v1/completions", JSON.writeValueAsString(JSON.createObjectNode()
        .put("prompt", prompt).put("echo", true).put("logprobs", 0).put("max_tokens", 1)));
    assertEquals(200, r.status(), r.raw());
    JsonNode logprobs = r.body().get("choices").get(0).get("logprobs");
    Tokenizer tokenizer = server.target.tokenizer();
    int[] tokens = tokenizer.encode(prompt);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int i = 0; i < tokens.length; i++) {
      assertEquals(completeCharacters(bytes.toByteArray()), logprobs.get("text_offset").get(i).asInt(),
          "token " + i + " of " + logprobs.get("tokens"));
      bytes.writeBytes(tokenizer.bytes(tokens[i]));
    }
    String text = r.body().get("choices").get(0).get("text").asText();
    int generated = logprobs.get("text_offset").get(tokens.length).asInt();
    assertEquals(prompt.codePointCount(0, prompt.length()), generated, "the output starts after the prompt's "
        + "characters: " + text);
  }

  /** Characters (code points) fully spelled by a byte prefix: an independent count of what text_offset means. */
  static int completeCharacters(byte[] utf8) {
    int count = 0;
    for (int i = 0; i < utf8.length; ) {
      int b = utf8[i] & 0xff;
      int length = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      if (i + length > utf8.length) {
        break;
      }
      count++;
      i += length;
    }
    return count;
  }

  @Test
  void row7ALoneSurrogateIsEchoedAsTheModelSawIt() throws Exception {
    ServerHttpTest.Reply r = post(server, "/v1/completions",
        "{\"prompt\": \"\\ud800x\", \"echo\": true, \"logprobs\": 1, \"max_tokens\": 1}");
    assertEquals(200, r.status(), r.raw());
    String text = r.body().get("choices").get(0).get("text").asText();
    assertTrue(text.startsWith("\uFFFDx"), text);
    StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(r.raw().getBytes(StandardCharsets.UTF_8))); // well-formed throughout
    assertFalse(r.raw().toLowerCase().contains("\\ud800"), r.raw());
  }

  @Test
  void row11ForeignHostsOriginsAndContentTypesAreRefused() throws Exception {
    String body = "{\"prompt\": \"a\", \"max_tokens\": 1}";
    Raw rebinding = raw(server, request("POST", "/v1/completions", "attacker.example:8000", "application/json", body),
        false);
    assertEquals(403, rebinding.status(), rebinding.text());
    assertTrue(rebinding.text().contains("host_not_allowed"), rebinding.text());
    Raw plain = raw(server, request("POST", "/v1/completions", "127.0.0.1", "text/plain", body), false);
    assertEquals(415, plain.status(), plain.text());
    Raw localhost = raw(server, request("POST", "/v1/completions", "localhost:" + server.server.port(),
        "application/json; charset=utf-8", body), false);
    assertEquals(200, localhost.status(), localhost.text());
    assertError(post(server, "/v1/completions", body, "Origin", "http://evil.example"), 403, null);
    assertEquals(200, post(server, "/v1/completions", body, "Origin", "http://127.0.0.1:" + server.server.port())
        .status(), "the server's own page is same-origin");
  }

  @Test
  void row11CorsIsOptIn() throws Exception {
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0)
        .withAllowedOrigins(List.of("http://localhost:3000")))) {
      java.net.http.HttpResponse<String> preflight = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(s.url("/v1/chat/completions")))
              .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody())
              .header("Origin", "http://localhost:3000").header("Access-Control-Request-Method", "POST").build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(204, preflight.statusCode());
      assertEquals("http://localhost:3000", preflight.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
      assertTrue(preflight.headers().firstValue("Access-Control-Allow-Headers").orElse("").contains("Content-Type"));
      assertError(post(s, "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 1}", "Origin",
          "http://localhost:3001"), 403, null);
    }
  }

  @Test
  void row12ErrorsNameTheProblemNotTheLibrary() throws Exception {
    String deep = "[".repeat(100) + "]".repeat(100);
    ServerHttpTest.Reply nested = post(server, "/v1/completions", "{\"prompt\": " + deep + "}");
    assertError(nested, 400, null);
    String message = nested.body().get("error").get("message").asText();
    assertTrue(message.contains("64 levels"), message);
    for (String internal : List.of("StreamReadConstraints", "Feature", "jackson", "com.")) {
      assertFalse(message.contains(internal), message);
    }
    ServerHttpTest.Reply escape = post(server, "/v1/completions", "{\"prompt\": \"\\q\"}");
    assertError(escape, 400, null);
    assertFalse(escape.raw().contains("Feature"), escape.raw());
    Raw wrongMethod = raw(server, request("DELETE", "/v1/models", "127.0.0.1", null, null), false);
    assertEquals(405, wrongMethod.status(), wrongMethod.text());
    assertTrue(wrongMethod.text().contains("Allow: GET, HEAD"), wrongMethod.text());
    Raw head = raw(server, request("HEAD", "/health", "127.0.0.1", null, null), false);
    assertEquals(200, head.status(), head.text());
    assertTrue(head.text().endsWith("\r\n\r\n"), "HEAD has no body: " + head.text());
  }

  /** An error the HTTP layer itself sends: OpenAI's JSON error object with the status, no HTML, no library's words. */
  static void assertJsonError(Raw r, int status, String code) throws Exception {
    assertEquals(status, r.status(), r.text());
    int headerEnd = r.text().indexOf("\r\n\r\n");
    String head = r.text().substring(0, headerEnd).toLowerCase();
    assertTrue(head.contains("content-type: application/json"), r.text());
    JsonNode error = JSON.readTree(r.text().substring(headerEnd + 4)).get("error");
    assertNotNull(error, r.text());
    assertEquals(code, error.get("code").asText(), r.text());
    assertFalse(error.get("message").asText().isBlank(), r.text());
    for (String internal : List.of("<", "Exception", "jetty", "sun.", "java.")) {
      assertFalse(r.text().contains(internal), internal + " in " + r.text());
    }
  }

  @Test
  void row12AnOversizedUrlIs414AndOversizedHeadersAre431() throws Exception {
    String longPath = "/v1/models/" + "x".repeat(64 * 1024);
    assertJsonError(raw(server, request("GET", longPath, "127.0.0.1", null, null), false), 414, "uri_too_long");
    String bigHeader = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + "y".repeat(64 * 1024)
        + "\r\nConnection: close\r\n\r\n";
    assertJsonError(raw(server, bigHeader.getBytes(StandardCharsets.UTF_8), false), 431, "headers_too_large");
    StringBuilder many = new StringBuilder("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (int i = 0; i < 2000; i++) {
      many.append("X-H").append(i).append(": v\r\n");
    }
    many.append("Connection: close\r\n\r\n");
    assertJsonError(raw(server, many.toString().getBytes(StandardCharsets.UTF_8), false), 431, "headers_too_large");
    assertEquals(200, get(server, "/health").status(), "and the server serves on");
  }

  @Test
  void row12TheHttpLayersOwnErrorsAreOpenAiJsonNotHtml() throws Exception {
    for (String line : List.of("GET /v1/models HTTP/1.1 extra", "GET /a%zz HTTP/1.1", "GET /a b HTTP/1.1",
        "BREW\u0001 /x HTTP/1.1", "GET /health HTTP/9.9")) {
      Raw r = raw(server, (line + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.UTF_8), false);
      assertTrue(r.status() >= 400 && r.status() < 600, line + " -> " + r.text());
      assertJsonError(r, r.status(), JSON.readTree(r.text().substring(r.text().indexOf("\r\n\r\n") + 4))
          .get("error").get("code").asText());
    }
    Raw noHost = raw(server, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.UTF_8),
        false);
    assertJsonError(noHost, 400, "bad_request");
  }

  @Test
  void row12A429CarriesItsReasonPhrase() throws Exception {
    try (TestServer full = new TestServer(false, ServerConfig.defaults(0).withMaxQueue(0))) {
      Raw r = raw(full, request("POST", "/v1/completions", "127.0.0.1", "application/json",
          "{\"prompt\": \"a\", \"max_tokens\": 1}"), false);
      assertTrue(r.text().startsWith("HTTP/1.1 429 Too Many Requests\r\n"), r.text());
      assertTrue(r.text().contains("Retry-After: 1\r\n"), r.text());
      assertJsonError(r, 429, "queue_full");
    }
  }

  @Test
  void oneConnectionCarriesSeveralRequestsAndAChunkedBody() throws Exception {
    String body = "{\"prompt\": \"a\", \"max_tokens\": 1}";
    String chunked = Integer.toHexString(5) + "\r\n" + body.substring(0, 5) + "\r\n"
        + Integer.toHexString(body.length() - 5) + "\r\n" + body.substring(5) + "\r\n0\r\n\r\n";
    String requests = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        + "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n" + chunked
        + "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    try (Socket socket = new Socket("127.0.0.1", server.server.port())) {
      socket.setSoTimeout(60_000);
      socket.getOutputStream().write(requests.getBytes(StandardCharsets.UTF_8));
      String replies = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      // each status line follows the previous response's body directly (no newline after a JSON body)
      List<String> statusLines = java.util.regex.Pattern.compile("HTTP/1\\.1 \\d{3} [^\r]*").matcher(replies)
          .results().map(java.util.regex.MatchResult::group).toList();
      assertEquals(List.of("HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"), statusLines, replies);
      assertTrue(replies.contains("\"text_completion\""), replies);
    }
  }

  @Test
  void theHttpLayersRefusalsAreLoggedAndCounted() throws Exception {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0)
        .withAccessLog(new java.io.PrintStream(log, true, StandardCharsets.UTF_8)))) {
      assertEquals(414, raw(s, request("GET", "/" + "x".repeat(32 * 1024), "127.0.0.1", null, null), false).status());
      assertEquals(1, ServerOperationsTest.sample(ServerOperationsTest.metrics(s),
          "candor_errors_total{kind=\"uri_too_long\"}"));
      assertTrue(log.toString(StandardCharsets.UTF_8).matches("(?s).* candor request req-\\d+ - - 414 \\d+ ms\n.*"),
          log.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  void aPortInUseIsOneClearError() {
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> HttpServers.start(new java.net.InetSocketAddress("127.0.0.1", server.server.port()), 1, exchange -> { },
            status -> { }));
    assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + server.server.port() + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("in use"), e.getMessage());
  }

  @Test
  void aWholeResponseThatTakesLongerThanTheIdleTimeoutIsNotCut() throws Exception {
    // the engine's tests run with -Dcandor.http.idleSeconds=3 (pom.xml): a generation that writes nothing for longer
    // than that is still a request in progress, not an idle connection
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0))) {
      s.server.injectFault(prompt -> {
        try {
          Thread.sleep(3 * HttpServers.IDLE_MILLIS / 2);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      ServerHttpTest.Reply slow = post(s, "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2}");
      assertEquals(200, slow.status(), slow.raw());
    }
  }

  @Test
  void row13OpenAiConventions() throws Exception {
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\"} xyz"), 400, null);
    JsonNode model = get(server, "/v1/models/candor-test").body();
    assertEquals("candor-test", model.get("id").asText());
    assertEquals("model", model.get("object").asText());
    assertError(get(server, "/v1/models/gpt-9"), 404, "model");
    assertError(post(server, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], "
        + "\"stream_options\": {\"include_usage\": true}}"), 400, "stream_options");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\", \"user\": 5}"), 400, "user");
    assertError(post(server, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": []}]}"), 400,
        "messages[0].content");
    try (TestServer secured = new TestServer(false, ServerConfig.defaults(0).withApiKey("k3y"))) {
      assertEquals(200, post(secured, "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 1}", "Authorization",
          "bearer k3y").status(), "the auth scheme is case-insensitive");
    }
  }

  @Test
  void row9HealthSaysNotReadyAsSoonAsShutdownBegins() throws Exception {
    TestServer s = new TestServer(false, ServerConfig.defaults(0));
    try {
      CountDownLatch hold = new CountDownLatch(1);
      s.server.injectFault(prompt -> {
        try {
          hold.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      CompletableFuture<ServerHttpTest.Reply> inFlight = CompletableFuture.supplyAsync(() -> call(s,
          "{\"prompt\": \"a\", \"max_tokens\": 2}"));
      ServerOperationsTest.await("a request runs", () -> health(s).get("running").asInt() == 1);
      CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> s.server.shutdown(30_000));
      ServerOperationsTest.await("shutdown has begun", () -> get(s, "/health").status() == 503);
      JsonNode h = get(s, "/health").body();
      assertFalse(h.get("ready").asBoolean());
      assertEquals("shutting_down", h.get("status").asText());
      ServerHttpTest.Reply refused = call(s, "{\"prompt\": \"a\", \"max_tokens\": 1}");
      assertError(refused, 503, null);
      hold.countDown();
      assertEquals(200, inFlight.get(30, TimeUnit.SECONDS).status(), "the request in flight finished");
      shutdown.get(30, TimeUnit.SECONDS);
      assertNotNull(refused.body());
    } finally {
      s.close();
    }
  }
}
