package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The page against answers the real model cannot be made to give: output that is hostile markup, a thinking model's
 * reasoning and answer (the fields the server will carry following vLLM: delta.reasoning_content, confidence.phases,
 * a phase on each token and line) and failures. A scripted stand-in for /v1 (test code only) streams them in the
 * server's shapes, behind the real WebUi; it also records what the page sent.
 */
class WebPageScriptedTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static HttpServer server;
  static Chromium browser;
  static final List<ObjectNode> requests = new ArrayList<>();
  static final List<String> contentTypes = new ArrayList<>();

  /** One scripted token: its text, p_correct, source, phase, and the alternatives the target offered. */
  record Token(String text, double p, String source, String phase, List<String> alternatives) {
    Token(String text, double p, String source, String phase) {
      this(text, p, source, phase, List.of(text));
    }
  }

  static final List<Token> HOSTILE = List.of(
      new Token("x = ", 0.9, "accepted", "answer"),
      new Token("<img src=x onerror=\"window.__xss = 3\">", 0.4, "resampled", "answer",
          List.of("<img src=x onerror=\"window.__xss = 3\">", "<b>bold</b>", "</script>")),
      new Token("\n", 0.95, "bonus", "answer"),
      new Token("</script><script>window.__xss = 4</script>", 0.2, "target", "answer"),
      new Token("\n", 0.97, "accepted", "answer"));

  static final List<Token> THINKING = List.of(
      new Token("Let me", 0.7, "accepted", "reasoning"),
      new Token(" think", 0.5, "accepted", "reasoning"),
      new Token("\n", 0.9, "bonus", "reasoning"),
      new Token("<img src=y onerror=\"window.__xss = 5\">", 0.2, "resampled", "reasoning"),
      new Token("\n", 0.9, "accepted", "reasoning"),
      new Token("42", 0.85, "accepted", "answer"),
      new Token("\n", 0.95, "bonus", "answer"));

  @BeforeAll
  static void start() throws Exception {
    browser = WebPages.browser();
    browser.viewport(1280, 1000, false);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    WebUi page = new WebUi(ServerConfig.defaults(0));
    RequestGuard guard = new RequestGuard(ServerConfig.defaults(0));
    server.createContext("/", exchange -> { // the real page's handler in front of the stand-in API, as in the server
      if (!page.handles(exchange.getRequestURI().getPath())) {
        api(exchange);
        return;
      }
      try (exchange) {
        page.serve(exchange, guard);
      } catch (ApiException e) {
        Http.trySendError(exchange, e);
      }
    });
    server.start();
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.close();
    }
    if (server != null) {
      server.stop(0);
    }
  }

  @BeforeEach
  void fresh() throws InterruptedException {
    requests.clear();
    contentTypes.clear();
    browser.clearErrors();
    browser.navigate("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    browser.waitFor("document.body.dataset.model === 'ready'", Duration.ofSeconds(30));
  }

  /** The stand-in for /v1: the model card, and a scripted stream chosen by the last message's text. */
  static void api(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      if (path.equals("/v1/models")) {
        ObjectNode models = JSON.createObjectNode().put("object", "list");
        models.putArray("data").addObject().put("id", "scripted").put("object", "model").put("created", 0)
            .put("owned_by", "test").putObject("candor").put("confidence_method", "probe");
        send(exchange, 200, "application/json", models.toString());
        return;
      }
      ObjectNode body = (ObjectNode) JSON.readTree(exchange.getRequestBody());
      synchronized (requests) {
        requests.add(body);
        contentTypes.add(exchange.getRequestHeaders().getFirst("Content-Type"));
      }
      JsonNode messages = body.get("messages");
      String last = messages.get(messages.size() - 1).get("content").asText();
      switch (last) {
        case "hostile" -> stream(exchange, HOSTILE, null, false);
        case "thinking" -> stream(exchange, THINKING, phases(THINKING), false);
        case "cut" -> stream(exchange, THINKING.subList(0, 5), phases(THINKING.subList(0, 5)), false);
        case "break" -> stream(exchange, HOSTILE, null, true);
        case "slow" -> slow(exchange);
        default -> send(exchange, 400, "application/json",
            "{\"error\": {\"message\": \"max_tokens must be at least 1, got 0\", \"type\": \"invalid_request_error\","
                + " \"param\": \"max_tokens\", \"code\": null}}");
      }
    }
  }

  /** One token every 300 ms, for as long as the client listens (a stopped page closes the connection). */
  static void slow(HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
    exchange.sendResponseHeaders(200, 0);
    try {
      for (int i = 0; i < 100; i++) {
        ObjectNode choice = JSON.createObjectNode().put("index", 0);
        choice.putObject("delta").put("content", "t" + i + " ");
        choice.putObject("confidence").putArray("tokens").addObject().put("p_correct", 0.5).put("source", "target");
        event(exchange.getResponseBody(), choice);
        Thread.sleep(300);
      }
    } catch (IOException | InterruptedException clientGone) {
      // the page stopped listening: what the test wants
    }
  }

  static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  /** Chunks in the server's shape, one token each; the last with lines, response, summary (and phases). */
  static void stream(HttpExchange exchange, List<Token> tokens, ObjectNode phases, boolean breakOff)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    for (Token t : tokens) {
      ObjectNode choice = JSON.createObjectNode().put("index", 0);
      choice.putObject("delta").put(t.phase().equals("reasoning") ? "reasoning_content" : "content", t.text());
      ObjectNode entry = choice.putObject("logprobs").putArray("content").addObject().put("token", t.text())
          .put("logprob", Math.log(0.6));
      ArrayNode bytes = entry.putArray("bytes");
      for (byte b : t.text().getBytes(StandardCharsets.UTF_8)) {
        bytes.add(b & 0xff);
      }
      ArrayNode top = entry.putArray("top_logprobs");
      for (int k = 0; k < t.alternatives().size(); k++) {
        top.addObject().put("token", t.alternatives().get(k)).put("logprob", Math.log(0.6 / (k + 1)));
      }
      choice.putNull("finish_reason");
      choice.putObject("confidence").putArray("tokens").addObject().put("p_correct", t.p()).put("source", t.source())
          .put("entropy", 0.5).putNull("draft_prob").put("phase", t.phase());
      event(out, choice);
    }
    if (breakOff) {
      out.write(("data: {\"error\": {\"message\": \"the model failed on this request\", \"type\": \"server_error\","
          + " \"param\": null, \"code\": null}}\n\ndata: [DONE]\n\n").getBytes(StandardCharsets.UTF_8));
      return;
    }
    ObjectNode last = JSON.createObjectNode().put("index", 0);
    last.putObject("delta");
    last.put("finish_reason", "stop");
    ObjectNode confidence = last.putObject("confidence").put("method", "probe");
    confidence.set("lines", lines(tokens));
    confidence.putObject("response").put("p_correct", 0.1).put("measured", true);
    if (phases != null) {
      confidence.set("phases", phases);
    }
    event(out, last);
    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
  }

  static void event(OutputStream out, ObjectNode choice) throws IOException {
    ObjectNode chunk = JSON.createObjectNode().put("id", "chatcmpl-scripted").put("object", "chat.completion.chunk");
    chunk.putArray("choices").add(choice);
    out.write(("data: " + chunk + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Lines by the API's rule: a line runs up to and including its newline; its p_correct the minimum of its tokens. */
  static ArrayNode lines(List<Token> tokens) {
    ArrayNode lines = JSON.createArrayNode();
    int start = 0;
    for (int i = 0; i < tokens.size(); i++) {
      if (tokens.get(i).text().contains("\n") || i == tokens.size() - 1) {
        double min = tokens.subList(start, i + 1).stream().mapToDouble(Token::p).min().orElseThrow();
        lines.addObject().put("p_correct", min).put("token_start", start).put("token_end", i + 1)
            .put("phase", tokens.get(start).phase());
        start = i + 1;
      }
    }
    return lines;
  }

  /** confidence.phases: each {n_tokens, mean, min, measured}; an empty phase has nulls and measured false. */
  static ObjectNode phases(List<Token> tokens) {
    ObjectNode phases = JSON.createObjectNode();
    for (String phase : List.of("reasoning", "answer")) {
      double[] ps = tokens.stream().filter(t -> t.phase().equals(phase)).mapToDouble(Token::p).toArray();
      ObjectNode p = phases.putObject(phase).put("n_tokens", ps.length);
      if (ps.length == 0) {
        p.putNull("mean").putNull("min").put("measured", false);
      } else {
        p.put("mean", java.util.Arrays.stream(ps).average().orElseThrow())
            .put("min", java.util.Arrays.stream(ps).min().orElseThrow()).put("measured", true);
      }
    }
    return phases;
  }

  static void sendMessage(String text) throws InterruptedException {
    browser.click("#prompt");
    browser.type(text);
    browser.click("#send");
    browser.waitFor("document.body.dataset.state === 'idle' && document.getElementById('status').textContent"
        + " !== 'Generating\u2026'", Duration.ofSeconds(30));
  }

  @Test
  void hostileOutputStaysTextInTheAnswerAndInTheStory() throws Exception {
    sendMessage("hostile");
    browser.hover(".msg.assistant .tok[data-i=\"1\"]");
    browser.waitFor("!document.getElementById('tooltip').hidden", Duration.ofSeconds(5));
    JsonNode page = browser.eval("""
        ({xss: window.__xss === undefined ? null : window.__xss,
          elements: document.querySelectorAll('#conversation img, #conversation script, #conversation b,'
            + ' #tooltip img, #tooltip b').length,
          tokens: [...document.querySelectorAll('.msg.assistant .tok')].map((t) => t.textContent),
          story: document.querySelector('#tooltip .tok-text').textContent,
          alternatives: [...document.querySelectorAll('#tooltip .alt-token')].map((t) => t.textContent)})""");
    assertTrue(page.get("xss").isNull(), "a script ran: " + page);
    assertEquals(0, page.get("elements").asInt(), "markup in the output became elements");
    assertEquals(HOSTILE.stream().map(Token::text).toList(), List.of(JSON.convertValue(page.get("tokens"),
        String[].class)), "each token shown as its characters");
    assertEquals(WebPageTest.visible(HOSTILE.get(1).text()), page.get("story").asText());
    assertEquals(HOSTILE.get(1).alternatives().stream().map(WebPageTest::visible).toList(),
        List.of(JSON.convertValue(page.get("alternatives"), String[].class)));
    WebPages.assertClean(browser);
  }

  @Test
  void thePageSendsSameOriginJsonWithTheSettings() throws Exception {
    sendMessage("hostile");
    assertEquals(List.of("application/json"), contentTypes);
    ObjectNode body = requests.getFirst();
    assertEquals(0, body.get("temperature").asInt());
    assertEquals(1.0, body.get("top_p").asDouble());
    assertEquals(256, body.get("max_tokens").asInt());
    assertTrue(body.get("logprobs").asBoolean());
    assertEquals(5, body.get("top_logprobs").asInt());
    assertTrue(body.get("stream").asBoolean());
    assertFalse(body.has("seed"), "an empty seed is left to the server");
    assertFalse(body.has("confidence_breaker"), "the breaker is off until switched on");
    WebPages.assertClean(browser);
  }

  @Test
  void reasoningAndAnswerAreShownApartWithTheirPhaseStatistics() throws Exception {
    sendMessage("thinking");
    JsonNode page = browser.eval("""
        (() => {
          const a = document.querySelector('.msg.assistant');
          const phase = (name) => {
            const s = a.querySelector('.phase-' + name);
            return s && {tokens: [...s.querySelectorAll('.tok')].map((t) => t.textContent),
              lines: s.querySelectorAll('.line').length, stats: s.querySelector('.phase-stats').textContent,
              title: s.querySelector('.phase-title').textContent, visible: s.querySelector('.phase-title')
                .checkVisibility()};
          };
          return {order: [...a.querySelectorAll('.phase')].map((s) => s.dataset.phase),
            reasoning: phase('reasoning'), answer: phase('answer'),
            xss: window.__xss === undefined ? null : window.__xss,
            images: document.querySelectorAll('#conversation img').length};
        })()""");
    assertEquals("[\"reasoning\",\"answer\"]", page.get("order").toString());
    assertEquals(THINKING.subList(0, 5).stream().map(Token::text).toList(),
        List.of(JSON.convertValue(page.get("reasoning").get("tokens"), String[].class)));
    assertEquals(List.of("42", "\n"), List.of(JSON.convertValue(page.get("answer").get("tokens"), String[].class)));
    assertEquals(2, page.get("reasoning").get("lines").asInt());
    assertEquals(1, page.get("answer").get("lines").asInt());
    assertEquals("5 tokens; mean p_correct 0.640, min 0.200", page.get("reasoning").get("stats").asText());
    assertEquals("2 tokens; mean p_correct 0.900, min 0.850", page.get("answer").get("stats").asText());
    assertTrue(page.get("reasoning").get("visible").asBoolean(), "the phase headings show with a reasoning phase");
    assertTrue(page.get("xss").isNull());
    assertEquals(0, page.get("images").asInt());

    sendMessage("hostile"); // the next turn sends back the answer, not the reasoning (vLLM's advice)
    JsonNode messages = requests.getLast().get("messages");
    assertEquals("assistant", messages.get(1).get("role").asText());
    assertEquals("42\n", messages.get(1).get("content").asText());
    WebPages.save(browser, "reasoning", false);
    WebPages.assertClean(browser);
  }

  @Test
  void anEmptyPhaseIsNotMeasuredNeverZero() throws Exception {
    sendMessage("cut");
    String answer = browser.eval("document.querySelector('.msg.assistant [data-key=\"phase-answer\"]').textContent")
        .asText();
    assertEquals("0 tokens; p_correct not measured", answer);
    assertFalse(browser.eval("!!document.querySelector('.msg.assistant .phase-answer')").asBoolean(),
        "no answer block without answer tokens");
    WebPages.assertClean(browser);
  }

  @Test
  void tokensAppearAsTheyStreamAndStopKeepsWhatCame() throws Exception {
    browser.click("#prompt");
    browser.type("slow");
    browser.click("#send");
    browser.waitFor("document.querySelectorAll('.msg.assistant .tok').length >= 2", Duration.ofSeconds(10));
    assertEquals("streaming", browser.eval("document.body.dataset.state").asText(), "shown before the end");
    browser.click("#stop");
    browser.waitFor("document.body.dataset.state === 'idle'", Duration.ofSeconds(10));
    JsonNode page = browser.eval("({n: document.querySelectorAll('.msg.assistant .tok').length,"
        + " stopped: document.querySelector('.msg.assistant').classList.contains('stopped'),"
        + " status: document.getElementById('status').textContent})");
    assertTrue(page.get("stopped").asBoolean());
    assertEquals("Stopped after " + page.get("n").asInt() + " tokens.", page.get("status").asText());
    assertTrue(page.get("n").asInt() < 100, "the stream was cut, not waited out");
    WebPages.assertClean(browser);
  }

  /** The policy is enforced, not only sent: an inline script, an inline style and another host are all refused. */
  @Test
  void theBrowserEnforcesThePolicyAndTheChecksSeeViolations() throws Exception {
    JsonNode result = browser.eval("""
        (async () => {
          const s = document.createElement('script');
          s.textContent = 'window.__inline = 1';
          document.head.append(s);
          const d = document.createElement('div');
          d.setAttribute('style', 'color: red');
          document.body.append(d);
          let fetched = true;
          try { await fetch('http://127.0.0.2:9/'); } catch (e) { fetched = false; }
          await new Promise((r) => setTimeout(r, 200));
          return {inline: window.__inline === undefined ? null : 1, styled: getComputedStyle(d).color, fetched,
            violations: window.__csp};
        })()""");
    assertTrue(result.get("inline").isNull(), "an inline script ran");
    assertFalse(result.get("styled").asText().equals("rgb(255, 0, 0)"), "an inline style applied");
    assertFalse(result.get("fetched").asBoolean(), "another host was reached");
    assertEquals(3, result.get("violations").size(), result.toString());
    browser.clearErrors(); // the three refusals are reported on the console, as they should be
    browser.eval("window.__csp = []");

    browser.eval("(() => { const p = document.createElement('p'); p.className = 'probe-contrast';"
        + " p.textContent = 'grey on grey'; p.style.color = '#777777'; p.style.background = '#888888';"
        + " document.body.prepend(p); })()");
    JsonNode low = browser.eval(WebPages.CONTRAST);
    assertEquals(1, low.size(), "the contrast check finds the one low-contrast text: " + low);
    assertTrue(low.get(0).asText().contains("grey on grey"));
  }

  @Test
  void aRefusedRequestPutsTheMessageBackAndABrokenStreamSaysSo() throws Exception {
    sendMessage("something the stand-in refuses");
    JsonNode refused = browser.eval("({status: document.getElementById('status').textContent,"
        + " prompt: document.getElementById('prompt').value,"
        + " answers: document.querySelectorAll('.msg.assistant').length})");
    assertEquals("Not sent: max_tokens must be at least 1, got 0", refused.get("status").asText());
    assertEquals("something the stand-in refuses", refused.get("prompt").asText(), "nothing is lost");
    assertEquals(0, refused.get("answers").asInt());
    browser.eval("document.getElementById('prompt').value = ''");
    sendMessage("break");
    assertEquals("The answer broke off: the model failed on this request",
        browser.eval("document.getElementById('status').textContent").asText());
    assertEquals(HOSTILE.size(), browser.eval("document.querySelectorAll('.msg.assistant .tok').length").asInt(),
        "what came before the failure stays");
    browser.clearErrors(); // the 400 above is a failed load the console reports: expected
  }
}
