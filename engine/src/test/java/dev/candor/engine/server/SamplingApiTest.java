package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.get;
import static dev.candor.engine.server.ServerHttpTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The sampling fields of the API against a real server: logit_bias, the penalties, a tiny temperature, special tokens
 * in the text and in logprobs, the raw logprobs default, and generation_config.json's defaults.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SamplingApiTest {
  static final int IM_START = 151644; // <|im_start|>, a special token of the Qwen tokenizer
  static TestServer server;

  @BeforeAll
  static void start() {
    server = new TestServer(false, ServerConfig.defaults(0));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static JsonNode complete(TestServer s, String fields) throws Exception {
    ServerHttpTest.Reply r = post(s, "/v1/completions", "{\"prompt\": [11, 12, 13], \"max_tokens\": 4, " + fields + "}");
    assertEquals(200, r.status(), r.raw());
    return r.body().get("choices").get(0);
  }

  @Test
  void aLogitBiasOfOneHundredForcesItsToken() throws Exception {
    JsonNode choice = complete(server, "\"temperature\": 0, \"logprobs\": 1, \"logit_bias\": {\"4000\": 100}");
    for (JsonNode token : choice.get("logprobs").get("tokens")) {
      assertEquals(server.target.tokenizer().text(4000), token.asText());
    }
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\", \"logit_bias\": {\"4000\": 101}}"), 400,
        "logit_bias");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\", \"logit_bias\": {\"x\": 1}}"), 400, "logit_bias");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\", \"logit_bias\": {\"999999\": 1}}"), 400,
        "logit_bias");
  }

  @Test
  void presenceAndFrequencyPenaltiesStopARepetition() throws Exception {
    String favoured = "\"temperature\": 0, \"max_tokens\": 12, \"logprobs\": 0, \"logit_bias\": {\"4000\": 8}";
    assertEquals(12, count(complete(server, favoured), 4000), "a bias of 8 makes the greedy answer repeat the token");
    int penalized = count(complete(server, favoured + ", \"presence_penalty\": 2, \"frequency_penalty\": 2"), 4000);
    assertTrue(penalized >= 1 && penalized <= 3, "each occurrence costs 2 more: the token stops within three, got "
        + penalized);
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\", \"presence_penalty\": 2.5}"), 400,
        "presence_penalty");
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\", \"repetition_penalty\": 0}"), 400,
        "repetition_penalty");
  }

  int count(JsonNode choice, int token) {
    String text = server.target.tokenizer().text(token);
    int n = 0;
    for (JsonNode t : choice.get("logprobs").get("tokens")) {
      n += t.asText().equals(text) ? 1 : 0;
    }
    return n;
  }

  @Test
  void aTemperatureUnder1e5IsGreedy() throws Exception {
    String greedy = complete(server, "\"temperature\": 0").get("text").asText();
    assertEquals(greedy, complete(server, "\"temperature\": 1e-39, \"seed\": 3").get("text").asText());
    assertEquals(greedy, complete(server, "\"temperature\": 0.000009, \"seed\": 4").get("text").asText());
  }

  @Test
  void specialTokensAreLeftOutOfTheTextButShownInLogprobs() throws Exception {
    String bias = "\"temperature\": 0, \"logprobs\": 0, \"logit_bias\": {\"" + IM_START + "\": 100}";
    JsonNode skipped = complete(server, bias);
    assertEquals("", skipped.get("text").asText(), "special tokens add nothing to the text by default");
    assertEquals("<|im_start|>", skipped.get("logprobs").get("tokens").get(0).asText());
    JsonNode kept = complete(server, bias + ", \"skip_special_tokens\": false");
    assertEquals("<|im_start|>".repeat(4), kept.get("text").asText());
  }

  @Test
  void minTokensHoldsTheEndBackAndIgnoreEosGoesPastIt() throws Exception {
    int eos = server.target.eosTokens().iterator().next();
    String forced = "\"temperature\": 0, \"max_tokens\": 8, \"logit_bias\": {\"" + eos + "\": 100}";
    JsonNode ends = complete(server, forced);
    assertEquals("stop", ends.get("finish_reason").asText());
    assertEquals("", ends.get("text").asText(), "the forced end comes first");
    ServerHttpTest.Reply held = post(server, "/v1/completions", "{\"prompt\": [11, 12, 13], " + forced
        + ", \"min_tokens\": 5}");
    assertEquals(5, held.body().get("usage").get("completion_tokens").asInt() - 1, "five tokens, then the end: "
        + held.raw());
    assertEquals("stop", held.body().get("choices").get(0).get("finish_reason").asText());
    ServerHttpTest.Reply ignored = post(server, "/v1/completions", "{\"prompt\": [11, 12, 13], " + forced
        + ", \"ignore_eos\": true}");
    assertEquals(8, ignored.body().get("usage").get("completion_tokens").asInt(), ignored.raw());
    assertEquals("length", ignored.body().get("choices").get(0).get("finish_reason").asText());
    assertError(post(server, "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2, \"min_tokens\": 3}"),
        400, "min_tokens");
  }

  @Test
  void logprobsAreTheModelsRawDistributionByDefault() throws Exception {
    String sampled = "\"temperature\": 0.5, \"top_k\": 3, \"seed\": 9, \"logprobs\": 1";
    JsonNode byDefault = complete(server, sampled).get("logprobs").get("token_logprobs");
    JsonNode raw = complete(server, sampled + ", \"logprobs_mode\": \"raw\"").get("logprobs").get("token_logprobs");
    JsonNode processed = complete(server, sampled + ", \"logprobs_mode\": \"processed\"").get("logprobs")
        .get("token_logprobs");
    assertEquals(raw, byDefault);
    assertNotEquals(raw, processed, "at T = 0.5 with top-k 3 the sampled-from distribution is another one");
  }

  @Test
  void generationConfigDefaultsApplyToFieldsARequestLeavesOut() throws Exception {
    Path dir = TestServer.copyOfTarget("sampling-defaults");
    Files.writeString(dir.resolve("generation_config.json"),
        "{\"do_sample\": true, \"temperature\": 0.7, \"top_p\": 0.8, \"top_k\": 20}");
    try (TestServer withDefaults = new TestServer(dir, ServerConfig.defaults(0));
        TestServer ignoring = new TestServer(dir, ServerConfig.defaults(0).withGenerationConfig(false))) {
      JsonNode card = get(withDefaults, "/v1/models").body().get("data").get(0).get("candor").get("generation_defaults");
      assertEquals(0.7, card.get("temperature").asDouble());
      assertEquals(0.8, card.get("top_p").asDouble());
      assertEquals(20, card.get("top_k").asInt());
      assertEquals("generation_config.json", card.get("source").asText());
      String implicit = complete(withDefaults, "\"seed\": 5, \"max_tokens\": 10").get("text").asText();
      String explicit = complete(withDefaults, "\"seed\": 5, \"max_tokens\": 10, \"temperature\": 0.7, "
          + "\"top_p\": 0.8, \"top_k\": 20").get("text").asText();
      assertEquals(explicit, implicit);
      JsonNode openai = get(ignoring, "/v1/models").body().get("data").get(0).get("candor").get("generation_defaults");
      assertEquals(1.0, openai.get("temperature").asDouble());
      assertEquals("openai", openai.get("source").asText());
      String openaiDefault = complete(ignoring, "\"seed\": 5, \"max_tokens\": 10").get("text").asText();
      String temperatureOne = complete(ignoring, "\"seed\": 5, \"max_tokens\": 10, \"temperature\": 1").get("text")
          .asText();
      assertEquals(temperatureOne, openaiDefault);
      assertFalse(implicit.isEmpty());
      assertTrue(card.has("repetition_penalty"));
    }
  }
}
