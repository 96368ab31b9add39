package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The web page in a real browser (headless Chromium over the DevTools protocol) against the real server serving the
 * default model, its drafter and its probe, as `make run` does: what the page shows must be what the API says.
 */
class WebPageTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  /** The README's example prompt, and its request (greedy, 80 tokens, 3 alternatives). */
  static final String README_PROMPT = "Trace this program:\na = 347\nb = a * 26\nc = b % 7\nprint(c)\n";
  static final String KEY = "a-test-key-0123";

  static DefaultServer models;
  static OpenAiServer server;
  static Chromium browser;
  static final Path probeDir = DefaultServer.PROBE;

  @BeforeAll
  static void start() throws Exception {
    browser = WebPages.browser();
    models = new DefaultServer(ServerConfig.defaults(0));
    server = models.server;
    browser.viewport(1280, 1000, false);
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.close();
    }
    if (models != null) {
      models.close();
    }
  }

  static String url(OpenAiServer s, String path) {
    return DefaultServer.url(s, path);
  }

  /** The page's request, sent by the test itself (not streamed): the reference for what the page shows. */
  static JsonNode api(OpenAiServer s, String prompt, int maxTokens, int topLogprobs, ObjectNode breaker, String key)
      throws IOException, InterruptedException {
    ObjectNode body = JSON.createObjectNode().put("temperature", 0).put("top_p", 1).put("max_tokens", maxTokens)
        .put("logprobs", true).put("top_logprobs", topLogprobs);
    body.putArray("messages").addObject().put("role", "user").put("content", prompt);
    if (breaker != null) {
      body.set("confidence_breaker", breaker);
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url(s, "/v1/chat/completions")))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    HttpResponse<String> reply = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, reply.statusCode(), reply.body());
    return JSON.readTree(reply.body()).get("choices").get(0);
  }

  /** Replaces a field's value the way a person does: click into it, select all, type. */
  static void fill(String id, String value) {
    browser.click("#" + id);
    browser.eval("document.getElementById('" + id + "').select()");
    browser.type(value);
  }

  /** Types a message, presses Send, and waits for the stream to end. */
  static void sendMessage(String text) throws InterruptedException {
    int before = browser.eval("document.querySelectorAll('#conversation .msg.assistant.done').length").asInt();
    browser.click("#prompt");
    browser.type(text);
    browser.click("#send");
    browser.waitFor("document.body.dataset.state === 'idle' && document.querySelectorAll("
        + "'#conversation .msg.assistant.done').length > " + before, Duration.ofSeconds(90));
  }

  static void openPage(OpenAiServer s, String path) throws InterruptedException {
    browser.clearErrors();
    browser.navigate(url(s, path));
    browser.waitFor("document.body.dataset.model === 'ready'", Duration.ofSeconds(30));
  }

  /** What the last answer shows: its tokens, lines, summary facts. */
  static JsonNode shown() {
    return browser.eval("""
        (() => {
          const a = [...document.querySelectorAll('#conversation .msg.assistant')].pop();
          const fact = (key) => { const d = a.querySelector('[data-key="' + key + '"]'); return d && d.textContent; };
          return {
            tokens: [...a.querySelectorAll('.answer-body .tok')].map((t) => ({text: t.textContent,
              className: t.className, source: t.dataset.source, p: t.dataset.p, index: Number(t.dataset.i),
              background: getComputedStyle(t).backgroundColor})),
            lines: [...a.querySelectorAll('.answer-body .line')].map((l) => ({
              text: l.querySelector('.line-text').textContent, shown: l.querySelector('.line-p .num').textContent,
              p: l.querySelector('.line-p .num').dataset.p})),
            response: a.querySelector('[data-key="response"] .num').dataset.p,
            responseShown: a.querySelector('[data-key="response"] .num').textContent,
            tokensFact: fact('tokens'), coverage: fact('coverage'), acceptance: fact('acceptance'),
            finish: fact('finish'), breaker: fact('breaker'),
            histogram: [...a.querySelectorAll('.histogram .count')].map((c) => Number(c.textContent)),
          };
        })()""");
  }

  /** As JavaScript's toFixed(3) (the exact binary value, rounded half up), for comparing what is shown. */
  static String fixed3(double x) {
    return new BigDecimal(x).setScale(3, RoundingMode.HALF_UP).toPlainString();
  }

  @Test
  void theReadmePromptStreamsAndEveryTokenLineAndSummaryMatchesTheApi() throws Exception {
    openPage(server, "/");
    fill("max-tokens", "80");
    fill("top-logprobs", "3");
    sendMessage(README_PROMPT);
    JsonNode api = api(server, README_PROMPT, 80, 3, null, null);
    JsonNode page = shown();
    JsonNode tokens = api.get("confidence").get("tokens");
    JsonNode logprobs = api.get("logprobs").get("content");
    assertEquals(tokens.size(), page.get("tokens").size(), "one span per token");
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < tokens.size(); i++) {
      JsonNode t = page.get("tokens").get(i);
      double p = tokens.get(i).get("p_correct").asDouble();
      assertEquals(logprobs.get(i).get("token").asText(), t.get("text").asText(), "token " + i);
      assertEquals(tokens.get(i).get("source").asText(), t.get("source").asText(), "token " + i + "'s source");
      assertTrue(t.get("className").asText().contains("shade-" + Math.min(9, (int) Math.floor(p * 10))),
          "token " + i + " (p " + p + ") has " + t.get("className"));
      assertEquals(p, Double.parseDouble(t.get("p").asText()), "token " + i + "'s p_correct");
      assertFalse(t.get("background").asText().equals("rgba(0, 0, 0, 0)"), "token " + i + " is not shaded");
      text.append(t.get("text").asText());
    }
    assertEquals(api.get("message").get("content").asText(), text.toString());

    JsonNode lines = api.get("confidence").get("lines");
    assertEquals(lines.size(), page.get("lines").size(), "one row per line");
    String content = api.get("message").get("content").asText();
    for (int k = 0; k < lines.size(); k++) {
      JsonNode line = lines.get(k);
      JsonNode row = page.get("lines").get(k);
      double p = line.get("p_correct").asDouble();
      assertEquals(p, Double.parseDouble(row.get("p").asText()), "line " + k + "'s p_correct");
      assertEquals(fixed3(p), row.get("shown").asText(), "line " + k + " as shown");
      assertEquals(content.substring(line.get("char_start").asInt(), line.get("char_end").asInt()),
          row.get("text").asText(), "line " + k + "'s text");
    }

    JsonNode summary = api.get("confidence").get("summary");
    assertEquals(api.get("confidence").get("response").get("p_correct").asDouble(),
        Double.parseDouble(page.get("response").asText()));
    assertEquals(summary.get("n_tokens").asInt() + ": " + summary.get("n_accepted").asInt() + " accepted, "
        + summary.get("n_resampled").asInt() + " resampled, " + summary.get("n_bonus").asInt() + " bonus, "
        + summary.get("n_target").asInt() + " target", page.get("tokensFact").asText());
    assertEquals(fixed3(summary.get("coverage").asDouble()), page.get("coverage").asText());
    assertEquals(fixed3(summary.get("drafter_acceptance").asDouble()) + " of " + summary.get("n_drafted").asInt()
        + " drafted", page.get("acceptance").asText());
    assertEquals(summary.get("accepted_per_step"), page.get("histogram"));
    assertEquals(api.get("finish_reason").asText(), page.get("finish").asText());
    assertEquals(List.of(), List.of(JSON.convertValue(browser.eval(WebPages.CONTRAST), String[].class)),
        "text under 4.5:1 contrast (light)");
    assertColourBySource(tokens);
    WebPages.assertClean(browser);
  }

  /** The toggle colours every token by its source: one colour per source, all different, and back again. */
  static void assertColourBySource(JsonNode tokens) throws InterruptedException {
    browser.click("input[name=\"shade-by\"][value=\"source\"]");
    browser.waitFor("document.body.classList.contains('by-source')", Duration.ofSeconds(5));
    JsonNode backgrounds = browser.eval("[...document.querySelectorAll('.msg.assistant .answer-body .tok')]"
        + ".map((t) => getComputedStyle(t).backgroundColor)");
    java.util.Map<String, String> bySource = new java.util.HashMap<>();
    for (int i = 0; i < tokens.size(); i++) {
      String source = tokens.get(i).get("source").asText();
      String colour = backgrounds.get(i).asText();
      assertEquals(bySource.computeIfAbsent(source, k -> colour), colour, "token " + i + " (" + source + ")");
    }
    assertEquals(bySource.size(), new java.util.HashSet<>(bySource.values()).size(), "sources apart: " + bySource);
    assertTrue(bySource.size() >= 2, "the example has accepted, resampled and bonus tokens: " + bySource);
    assertFalse(browser.eval("document.getElementById('legend-source').hidden").asBoolean(), "its legend shows");
    assertEquals(List.of(), List.of(JSON.convertValue(browser.eval(WebPages.CONTRAST), String[].class)),
        "text under 4.5:1 contrast (by source)");
    browser.click("input[name=\"shade-by\"][value=\"p\"]");
    assertFalse(browser.eval("document.body.classList.contains('by-source')").asBoolean());
  }

  @Test
  void hoveringOrFocusingATokenShowsItsAlternativesEntropyDrafterAndSource() throws Exception {
    openPage(server, "/");
    fill("max-tokens", "80");
    fill("top-logprobs", "3");
    sendMessage(README_PROMPT);
    JsonNode api = api(server, README_PROMPT, 80, 3, null, null);
    JsonNode tokens = api.get("confidence").get("tokens");
    int least = 0;
    for (int i = 0; i < tokens.size(); i++) {
      if (tokens.get(i).get("p_correct").asDouble() < tokens.get(least).get("p_correct").asDouble()) {
        least = i;
      }
    }
    browser.hover(".msg.assistant .answer-body .tok[data-i=\"" + least + "\"]");
    assertStory(api, least);
    WebPages.save(browser, "chat", false);

    browser.press("Escape");
    browser.eval("document.activeElement.blur(); window.scrollTo(0, 0)");
    browser.hover("h1"); // the mouse off the tokens: from here on only the keyboard
    int presses = 0;
    while (!browser.eval("document.activeElement.classList.contains('tok')").asBoolean()) {
      browser.press("Tab");
      assertTrue(++presses < 30, "Tab never reached the answer's tokens");
    }
    assertEquals(0, browser.eval("Number(document.activeElement.dataset.i)").asInt(), "the first token first");
    assertStory(api, 0);
    browser.press("ArrowRight");
    assertStory(api, 1);
    browser.press("ArrowDown");
    int lineTwo = api.get("confidence").get("lines").get(1).get("token_start").asInt();
    assertStory(api, lineTwo);
    browser.press("End");
    assertStory(api, tokens.size() - 1);
    browser.press("Escape");
    assertTrue(browser.eval("document.getElementById('tooltip').hidden").asBoolean(), "Escape hides the story");
    WebPages.assertClean(browser);
  }

  /** The tooltip shows token i's alternatives (token, probability), entropy, drafter probability and source. */
  static void assertStory(JsonNode api, int i) throws InterruptedException {
    browser.waitFor("!document.getElementById('tooltip').hidden && document.querySelector('#tooltip .tok-text')",
        Duration.ofSeconds(5));
    JsonNode story = browser.eval("""
        (() => {
          const t = document.getElementById('tooltip');
          const facts = {};
          t.querySelectorAll('dt').forEach((dt) => { facts[dt.textContent] = dt.nextElementSibling.textContent; });
          return {token: t.querySelector('.tok-text').textContent, facts,
            alternatives: [...t.querySelectorAll('.alternatives tr')].map((r) =>
              [r.querySelector('.alt-token').textContent, r.querySelector('.num').textContent]),
            active: document.activeElement.dataset ? document.activeElement.dataset.i : null};
        })()""");
    JsonNode entry = api.get("logprobs").get("content").get(i);
    JsonNode mark = api.get("confidence").get("tokens").get(i);
    assertEquals(visible(entry.get("token").asText()), story.get("token").asText(), "token " + i);
    JsonNode top = entry.get("top_logprobs");
    assertEquals(top.size(), story.get("alternatives").size(), "token " + i + "'s alternatives");
    for (int k = 0; k < top.size(); k++) {
      assertEquals(visible(top.get(k).get("token").asText()), story.get("alternatives").get(k).get(0).asText());
      assertEquals(fixed3(Math.exp(top.get(k).get("logprob").asDouble())),
          story.get("alternatives").get(k).get(1).asText(), "token " + i + ", alternative " + k);
    }
    JsonNode facts = story.get("facts");
    assertEquals(fixed3(mark.get("entropy").asDouble()) + " nats", facts.get("entropy").asText());
    assertEquals(fixed3(mark.get("p_correct").asDouble()), facts.get("p_correct").asText());
    String source = mark.get("source").asText();
    assertTrue(facts.get("source").asText().startsWith(source + ":"), facts.toString());
    String drafter = facts.get("drafter").asText();
    if (mark.get("draft_prob").isNull()) {
      assertEquals("no draft at this position (bonus)", drafter, "token " + i + " (" + source + ")");
    } else {
      assertTrue(drafter.startsWith(fixed3(mark.get("draft_prob").asDouble())), drafter);
    }
  }

  /** The page's way of showing a token: quoted, a space as ␣, a newline as ↵. */
  static String visible(String token) {
    return "\u201c" + token.replace(" ", "\u2423").replace("\n", "\u21b5").replace("\t", "\u21e5") + "\u201d";
  }

  @Test
  void aTrippedBreakerIsShownAtTheTokenWhereItTripped() throws Exception {
    openPage(server, "/");
    fill("max-tokens", "80");
    browser.click("#breaker-on");
    fill("breaker-window", "4");
    fill("breaker-threshold", "0.5");
    sendMessage(README_PROMPT);
    JsonNode api = api(server, README_PROMPT, 80, 5,
        JSON.createObjectNode().put("window", 4).put("threshold", 0.5), null);
    JsonNode breaker = api.get("confidence").get("breaker");
    assertTrue(breaker.get("tripped").asBoolean(), "the example's wrong multiplication trips it: " + breaker);
    assertEquals("low_confidence", api.get("finish_reason").asText());
    JsonNode mark = browser.eval("""
        (() => {
          const m = document.querySelector('.msg.assistant .breaker-mark');
          return m && {at: Number(m.dataset.atToken), after: Number(m.previousElementSibling.dataset.i),
            text: m.textContent, window: document.querySelectorAll('.msg.assistant .tok.in-window').length};
        })()""");
    int at = breaker.get("at_token").asInt();
    assertEquals(at, mark.get("at").asInt());
    assertEquals(at, mark.get("after").asInt(), "the mark follows the token where it tripped");
    assertEquals(Math.min(4, at + 1), mark.get("window").asInt(), "the window's tokens are marked");
    assertTrue(mark.get("text").asText().contains(fixed3(breaker.get("window_p_correct").asDouble()) + " < 0.500"),
        mark.toString());
    JsonNode page = shown();
    assertEquals("low_confidence (the breaker stopped it)", page.get("finish").asText());
    assertEquals(api.get("confidence").get("tokens").size(), page.get("tokens").size());
    assertTrue(page.get("breaker").asText().startsWith("tripped at token " + at), page.get("breaker").asText());
    WebPages.assertClean(browser);
  }

  @Test
  void aHostilePromptStaysText() throws Exception {
    String hostile = "Trace this program:\nx = '<img src=x onerror=\"window.__xss = 1\">'\n"
        + "</script><script>window.__xss = 2</script>\nprint(x)\n";
    openPage(server, "/");
    fill("max-tokens", "40");
    sendMessage(hostile);
    JsonNode result = browser.eval("""
        ({xss: window.__xss === undefined ? null : window.__xss,
          injected: document.querySelectorAll('#conversation img, #conversation script').length,
          user: document.querySelector('#conversation .msg.user .user-text').textContent})""");
    assertTrue(result.get("xss").isNull(), "a script ran: " + result);
    assertEquals(0, result.get("injected").asInt(), "markup from the prompt became elements");
    assertEquals(hostile, result.get("user").asText(), "the prompt is shown as the characters typed");
    WebPages.assertClean(browser);
  }

  @Test
  void theProbePageShowsTheReportTheDiagramsAndTheModelCard() throws Exception {
    openPage(server, "/");
    browser.click("nav a[data-view=\"probe\"]");
    browser.waitFor("document.body.dataset.probe === 'ready'", Duration.ofSeconds(30));
    assertEquals("/probe", browser.eval("location.pathname").asText());
    List<String> pngs;
    try (Stream<Path> files = Files.list(probeDir)) {
      pngs = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".png")).sorted().toList();
    }
    browser.waitFor("[...document.querySelectorAll('#diagrams img')].every((i) => i.complete && i.naturalWidth > 0)",
        Duration.ofSeconds(30));
    assertEquals(pngs.size(), browser.eval("document.querySelectorAll('#diagrams img').length").asInt());
    String report = Files.readString(probeDir.resolve("report.md"));
    long tables = report.lines().filter(l -> l.matches("\\|(\\s*-+:?\\s*\\|)+\\s*")).count();
    assertEquals(tables, browser.eval("document.querySelectorAll('#report table.md-table').length").asLong());
    assertEquals("Probe report", browser.eval("document.querySelector('#report .md-h1').textContent").asText());
    assertEquals("token_prob_mean", browser.eval("[...document.querySelectorAll('#report td')]"
        + ".map((td) => td.textContent).find((t) => t.startsWith('token_prob_m'))").asText(), "snake_case stays");

    HttpResponse<String> models = HTTP.send(HttpRequest.newBuilder(URI.create(url(server, "/v1/models"))).build(),
        HttpResponse.BodyHandlers.ofString());
    JsonNode card = JSON.readTree(models.body()).get("data").get(0);
    assertEquals(card.get("id").asText(), browser.eval("document.querySelector('#model-card [data-key=\"id\"]')"
        + ".textContent").asText());
    for (String field : List.of("context_window", "draft_tokens", "confidence_method", "backend")) {
      assertEquals(card.get("candor").get(field).asText(), browser.eval("document.querySelector("
          + "'#model-card [data-key=\"" + field + "\"]').textContent").asText(), field);
    }
    assertEquals(List.of(), List.of(JSON.convertValue(browser.eval(WebPages.CONTRAST), String[].class)));
    WebPages.save(browser, "probe", true);

    openPage(server, "/probe"); // a direct link opens the probe page
    assertFalse(browser.eval("document.getElementById('probe-view').hidden").asBoolean());
    WebPages.assertClean(browser);
  }

  @Test
  void aNarrowDarkScreenFitsAndStaysReadable() throws Exception {
    browser.viewport(390, 844, true);
    browser.colorScheme("dark");
    try {
      openPage(server, "/");
      fill("max-tokens", "80");
      sendMessage(README_PROMPT);
      browser.hover(".msg.assistant .answer-body .line:nth-child(2) .tok:nth-child(5)");
      browser.waitFor("!document.getElementById('tooltip').hidden", Duration.ofSeconds(5));
      JsonNode fit = browser.eval("""
          ({scroll: document.documentElement.scrollWidth, width: window.innerWidth,
            tooltip: document.getElementById('tooltip').getBoundingClientRect().right,
            dark: matchMedia('(prefers-color-scheme: dark)').matches})""");
      assertTrue(fit.get("dark").asBoolean());
      assertTrue(fit.get("scroll").asInt() <= fit.get("width").asInt(), "no sideways scrolling: " + fit);
      assertTrue(fit.get("tooltip").asDouble() <= fit.get("width").asDouble(), "the story fits: " + fit);
      assertEquals(List.of(), List.of(JSON.convertValue(browser.eval(WebPages.CONTRAST), String[].class)),
          "text under 4.5:1 contrast (dark)");
      WebPages.save(browser, "chat-narrow-dark", false);
      browser.click("nav a[data-view=\"probe\"]");
      browser.waitFor("document.body.dataset.probe === 'ready'", Duration.ofSeconds(30));
      assertTrue(browser.eval("document.documentElement.scrollWidth <= window.innerWidth").asBoolean(),
          "the probe page fits too (its tables scroll inside their box)");
      assertEquals(List.of(), List.of(JSON.convertValue(browser.eval(WebPages.CONTRAST), String[].class)));
      WebPages.assertClean(browser);
    } finally {
      browser.colorScheme("light");
      browser.viewport(1280, 1000, false);
    }
  }

  @Test
  void withAnApiKeyThePageAsksForItAndKeepsItInMemoryOnly() throws Exception {
    try (OpenAiServer keyed = models.serve(ServerConfig.defaults(0).withApiKey(KEY))) {
      browser.navigate(url(keyed, "/"));
      browser.waitFor("!document.getElementById('key-panel').hidden", Duration.ofSeconds(30));
      browser.click("#api-key");
      browser.type("wrong-key");
      browser.press("Enter");
      browser.waitFor("document.getElementById('key-error').textContent !== ''", Duration.ofSeconds(10));
      assertFalse(browser.eval("document.getElementById('key-panel').hidden").asBoolean());
      browser.click("#api-key");
      browser.type(KEY);
      browser.press("Enter");
      browser.waitFor("document.body.dataset.model === 'ready'", Duration.ofSeconds(30));
      assertEquals("candor-default", browser.eval("document.getElementById('model-name').textContent").asText());
      fill("max-tokens", "12");
      sendMessage("Trace this program:\na = 3\nprint(a)\n");
      JsonNode api = api(keyed, "Trace this program:\na = 3\nprint(a)\n", 12, 5, null, KEY);
      assertEquals(api.get("confidence").get("tokens").size(), shown().get("tokens").size());
      browser.click("nav a[data-view=\"probe\"]");
      browser.waitFor("document.body.dataset.probe === 'ready' && [...document.querySelectorAll('#diagrams img')]"
          + ".every((i) => i.complete && i.naturalWidth > 0)", Duration.ofSeconds(30));
      JsonNode stored = browser.eval("({local: localStorage.length, session: sessionStorage.length,"
          + " cookie: document.cookie, url: location.href})");
      assertEquals(0, stored.get("local").asInt());
      assertEquals(0, stored.get("session").asInt());
      assertEquals("", stored.get("cookie").asText());
      assertFalse(stored.get("url").asText().contains(KEY));
      browser.navigate(url(keyed, "/"));
      browser.waitFor("!document.getElementById('key-panel').hidden", Duration.ofSeconds(30));
    }
    browser.clearErrors(); // the 401s above are failed loads the console reports: expected here
  }
}
