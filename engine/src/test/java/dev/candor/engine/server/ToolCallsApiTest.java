package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tool calls through the real server, a random-weight model with Qwen2.5's tokenizer and template and a drafter:
 * tool_choice required and named under the tool-call grammar (valid calls of offered functions, whole and streamed
 * as OpenAI streams them, the same), parallel_tool_calls, auto read from free text (a call under auto beside a
 * response_format; a malformed block comes back as content), none, and every refusal naming its field.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ToolCallsApiTest {
  static final String WEATHER = StructuredOutputApiTest.WEATHER;
  static final String SEARCH = "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\",\"maxLength\":8},"
      + "\"n\":{\"type\":\"integer\"}},\"required\":[\"q\",\"n\"],\"additionalProperties\":false}";
  static final int TOOL_CALL = 151657; // <tool_call>, an added (not special) token of Qwen's tokenizer
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServers.qwen25();
  }

  static ObjectNode request(Object toolChoice, int seed) {
    ObjectNode body = StructuredOutputApiTest.chat("What is the weather in Paris? Search too.", seed)
        .put("max_tokens", 700);
    ArrayNode tools = body.putArray("tools");
    tools.add(StructuredOutputApiTest.tool("get_weather", WEATHER));
    tools.add(StructuredOutputApiTest.tool("search", SEARCH));
    if (toolChoice instanceof String s) {
      body.put("tool_choice", s);
    } else if (toolChoice instanceof JsonNode n) {
      body.set("tool_choice", n);
    }
    return body;
  }

  static JsonNode choice(ObjectNode body) throws Exception {
    ServerHttpTest.Reply r = post(server, "/v1/chat/completions", body.toString());
    assertEquals(200, r.status(), r.raw());
    return r.body().get("choices").get(0);
  }

  /** The data events of a server-sent stream, [DONE] and comments left out. */
  static List<JsonNode> chunks(String raw) {
    List<JsonNode> out = new ArrayList<>();
    for (String event : raw.split("\n\n")) {
      for (String line : event.split("\n")) {
        if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
          out.add(SchemaJudge.json(line.substring(6)));
        }
      }
    }
    return out;
  }

  static void assertValidCall(JsonNode call) {
    assertEquals("function", call.get("type").asText());
    assertTrue(call.get("id").asText().matches("call_[A-Za-z0-9]{24}"), call.toString());
    String name = call.get("function").get("name").asText();
    JsonNode schema = SchemaJudge.json(name.equals("search") ? SEARCH : WEATHER);
    assertTrue(name.equals("search") || name.equals("get_weather"), name);
    assertEquals(List.of(), SchemaJudge.violations(schema, call.get("function").get("arguments").asText()));
  }

  @Test
  void requiredCallsAreValidCallsOfOfferedFunctions() throws Exception {
    for (int seed = 0; seed < 4; seed++) {
      JsonNode choice = choice(request("required", seed));
      assertEquals("tool_calls", choice.get("finish_reason").asText(), choice.get("message").toString());
      JsonNode calls = choice.get("message").get("tool_calls");
      assertTrue(calls.size() >= 1 && calls.size() <= ToolUse.MAX_PARALLEL_CALLS, calls.toString());
      calls.forEach(ToolCallsApiTest::assertValidCall);
      assertTrue(choice.get("message").get("content").isNull());
    }
  }

  @Test
  void aNamedFunctionIsCalledOnceAndParallelFalseMeansOneCall() throws Exception {
    JsonNode named = SchemaJudge.json("{\"type\": \"function\", \"function\": {\"name\": \"search\"}}");
    for (int seed = 1; seed < 4; seed++) {
      JsonNode calls = choice(request(named, seed)).get("message").get("tool_calls");
      assertEquals(1, calls.size());
      assertEquals("search", calls.get(0).get("function").get("name").asText());
      assertValidCall(calls.get(0));
      JsonNode one = choice(request("required", seed).put("parallel_tool_calls", false)).get("message")
          .get("tool_calls");
      assertEquals(1, one.size());
      assertValidCall(one.get(0));
    }
  }

  @Test
  void streamedCallsArriveAsOpenAiFragmentsThatAddUpToTheWholeReply() throws Exception {
    ObjectNode body = request("required", 3);
    JsonNode whole = choice(body).get("message").get("tool_calls");
    body.put("stream", true);
    Map<Integer, StringBuilder> arguments = new LinkedHashMap<>();
    Map<Integer, String> names = new LinkedHashMap<>();
    String finish = null;
    for (JsonNode chunk : chunks(post(server, "/v1/chat/completions", body.toString()).raw())) {
      JsonNode c = chunk.get("choices").get(0);
      for (JsonNode d : c.path("delta").path("tool_calls")) {
        int index = d.get("index").asInt();
        if (d.has("id")) {
          assertFalse(names.containsKey(index), "one first fragment per call");
          assertEquals("function", d.get("type").asText());
          assertEquals("", d.get("function").get("arguments").asText(), "the first fragment has no arguments");
          names.put(index, d.get("function").get("name").asText());
          arguments.put(index, new StringBuilder());
        } else {
          assertNotNull(arguments.get(index), "a fragment after its call's first: " + d);
          assertFalse(d.get("function").has("name"));
          arguments.get(index).append(d.get("function").get("arguments").asText());
        }
      }
      if (c.hasNonNull("finish_reason")) {
        finish = c.get("finish_reason").asText();
      }
    }
    assertEquals("tool_calls", finish);
    assertEquals(whole.size(), names.size());
    for (int i = 0; i < whole.size(); i++) {
      assertEquals(whole.get(i).get("function").get("name").asText(), names.get(i));
      assertEquals(whole.get(i).get("function").get("arguments").asText(), arguments.get(i).toString());
    }
  }

  @Test
  void autoReadsCallsFromTheReplyAndAMalformedBlockIsContent() throws Exception {
    // beside a response_format the reply is a call or the format's JSON; a bias on <tool_call> picks the call
    ObjectNode either = request("auto", 2).put("parallel_tool_calls", false);
    either.set("response_format", StructuredOutputApiTest.jsonSchema("weather", WEATHER));
    either.putObject("logit_bias").put(String.valueOf(TOOL_CALL), 100);
    JsonNode call = choice(either);
    assertEquals("tool_calls", call.get("finish_reason").asText(), call.get("message").toString());
    call.get("message").get("tool_calls").forEach(ToolCallsApiTest::assertValidCall);
    either.putObject("logit_bias").put(String.valueOf(TOOL_CALL), -100);
    JsonNode json = choice(either);
    assertFalse(json.get("message").has("tool_calls"), json.get("message").toString());
    assertEquals("stop", json.get("finish_reason").asText());

    // free text that opens a block the model never makes a call of: content, tags and all, never a 500
    ObjectNode free = request("auto", 0).put("max_tokens", 6);
    free.putObject("logit_bias").put(String.valueOf(TOOL_CALL), 100);
    JsonNode malformed = choice(free);
    assertFalse(malformed.get("message").has("tool_calls"));
    assertEquals("<tool_call>".repeat(6), malformed.get("message").get("content").asText());
    assertEquals("length", malformed.get("finish_reason").asText());
    // tool_choice none: nothing is read as a call
    JsonNode none = choice(request("none", 0).put("max_tokens", 6).set("logit_bias", free.get("logit_bias")));
    assertEquals("<tool_call>".repeat(6), none.get("message").get("content").asText());
  }

  @Test
  void refusalsNameTheirField() throws Exception {
    ObjectNode noTools = StructuredOutputApiTest.chat("hi", 0).put("tool_choice", "required");
    assertError(post(server, "/v1/chat/completions", noTools.toString()), 400, "tool_choice");
    assertError(post(server, "/v1/chat/completions", request(SchemaJudge.json(
        "{\"type\": \"function\", \"function\": {\"name\": \"nope\"}}"), 0).toString()), 400, "tool_choice");
    assertError(post(server, "/v1/chat/completions", request("sometimes", 0).toString()), 400, "tool_choice");
    ObjectNode retrieval = request("auto", 0);
    ((ObjectNode) retrieval.get("tools").get(0)).put("type", "retrieval");
    assertError(post(server, "/v1/chat/completions", retrieval.toString()), 400, "tools[0].type");
    ObjectNode twice = request("auto", 0);
    ((ArrayNode) twice.get("tools")).add(twice.get("tools").get(0).deepCopy());
    assertError(post(server, "/v1/chat/completions", twice.toString()), 400, "tools[2].function.name");
    ObjectNode badName = request("auto", 0);
    ((ObjectNode) badName.get("tools").get(1).get("function")).put("name", "no spaces");
    assertError(post(server, "/v1/chat/completions", badName.toString()), 400, "tools[1].function.name");
    // a parameters keyword the grammar cannot honour matters only where the grammar writes the call
    ObjectNode pattern = request("required", 0);
    ((ObjectNode) pattern.get("tools").get(1).get("function").get("parameters").get("properties").get("q"))
        .put("pattern", "^[a-z]+$");
    ServerHttpTest.Reply refused = post(server, "/v1/chat/completions", pattern.toString());
    assertError(refused, 400, "tools[1].function.parameters");
    assertTrue(refused.body().get("error").get("message").asText().contains("'pattern'"));
    assertEquals(200, post(server, "/v1/chat/completions", pattern.put("tool_choice", "auto").put("max_tokens", 2)
        .toString()).status());
  }
}
