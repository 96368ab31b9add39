package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Raw HTTP against the real server: exact JSON shapes, every error, auth, disconnects, the queue limit. */
class ServerHttpTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static TestServer server;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    server = new TestServer(true, ServerConfig.defaults(0).withMaxBodyBytes(64 * 1024));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  record Reply(int status, JsonNode body, String raw) {}

  static Reply post(TestServer s, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url(path))).timeout(Duration.ofSeconds(120))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    boolean typed = false;
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
      typed |= headers[i].equalsIgnoreCase("Content-Type");
    }
    if (!typed) {
      b.header("Content-Type", "application/json");
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = null;
    try {
      json = JSON.readTree(r.body());
    } catch (Exception notJson) {
      // streaming bodies are not one JSON document
    }
    return new Reply(r.statusCode(), json, r.body());
  }

  static Reply get(TestServer s, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url(path))).GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), JSON.readTree(r.body()), r.body());
  }

  static Set<String> keys(JsonNode node) {
    Set<String> keys = new TreeSet<>();
    node.fieldNames().forEachRemaining(keys::add);
    return keys;
  }

  static void assertError(Reply r, int status, String param) {
    assertEquals(status, r.status(), r.raw());
    JsonNode error = r.body().get("error");
    assertEquals(Set.of("message", "type", "param", "code"), keys(error), r.raw());
    assertFalse(error.get("message").asText().isBlank());
    if (param != null) {
      assertEquals(param, error.get("param").asText(), r.raw());
    }
    assertFalse(r.raw().contains("Exception") || r.raw().contains("\tat ") || r.raw().contains("/work/"),
        "no stack traces or paths: " + r.raw());
  }

  @Test
  void chatCompletionShapeIsOpenAis() throws Exception {
    Reply r = post(server, "/v1/chat/completions", """
        {"model": "candor-test", "messages": [{"role": "system", "content": "Be brief."},
          {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": " there"}]}],
         "max_tokens": 4, "temperature": 0, "logprobs": true, "top_logprobs": 2, "some_future_field": 1}""");
    assertEquals(200, r.status(), r.raw());
    JsonNode body = r.body();
    assertTrue(keys(body).containsAll(Set.of("id", "object", "created", "model", "choices", "usage")));
    assertEquals("chat.completion", body.get("object").asText());
    assertTrue(body.get("id").asText().startsWith("chatcmpl-"));
    JsonNode choice = body.get("choices").get(0);
    assertEquals(Set.of("index", "message", "logprobs", "finish_reason", "confidence"), keys(choice));
    assertEquals("assistant", choice.get("message").get("role").asText());
    JsonNode token = choice.get("logprobs").get("content").get(0);
    assertEquals(Set.of("token", "logprob", "bytes", "top_logprobs"), keys(token));
    assertEquals(Set.of("token", "logprob", "bytes"), keys(token.get("top_logprobs").get(0)));
    assertEquals(Set.of("prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"),
        keys(body.get("usage")));
    JsonNode confidence = choice.get("confidence");
    assertEquals(Set.of("method", "note", "tokens", "lines", "response", "summary"), keys(confidence));
    assertEquals(4, confidence.get("tokens").size());
    JsonNode summary = confidence.get("summary");
    assertTrue(keys(summary).containsAll(Set.of("n_tokens", "n_drafted", "n_accepted", "n_resampled", "n_bonus",
        "drafter_acceptance", "coverage")));
  }

  @Test
  void completionShapeIsOpenAis() throws Exception {
    Reply r = post(server, "/v1/completions", """
        {"prompt": ["Once upon", "A B C"], "max_tokens": 3, "temperature": 0, "logprobs": 1, "n": 2, "confidence": false}""");
    assertEquals(200, r.status(), r.raw());
    assertEquals("text_completion", r.body().get("object").asText());
    JsonNode choices = r.body().get("choices");
    assertEquals(4, choices.size(), "two prompts times n = 2");
    for (int i = 0; i < 4; i++) {
      JsonNode c = choices.get(i);
      assertEquals(i, c.get("index").asInt());
      assertEquals(Set.of("index", "text", "logprobs", "finish_reason"), keys(c));
      assertEquals(Set.of("tokens", "token_logprobs", "top_logprobs", "text_offset"), keys(c.get("logprobs")));
    }
    assertEquals(choices.get(0).get("text"), choices.get(1).get("text"), "greedy choices agree");
  }

  @Test
  void streamedChunksFollowTheSseFormat() throws Exception {
    Reply r = post(server, "/v1/chat/completions", """
        {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5, "temperature": 0, "stream": true,
         "logprobs": true, "stream_options": {"include_usage": true}}""");
    assertEquals(200, r.status());
    List<JsonNode> chunks = new ArrayList<>();
    String[] events = r.raw().split("\n\n");
    assertEquals("data: [DONE]", events[events.length - 1]);
    for (int i = 0; i < events.length - 1; i++) {
      if (events[i].equals(": keep-alive")) {
        continue; // an SSE comment, written while the stream waits (on a busy machine, before the first token)
      }
      assertTrue(events[i].startsWith("data: "), events[i]);
      chunks.add(JSON.readTree(events[i].substring(6)));
    }
    int tokens = 0;
    for (JsonNode chunk : chunks.subList(0, chunks.size() - 1)) {
      assertEquals("chat.completion.chunk", chunk.get("object").asText());
      assertTrue(chunk.get("usage").isNull());
      JsonNode choice = chunk.get("choices").get(0);
      if (choice.get("logprobs").isObject()) {
        tokens += choice.get("logprobs").get("content").size();
        assertEquals(choice.get("logprobs").get("content").size(), choice.get("confidence").get("tokens").size());
      }
    }
    assertEquals(5, tokens);
    assertEquals("assistant", chunks.getFirst().get("choices").get(0).get("delta").get("role").asText());
    JsonNode last = chunks.get(chunks.size() - 2).get("choices").get(0);
    assertEquals("length", last.get("finish_reason").asText());
    assertTrue(last.get("confidence").has("lines") && last.get("confidence").has("summary"));
    JsonNode usage = chunks.getLast();
    assertEquals(0, usage.get("choices").size());
    assertEquals(5, usage.get("usage").get("completion_tokens").asInt());
  }

  @Test
  void everyBadRequestGetsAClearError() throws Exception {
    String chat = "/v1/chat/completions";
    assertError(post(server, chat, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}"), 400, null);
    assertError(post(server, chat, "[1, 2]"), 400, null);
    assertError(post(server, chat, "{}"), 400, "messages");
    assertError(post(server, chat, "{\"messages\": []}"), 400, "messages");
    assertError(post(server, chat, "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}"), 400, "messages[0].role");
    assertError(post(server, chat, "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}"), 400, "messages[0].content");
    assertError(post(server, chat, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}"), 400,
        "messages[0].content[0].type");
    String ok = "\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]";
    assertError(post(server, chat, "{" + ok + ", \"temperature\": \"hot\"}"), 400, "temperature");
    assertError(post(server, chat, "{" + ok + ", \"temperature\": 3}"), 400, "temperature");
    assertError(post(server, chat, "{" + ok + ", \"top_p\": 0}"), 400, "top_p");
    assertError(post(server, chat, "{" + ok + ", \"n\": 100}"), 400, "n");
    assertError(post(server, chat, "{" + ok + ", \"max_tokens\": 0}"), 400, "max_tokens");
    assertError(post(server, chat, "{" + ok + ", \"max_tokens\": 1.5}"), 400, "max_tokens");
    assertError(post(server, chat, "{" + ok + ", \"top_logprobs\": 3}"), 400, "top_logprobs");
    assertError(post(server, chat, "{" + ok + ", \"logprobs\": true, \"top_logprobs\": 21}"), 400, "top_logprobs");
    assertError(post(server, chat, "{" + ok + ", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}"), 400, "stop");
    assertError(post(server, chat, "{" + ok + ", \"stop\": 7}"), 400, "stop");
    assertError(post(server, chat, "{" + ok + ", \"seed\": \"x\"}"), 400, "seed");
    assertError(post(server, chat, "{" + ok + ", \"stream\": \"yes\"}"), 400, "stream");
    assertError(post(server, chat, "{" + ok + ", \"model\": \"gpt-4o\"}"), 404, "model");
    assertError(post(server, chat, "{" + ok + ", \"logit_bias\": {\"5\": 1000}}"), 400, "logit_bias");
    assertError(post(server, chat, "{" + ok + ", \"presence_penalty\": 2.5}"), 400, "presence_penalty");
    assertError(post(server, chat, "{" + ok + ", \"tools\": [{\"type\": \"function\"}]}"), 400, "tools[0].function");
    assertError(post(server, chat, "{" + ok + ", \"response_format\": {\"type\": \"yaml\"}}"), 400,
        "response_format.type");
    assertError(post(server, chat, "{" + ok + ", \"max_tokens\": 5000}"), 400, "max_tokens");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"" + "word ".repeat(1100) + "\"}"), 400, "prompt");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"x\", \"logprobs\": true}"), 400, "logprobs");
    assertError(post(server, "/v1/completions", "{\"prompt\": [999999999]}"), 400, "prompt");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"\"}"), 400, "prompt");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"x\", \"suffix\": \"y\"}"), 400, "suffix");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"" + "a".repeat(70_000) + "\"}"), 413, null);
    assertError(get(server, "/v1/nothing"), 404, null);
    assertError(get(server, "/v1/chat/completions"), 405, null);
    // the server still serves after all of that
    assertEquals(200, post(server, chat, "{" + ok + ", \"max_tokens\": 2}").status());
  }

  @Test
  void withADrafterEveryTokenOfALongResponseHasLogprobsAndCoverageIsOne() throws Exception {
    Reply r = post(server, "/v1/chat/completions", """
        {"messages": [{"role": "user", "content": "Write at length."}], "max_tokens": 60, "temperature": 0.7,
         "seed": 3, "logprobs": true, "top_logprobs": 1}""");
    assertEquals(200, r.status(), r.raw());
    JsonNode choice = r.body().get("choices").get(0);
    JsonNode content = choice.get("logprobs").get("content");
    JsonNode summary = choice.get("confidence").get("summary");
    assertEquals(60, content.size());
    for (JsonNode t : content) {
      assertTrue(t.get("logprob").isNumber() && t.get("logprob").asDouble() <= 0, t.toString());
    }
    assertEquals(60, summary.get("n_tokens").asInt());
    assertEquals(1.0, summary.get("coverage").asDouble());
    assertTrue(summary.get("n_drafted").asInt() > 0, summary.toString());
    Set<String> sources = new TreeSet<>();
    choice.get("confidence").get("tokens").forEach(t -> sources.add(t.get("source").asText()));
    assertTrue(sources.contains("resampled") || sources.contains("accepted"), sources.toString());
    int bySource = summary.get("n_accepted").asInt() + summary.get("n_resampled").asInt()
        + summary.get("n_bonus").asInt() + summary.get("n_target").asInt();
    assertEquals(60, bySource);
  }

  @Test
  void theConfidenceBreakerStopsLowConfidenceOutput() throws Exception {
    // raw token probabilities of a random model are tiny: a breaker at 0.5 trips after the first full window
    Reply tripped = post(server, "/v1/chat/completions", """
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 40, "temperature": 0,
         "confidence_breaker": {"window": 4, "threshold": 0.5}}""");
    JsonNode choice = tripped.body().get("choices").get(0);
    assertEquals("low_confidence", choice.get("finish_reason").asText());
    JsonNode breaker = choice.get("confidence").get("breaker");
    assertTrue(breaker.get("tripped").asBoolean());
    assertTrue(breaker.get("window_p_correct").asDouble() < 0.5);
    assertTrue(choice.get("confidence").get("tokens").size() < 40);
    // a window longer than the output: nothing measured, which is not "low"
    Reply unmeasured = post(server, "/v1/chat/completions", """
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 3, "temperature": 0,
         "confidence_breaker": {"window": 10, "threshold": 0.5}}""");
    JsonNode b = unmeasured.body().get("choices").get(0).get("confidence").get("breaker");
    assertFalse(b.get("tripped").asBoolean());
    assertTrue(b.get("window_p_correct").isNull());
    assertEquals("length", unmeasured.body().get("choices").get(0).get("finish_reason").asText());
  }

  @Test
  void apiKeyIsRequiredWhenConfigured() throws Exception {
    try (TestServer secured = new TestServer(false, ServerConfig.defaults(0).withApiKey("s3cret"))) {
      String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 1}";
      assertError(post(secured, "/v1/chat/completions", body), 401, null);
      assertError(post(secured, "/v1/chat/completions", body, "Authorization", "Bearer wrong"), 401, null);
      assertError(get(secured, "/v1/models"), 401, null);
      assertEquals(200, post(secured, "/v1/chat/completions", body, "Authorization", "Bearer s3cret").status());
      assertEquals(200, get(secured, "/health").status(), "liveness needs no key");
    }
  }

  static JsonNode health(TestServer s) throws Exception {
    return get(s, "/health").body();
  }

  /** Sends a streaming chat request on a raw socket; returns without reading. */
  static Socket startStream(TestServer s, int maxTokens) throws Exception {
    Socket socket = new Socket("127.0.0.1", s.server.port());
    String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"go\"}], \"max_tokens\": " + maxTokens
        + ", \"temperature\": 0, \"stream\": true}";
    OutputStream out = socket.getOutputStream();
    out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
        + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
    out.flush();
    return socket;
  }

  /** Opens a streaming request on a raw socket and reads until the first token chunk arrives. */
  static Socket openStream(TestServer s, int maxTokens) throws Exception {
    Socket socket = startStream(s, maxTokens);
    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
    String line;
    int dataLines = 0;
    while ((line = in.readLine()) != null) {
      if (line.startsWith("data: ") && ++dataLines == 2) {
        return socket; // the role chunk and one token chunk: generation is running
      }
    }
    throw new AssertionError("stream ended before the first token");
  }

  static void awaitCancelled(TestServer s, long expected) throws Exception {
    for (int i = 0; i < 600 && health(s).get("cancelled_generations").asLong() < expected; i++) {
      Thread.sleep(100);
    }
    assertEquals(expected, health(s).get("cancelled_generations").asLong());
  }

  @Test
  void aClientThatDisconnectsMidStreamCancelsItsGeneration() throws Exception {
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0))) {
      Socket socket = openStream(s, 900);
      socket.close();
      awaitCancelled(s, 1);
      assertEquals(0, health(s).get("running").asInt());
      Reply after = post(s, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 2}");
      assertEquals(200, after.status(), "the server keeps serving");
    }
  }

  @Test
  void aFullQueueAnswers429() throws Exception {
    try (TestServer s = new TestServer(false, ServerConfig.defaults(0).withMaxQueue(1).withMaxBatch(1))) {
      Socket running = openStream(s, 900); // occupies the worker
      Socket queued = new Socket("127.0.0.1", s.server.port()); // fills the one queue slot
      String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 2}";
      queued.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
          + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
      for (int i = 0; i < 600 && health(s).get("queued").asInt() < 1; i++) {
        Thread.sleep(50);
      }
      Reply rejected = post(s, "/v1/chat/completions", body);
      assertError(rejected, 429, null);
      assertEquals(1, health(s).get("rejected").asLong());
      running.close();
      queued.close();
      awaitCancelled(s, 1);
    }
  }

  @Test
  void healthAndModels() throws Exception {
    JsonNode h = health(server);
    assertEquals("ok", h.get("status").asText());
    assertTrue(h.get("ready").asBoolean());
    JsonNode models = get(server, "/v1/models").body();
    assertEquals("list", models.get("object").asText());
    assertEquals("candor-test", models.get("data").get(0).get("id").asText());
    assertNull(models.get("data").get(0).get("missing"));
  }
}
