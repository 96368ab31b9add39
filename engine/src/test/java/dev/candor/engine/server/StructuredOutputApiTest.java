package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * response_format and forced tool calls through the real server, by constrained decoding: the default code-trace model
 * (which has never seen JSON) with its drafter and probe, and a random-weight model of Qwen's vocabulary, must answer
 * with JSON the independent validator accepts on every seed, greedy and sampled; a schema the grammar cannot honour is
 * a 400 naming where and which keyword; logprobs are the model's (raw) or of the masked distribution (processed).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class StructuredOutputApiTest {
  /** Small enough that its longest text (every whitespace slot full) fits the default model's 512 positions. */
  static final String ANSWER = """
      {"type":"object","properties":{"answer":{"type":"integer"},"correct":{"type":"boolean"},
       "unit":{"enum":["none","ms"]}},"required":["answer","correct","unit"],"additionalProperties":false}""";
  static final String WEATHER = """
      {"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["celsius","fahrenheit"]}},
       "required":["city"],"additionalProperties":false}""";
  static final String TRACE = "Trace this program:\na = 347\nb = a * 26\nprint(b)\nAnswer in JSON.";

  static DefaultServer defaults;
  static TestServer qwen;

  @BeforeAll
  static void start() {
    defaults = new DefaultServer(ServerConfig.defaults(0));
    qwen = SharedServers.qwen25();
  }

  @AfterAll
  static void stop() {
    defaults.close();
  }

  static ServerHttpTest.Reply postTo(DefaultServer s, String body) throws Exception {
    java.net.http.HttpResponse<String> r = ServerHttpTest.HTTP.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create(s.url("/v1/chat/completions"))).header("Content-Type", "application/json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    return new ServerHttpTest.Reply(r.statusCode(), SchemaJudge.JSON.readTree(r.body()), r.body());
  }

  static ObjectNode chat(String user, int seed) {
    ObjectNode body = SchemaJudge.JSON.createObjectNode();
    body.putArray("messages").addObject().put("role", "user").put("content", user);
    if (seed % 4 == 0) {
      body.put("temperature", 0);
    } else {
      body.put("temperature", 1.0).put("seed", seed);
    }
    return body;
  }

  static ObjectNode jsonSchema(String name, String schema) {
    ObjectNode format = SchemaJudge.JSON.createObjectNode().put("type", "json_schema");
    format.putObject("json_schema").put("name", name).put("strict", true).set("schema", SchemaJudge.json(schema));
    return format;
  }

  static ObjectNode tool(String name, String parameters) {
    ObjectNode tool = SchemaJudge.JSON.createObjectNode().put("type", "function");
    tool.putObject("function").put("name", name).put("description", "a test function")
        .set("parameters", SchemaJudge.json(parameters));
    return tool;
  }

  @Test
  void theDefaultModelAnswersAStrictSchemaWithValidJsonOnEverySeed() throws Exception {
    JsonNode schema = SchemaJudge.json(ANSWER);
    for (int seed = 0; seed < 12; seed++) {
      ObjectNode body = chat(TRACE, seed);
      body.set("response_format", jsonSchema("answer", ANSWER));
      ServerHttpTest.Reply r = postTo(defaults, body.toString());
      assertEquals(200, r.status(), r.raw());
      JsonNode choice = r.body().get("choices").get(0);
      String content = choice.get("message").get("content").asText();
      assertEquals(List.of(), SchemaJudge.violations(schema, content), "seed " + seed + ": " + content);
      assertEquals("stop", choice.get("finish_reason").asText());
      assertEquals(1.0, choice.get("confidence").get("summary").get("coverage").asDouble());
    }
  }

  @Test
  void theDefaultModelCallsARequiredToolWithValidArguments() throws Exception {
    JsonNode parameters = SchemaJudge.json(ANSWER);
    for (int seed = 0; seed < 6; seed++) {
      ObjectNode body = chat(TRACE, seed).put("tool_choice", "required").put("parallel_tool_calls", false);
      body.putArray("tools").add(tool("report", ANSWER));
      ServerHttpTest.Reply r = postTo(defaults, body.toString());
      assertEquals(200, r.status(), r.raw());
      JsonNode choice = r.body().get("choices").get(0);
      assertEquals("tool_calls", choice.get("finish_reason").asText(), choice.get("message").toString());
      JsonNode calls = choice.get("message").get("tool_calls");
      assertEquals(1, calls.size(), choice.get("message").toString());
      assertEquals("report", calls.get(0).get("function").get("name").asText());
      assertTrue(calls.get(0).get("id").asText().startsWith("call_"));
      String arguments = calls.get(0).get("function").get("arguments").asText();
      assertEquals(List.of(), SchemaJudge.violations(parameters, arguments), "seed " + seed + ": " + arguments);
      assertTrue(choice.get("message").get("content").isNull(), "a reply of only a call has null content");
    }
  }

  @Test
  void aRandomQwenModelAnswersJsonObjectsAndSchemasSpeculatively() throws Exception {
    JsonNode schema = SchemaJudge.json(WEATHER);
    for (int seed = 0; seed < 4; seed++) {
      ObjectNode body = chat("Describe the weather as JSON.", seed).put("max_tokens", 300);
      body.set("response_format", seed % 2 == 0 ? jsonSchema("weather", WEATHER)
          : SchemaJudge.JSON.createObjectNode().put("type", "json_object"));
      ServerHttpTest.Reply r = post(qwen, "/v1/chat/completions", body.toString());
      assertEquals(200, r.status(), r.raw());
      JsonNode choice = r.body().get("choices").get(0);
      String content = choice.get("message").get("content").asText();
      JsonNode judged = seed % 2 == 0 ? schema : SchemaJudge.json("{\"type\": \"object\"}");
      if (choice.get("finish_reason").asText().equals("stop")) {
        assertEquals(List.of(), SchemaJudge.violations(judged, content), "seed " + seed + ": " + content);
      } else {
        assertEquals("length", choice.get("finish_reason").asText(), "only max_tokens may cut it: " + content);
        assertTrue(seed % 2 == 1, "the weather schema's longest answer fits 300 tokens: " + content);
      }
    }
  }

  @Test
  void streamingAConstrainedReplySpellsTheSameJson() throws Exception {
    ObjectNode body = chat("Weather?", 1).put("max_tokens", 200);
    body.set("response_format", jsonSchema("weather", WEATHER));
    String whole = post(qwen, "/v1/chat/completions", body.toString()).body().get("choices").get(0)
        .get("message").get("content").asText();
    body.put("stream", true);
    StringBuilder streamed = new StringBuilder();
    for (JsonNode chunk : ToolCallsApiTest.chunks(post(qwen, "/v1/chat/completions", body.toString()).raw())) {
      JsonNode delta = chunk.get("choices").get(0).get("delta");
      if (delta.hasNonNull("content")) {
        streamed.append(delta.get("content").asText());
      }
    }
    assertEquals(whole, streamed.toString());
  }

  @Test
  void processedLogprobsAreOfTheMaskedDistributionRawOnesOfTheModel() throws Exception {
    // at temperature 1 the masked distribution is the model's renormalised over what the grammar allows, so a
    // token's processed logprob is its raw one minus log(the mass the mask kept): never lower, and on a random model,
    // whose mass is spread over 151,936 ids, far higher
    ObjectNode body = chat("Weather?", 1).put("logprobs", true).put("top_logprobs", 3).put("max_tokens", 200);
    body.set("response_format", jsonSchema("weather", WEATHER));
    JsonNode raw = post(qwen, "/v1/chat/completions", body.toString()).body().get("choices").get(0);
    JsonNode processed = post(qwen, "/v1/chat/completions", body.put("logprobs_mode", "processed").toString())
        .body().get("choices").get(0);
    assertEquals(raw.get("message").get("content"), processed.get("message").get("content"), "same seed, same text");
    JsonNode rawTokens = raw.get("logprobs").get("content");
    JsonNode processedTokens = processed.get("logprobs").get("content");
    int lifted = 0;
    for (int i = 0; i < rawTokens.size(); i++) {
      double r = rawTokens.get(i).get("logprob").asDouble();
      double p = processedTokens.get(i).get("logprob").asDouble();
      assertTrue(p >= r - 1e-6, "token " + i + ": processed " + p + " below raw " + r);
      assertTrue(p <= 0, "a probability");
      lifted += p > r + 1 ? 1 : 0;
      double mass = 0;
      for (JsonNode alt : processedTokens.get(i).get("top_logprobs")) {
        mass += Math.exp(alt.get("logprob").asDouble()); // masked-out alternatives report -9999: no mass
      }
      assertTrue(mass <= 1 + 1e-6, "the alternatives of one distribution (float probabilities): " + mass);
    }
    assertTrue(lifted > rawTokens.size() / 2, lifted + " of " + rawTokens.size() + " tokens lifted by the mask");
  }

  @Test
  void aSchemaTheGrammarCannotHonourIsA400NamingPathAndKeyword() throws Exception {
    ObjectNode body = chat("x", 0);
    body.set("response_format", jsonSchema("bad", "{\"type\":\"object\",\"properties\":{\"d\":{\"type\":\"string\","
        + "\"format\":\"date\"}}}"));
    ServerHttpTest.Reply r = post(qwen, "/v1/chat/completions", body.toString());
    assertError(r, 400, "response_format.json_schema.schema");
    String message = r.body().get("error").get("message").asText();
    assertTrue(message.contains("#/properties/d") && message.contains("'format'"), message);

    body.set("response_format", SchemaJudge.json("{\"type\": \"json_schema\", \"json_schema\": {\"schema\": {}}}"));
    assertError(post(qwen, "/v1/chat/completions", body.toString()), 400, "response_format.json_schema.name");
    body.set("response_format", SchemaJudge.json("{\"type\": \"xml\"}"));
    assertError(post(qwen, "/v1/chat/completions", body.toString()), 400, "response_format.type");
    body.set("response_format", SchemaJudge.json("{\"type\": \"text\"}"));
    assertEquals(200, post(qwen, "/v1/chat/completions", body.put("max_tokens", 2).toString()).status());
    assertFalse(message.contains("Exception"), message);
  }

  @Test
  void aGrammarDecidesWhereTheReplyEndsSoMinTokensAndIgnoreEosAre400s() throws Exception {
    ObjectNode body = chat("x", 0);
    body.set("response_format", SchemaJudge.json("{\"type\": \"json_object\"}"));
    assertError(post(qwen, "/v1/chat/completions", body.deepCopy().put("min_tokens", 3).toString()), 400,
        "min_tokens");
    assertError(post(qwen, "/v1/chat/completions", body.deepCopy().put("ignore_eos", true).toString()), 400,
        "ignore_eos");
    ObjectNode plain = chat("x", 0).put("max_tokens", 3).put("min_tokens", 3);
    ServerHttpTest.Reply r = post(qwen, "/v1/chat/completions", plain.toString());
    assertEquals(200, r.status(), r.body().toString());
    assertEquals(3, r.body().get("usage").get("completion_tokens").asInt());
  }
}
