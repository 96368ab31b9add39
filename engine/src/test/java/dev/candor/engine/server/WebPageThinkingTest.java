package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The web page in headless Chromium against the real server and a thinking model (random weights, Qwen3's tokenizer,
 * a template that opens the think block): the page shows the reasoning and the answer apart, each token where the
 * API's phase puts it, each phase with the API's statistics. The page sends what it always sends; the test adds the
 * same logit bias on {@code </think>} to the page's request as to its own (in the page's fetch, not in the server),
 * so the random model ends its reasoning after a few tokens.
 */
class WebPageThinkingTest {
  static final String PROMPT = "Think, then answer.";
  static Chromium browser;
  static TestServer server;

  @BeforeAll
  static void start() throws Exception {
    browser = WebPages.browser();
    server = SharedServers.thinking();
    browser.viewport(1280, 1000, false);
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.close();
    }
  }

  /** The page's own request for a sampled reply (as chat.js builds it), with the test's bias, not streamed. */
  static ObjectNode pageRequest(int seed) {
    ObjectNode body = SchemaJudge.JSON.createObjectNode().put("logprobs", true).put("temperature", 1).put("top_p", 1)
        .put("max_tokens", 24).put("seed", seed).put("top_logprobs", 2);
    body.putArray("messages").addObject().put("role", "user").put("content", PROMPT);
    return withBias(body);
  }

  static ObjectNode withBias(ObjectNode body) {
    body.put("presence_penalty", 2).put("frequency_penalty", 2);
    body.putObject("logit_bias").put(String.valueOf(Qwen3Checkpoints.END_THINK), 10.5);
    return body;
  }

  /** Replaces a field's value the way a person does: click into it, select all, type. */
  static void fill(String id, String value) {
    browser.click("#" + id);
    browser.eval("document.getElementById('" + id + "').select()");
    browser.type(value);
  }

  @Test
  void reasoningAndAnswerAreShownApartAsTheApiSplitsThem() throws Exception {
    int seed = -1;
    JsonNode api = null;
    for (int s = 0; s < 8 && seed < 0; s++) {
      api = ThinkingApiTest.choice(server, pageRequest(s));
      int[] counts = ThinkingApiTest.checkSplit(api);
      seed = counts[0] >= 2 && counts[1] >= 2 ? s : -1;
    }
    assertTrue(seed >= 0, "a seed with reasoning and answer");
    browser.clearErrors();
    browser.navigate(server.url("/"));
    browser.waitFor("document.body.dataset.model === 'ready'", Duration.ofSeconds(30));
    browser.eval("(() => { const bias = " + withBias(SchemaJudge.JSON.createObjectNode()) + "; const f = window.fetch;"
        + " window.fetch = (url, init) => { if (String(url).endsWith('/v1/chat/completions')) {"
        + " init = {...init, body: JSON.stringify({...JSON.parse(init.body), ...bias})}; } return f(url, init); };"
        + " return true; })()");
    fill("temperature", "1");
    fill("max-tokens", "24");
    fill("seed", String.valueOf(seed));
    fill("top-logprobs", "2");
    browser.click("#prompt");
    browser.type(PROMPT);
    browser.click("#send");
    browser.waitFor("document.body.dataset.state === 'idle' && !!document.querySelector('.msg.assistant.done')",
        Duration.ofSeconds(60));
    JsonNode page = browser.eval("""
        (() => {
          const a = document.querySelector('.msg.assistant');
          const phase = (name) => {
            const s = a.querySelector('.phase-' + name);
            return s && {tokens: [...s.querySelectorAll('.tok')].map((t) => Number(t.dataset.i)),
              stats: s.querySelector('.phase-stats').textContent};
          };
          return {order: [...a.querySelectorAll('.phase')].map((s) => s.dataset.phase),
            reasoning: phase('reasoning'), answer: phase('answer')};
        })()""");
    assertEquals("[\"reasoning\",\"answer\"]", page.get("order").toString());
    JsonNode tokens = api.get("confidence").get("tokens");
    for (String name : List.of("reasoning", "answer")) {
      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < tokens.size(); i++) {
        if (tokens.get(i).get("phase").asText().equals(name)) {
          expected.add(i);
        }
      }
      List<Integer> shown = new ArrayList<>();
      page.get(name).get("tokens").forEach(t -> shown.add(t.asInt()));
      assertEquals(expected, shown, "the " + name + "'s tokens");
      JsonNode stats = api.get("confidence").get("phases").get(name);
      assertEquals(stats.get("n_tokens").asInt() + " tokens; mean p_correct " + WebPageTest.fixed3(stats.get("mean")
          .asDouble()) + ", min " + WebPageTest.fixed3(stats.get("min").asDouble()), page.get(name).get("stats")
          .asText());
    }
    WebPages.save(browser, "thinking", false);
    WebPages.assertClean(browser);
  }
}
