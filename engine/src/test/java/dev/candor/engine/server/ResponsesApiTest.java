package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.get;
import static dev.candor.engine.server.ServerHttpTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * POST /v1/responses over raw HTTP: the response object and its items shaped as OpenAI's Responses API shapes them,
 * each answer the same as the chat request it amounts to (same text, prompt tokens, reasoning), the typed streaming
 * events in OpenAI's order ending with the whole response, function tools and calls, text.format, reasoning items
 * for a thinking model, and the stateless refusals.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ResponsesApiTest {
  static TestServer server;
  static TestServer thinking;

  @BeforeAll
  static void start() {
    server = SharedServers.qwen25();
    thinking = SharedServers.thinking();
  }

  static JsonNode respond(TestServer s, ObjectNode body) throws Exception {
    ServerHttpTest.Reply r = post(s, "/v1/responses", body.toString());
    assertEquals(200, r.status(), r.raw());
    return r.body();
  }

  static JsonNode chat(TestServer s, ObjectNode body) throws Exception {
    ServerHttpTest.Reply r = post(s, "/v1/chat/completions", body.toString());
    assertEquals(200, r.status(), r.raw());
    return r.body();
  }

  static ObjectNode request(String input, int maxTokens) {
    ObjectNode body = SchemaJudge.JSON.createObjectNode().put("input", input).put("max_output_tokens", maxTokens)
        .put("temperature", 0);
    body.putArray("include").add("message.output_text.logprobs");
    return body.put("top_logprobs", 2);
  }

  @Test
  void aStringInputAnswersAsTheChatRequestItAmountsTo() throws Exception {
    JsonNode r = respond(server, request("Hello there", 8).put("instructions", "Be brief."));
    assertTrue(r.get("id").asText().matches("resp_[0-9a-f]{48}"), r.get("id").asText());
    assertEquals("response", r.get("object").asText());
    assertEquals("incomplete", r.get("status").asText());
    assertEquals("max_output_tokens", r.get("incomplete_details").get("reason").asText());
    assertEquals(false, r.get("store").asBoolean());
    assertEquals("Be brief.", r.get("instructions").asText());
    JsonNode message = r.get("output").get(0);
    assertEquals(1, r.get("output").size());
    assertEquals("message", message.get("type").asText());
    assertTrue(message.get("id").asText().startsWith("msg_"));
    assertEquals("assistant", message.get("role").asText());
    assertEquals("incomplete", message.get("status").asText());
    JsonNode text = message.get("content").get(0);
    assertEquals("output_text", text.get("type").asText());
    assertEquals(0, text.get("annotations").size());
    assertEquals(8, text.get("logprobs").size());
    text.get("logprobs").forEach(t -> assertEquals(2, t.get("top_logprobs").size()));

    ObjectNode same = SchemaJudge.JSON.createObjectNode().put("max_tokens", 8).put("temperature", 0);
    same.putArray("messages").add(SchemaJudge.json("{\"role\": \"system\", \"content\": \"Be brief.\"}"))
        .add(SchemaJudge.json("{\"role\": \"user\", \"content\": \"Hello there\"}"));
    JsonNode c = chat(server, same);
    assertEquals(c.get("choices").get(0).get("message").get("content").asText(), text.get("text").asText());
    assertEquals(c.get("usage").get("prompt_tokens"), r.get("usage").get("input_tokens"));
    assertEquals(8, r.get("usage").get("output_tokens").asInt());
    assertEquals(8, r.get("confidence").get("tokens").size());
  }

  @Test
  void inputItemsCarryTheWholeConversation() throws Exception {
    ObjectNode body = request("", 2);
    ArrayNode input = body.putArray("input");
    input.add(SchemaJudge.json("{\"role\": \"developer\", \"content\": \"Use tools.\"}"));
    input.add(SchemaJudge.json("{\"type\": \"message\", \"role\": \"user\", \"content\": [{\"type\": \"input_text\", "
        + "\"text\": \"Weather in Paris?\"}]}"));
    input.add(SchemaJudge.json("{\"type\": \"function_call\", \"call_id\": \"call_1\", \"name\": \"get_weather\", "
        + "\"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}"));
    input.add(SchemaJudge.json("{\"type\": \"function_call_output\", \"call_id\": \"call_1\", \"output\": \"18 C\"}"));
    body.putArray("tools").add(SchemaJudge.json("{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": "
        + StructuredOutputApiTest.WEATHER + "}"));
    JsonNode r = respond(server, body);

    ObjectNode same = SchemaJudge.JSON.createObjectNode().put("max_tokens", 2).put("temperature", 0);
    same.set("messages", SchemaJudge.json("[{\"role\": \"system\", \"content\": \"Use tools.\"}, {\"role\": \"user\", "
        + "\"content\": \"Weather in Paris?\"}, {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"id\": "
        + "\"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": "
        + "\"{\\\"city\\\": \\\"Paris\\\"}\"}}]}, {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": "
        + "\"18 C\"}]"));
    same.putArray("tools").add(StructuredOutputApiTest.tool("get_weather", StructuredOutputApiTest.WEATHER));
    ((ObjectNode) same.get("tools").get(0).get("function")).remove("description");
    assertEquals(chat(server, same).get("usage").get("prompt_tokens"), r.get("usage").get("input_tokens"));
  }

  @Test
  void functionToolsAreCalledAndTextFormatConstrainsTheMessage() throws Exception {
    ObjectNode body = request("Weather?", 300).put("temperature", 1.0).put("seed", 4).put("tool_choice", "required")
        .put("parallel_tool_calls", false);
    body.putArray("tools").add(SchemaJudge.json("{\"type\": \"function\", \"name\": \"get_weather\", "
        + "\"description\": \"weather\", \"parameters\": " + StructuredOutputApiTest.WEATHER + "}"));
    JsonNode r = respond(server, body);
    assertEquals("completed", r.get("status").asText());
    assertEquals(1, r.get("output").size(), r.get("output").toString());
    JsonNode call = r.get("output").get(0);
    assertEquals("function_call", call.get("type").asText());
    assertTrue(call.get("id").asText().startsWith("fc_") && call.get("call_id").asText().startsWith("call_"));
    assertEquals("get_weather", call.get("name").asText());
    assertEquals("completed", call.get("status").asText());
    assertEquals(List.of(), SchemaJudge.violations(SchemaJudge.json(StructuredOutputApiTest.WEATHER),
        call.get("arguments").asText()));

    ObjectNode formatted = request("Weather as JSON.", 300).put("temperature", 1.0).put("seed", 5);
    formatted.putObject("text").set("format", SchemaJudge.json("{\"type\": \"json_schema\", \"name\": \"weather\", "
        + "\"strict\": true, \"schema\": " + StructuredOutputApiTest.WEATHER + "}"));
    JsonNode f = respond(server, formatted);
    String text = f.get("output").get(0).get("content").get(0).get("text").asText();
    assertEquals(List.of(), SchemaJudge.violations(SchemaJudge.json(StructuredOutputApiTest.WEATHER), text));
    assertEquals("json_schema", f.get("text").get("format").get("type").asText());
  }

  /** The stream's events: each SSE's event name is its data's type, numbered from 0 without a gap. */
  static List<JsonNode> events(String raw) {
    List<JsonNode> out = new ArrayList<>();
    for (String block : raw.split("\n\n")) {
      if (block.isBlank() || block.startsWith(":")) {
        continue;
      }
      String[] lines = block.split("\n");
      assertTrue(lines[0].startsWith("event: ") && lines[1].startsWith("data: "), block);
      JsonNode data = SchemaJudge.json(lines[1].substring(6));
      assertEquals(lines[0].substring(7), data.get("type").asText());
      assertEquals(out.size(), data.get("sequence_number").asInt());
      out.add(data);
    }
    return out;
  }

  static List<String> types(List<JsonNode> events) {
    return events.stream().map(e -> e.get("type").asText()).toList();
  }

  @Test
  void streamingSendsOpenAisEventsAndEndsWithTheWholeResponse() throws Exception {
    ObjectNode body = request("Tell me a story.", 6);
    JsonNode whole = respond(server, body);
    List<JsonNode> events = events(post(server, "/v1/responses", body.put("stream", true).toString()).raw());
    List<String> types = types(events);
    assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added"), types.subList(0, 4));
    assertEquals(List.of("response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.incomplete"), types.subList(types.size() - 4, types.size()));
    assertEquals("in_progress", events.get(0).get("response").get("status").asText());
    StringBuilder deltas = new StringBuilder();
    int logprobs = 0;
    for (JsonNode e : events) {
      if (e.get("type").asText().equals("response.output_text.delta")) {
        deltas.append(e.get("delta").asText());
        logprobs += e.get("logprobs").size();
        assertEquals(events.get(2).get("item").get("id"), e.get("item_id"));
      }
    }
    JsonNode last = events.getLast().get("response");
    String text = whole.get("output").get(0).get("content").get(0).get("text").asText();
    assertEquals(text, deltas.toString());
    assertEquals(6, logprobs);
    assertEquals(text, events.get(types.size() - 4).get("text").asText());
    assertEquals(whole.get("output").get(0).get("content"), last.get("output").get(0).get("content"));
    assertEquals(withoutCached(whole.get("usage")), withoutCached(last.get("usage")));
    // the same prompt a second time: the prefix cache may serve some of it, never more than all
    int cached = last.get("usage").get("input_tokens_details").get("cached_tokens").asInt();
    assertTrue(cached >= whole.get("usage").get("input_tokens_details").get("cached_tokens").asInt()
        && cached <= last.get("usage").get("input_tokens").asInt(), last.get("usage").toString());
    assertEquals(whole.get("confidence").get("lines"), last.get("confidence").get("lines"));
  }

  /** Usage without the prefix cache's share, which depends on what ran before. */
  private static JsonNode withoutCached(JsonNode usage) {
    ObjectNode copy = usage.deepCopy();
    copy.remove("input_tokens_details");
    return copy;
  }

  @Test
  void streamedFunctionArgumentsAddUpToTheCall() throws Exception {
    ObjectNode body = request("Weather?", 300).put("temperature", 1.0).put("seed", 4).put("tool_choice", "required")
        .put("parallel_tool_calls", false).put("stream", true);
    body.putArray("tools").add(SchemaJudge.json("{\"type\": \"function\", \"name\": \"get_weather\", "
        + "\"parameters\": " + StructuredOutputApiTest.WEATHER + "}"));
    List<JsonNode> events = events(post(server, "/v1/responses", body.toString()).raw());
    StringBuilder arguments = new StringBuilder();
    String done = null;
    for (JsonNode e : events) {
      switch (e.get("type").asText()) {
        case "response.function_call_arguments.delta" -> arguments.append(e.get("delta").asText());
        case "response.function_call_arguments.done" -> done = e.get("arguments").asText();
        default -> { }
      }
    }
    assertEquals(done, arguments.toString());
    JsonNode call = events.getLast().get("response").get("output").get(0);
    assertEquals(done, call.get("arguments").asText());
    assertEquals("response.completed", events.getLast().get("type").asText());
  }

  @Test
  void aThinkingModelsReasoningIsAReasoningItem() throws Exception {
    ObjectNode chatBody = ThinkingApiTest.forced(1, 24);
    JsonNode c = chat(thinking, chatBody).get("choices").get(0);
    ObjectNode body = SchemaJudge.JSON.createObjectNode().put("input", "Think, then answer.").put("temperature", 1)
        .put("seed", 1).put("max_output_tokens", 24).put("presence_penalty", 2).put("frequency_penalty", 2);
    body.set("logit_bias", chatBody.get("logit_bias"));
    JsonNode r = respond(thinking, body);
    JsonNode reasoning = r.get("output").get(0);
    assertEquals("reasoning", reasoning.get("type").asText());
    assertTrue(reasoning.get("id").asText().startsWith("rs_"));
    assertEquals(0, reasoning.get("summary").size());
    assertEquals(c.get("message").get("reasoning_content").asText(),
        reasoning.get("content").get(0).get("text").asText());
    assertEquals(c.get("confidence").get("phases").get("reasoning").get("n_tokens"),
        r.get("usage").get("output_tokens_details").get("reasoning_tokens"));
    assertEquals(c.get("confidence").get("phases"), r.get("confidence").get("phases"));
    List<String> types = types(events(post(thinking, "/v1/responses", body.put("stream", true).toString()).raw()));
    assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "response.reasoning_text.delta"), types.subList(0, 5));
    assertTrue(types.contains("response.reasoning_text.done"));
  }

  @Test
  void whatNeedsStoredStateOrIsNotTextIsRefusedInOneLine() throws Exception {
    String path = "/v1/responses";
    assertError(post(server, path, request("x", 2).put("previous_response_id", "resp_1").toString()), 400,
        "previous_response_id");
    assertError(post(server, path, request("x", 2).put("conversation", "conv_1").toString()), 400, "conversation");
    ObjectNode include = request("x", 2);
    include.putArray("include").add("reasoning.encrypted_content");
    assertError(post(server, path, include.toString()), 400, "include");
    ObjectNode search = request("x", 2);
    search.putArray("tools").addObject().put("type", "web_search");
    assertError(post(server, path, search.toString()), 400, "tools[0].type");
    ObjectNode noInput = request("x", 2);
    noInput.remove("input");
    assertError(post(server, path, noInput.toString()), 400, "input");
    assertError(post(server, path, request("x", 0).toString()), 400, "max_output_tokens");
    ObjectNode image = request("x", 2);
    image.set("input", SchemaJudge.json("[{\"role\": \"user\", \"content\": [{\"type\": \"input_image\"}]}]"));
    assertError(post(server, path, image.toString()), 400, "input[0].content[0].type");
    ObjectNode badSchema = request("x", 2);
    badSchema.putObject("text").set("format", SchemaJudge.json("{\"type\": \"json_schema\", \"name\": \"n\", "
        + "\"schema\": {\"type\": \"string\", \"pattern\": \"a+\"}}"));
    assertError(post(server, path, badSchema.toString()), 400, "text.format.schema");
    ObjectNode badParameters = request("x", 2).put("tool_choice", "required");
    badParameters.putArray("tools").add(SchemaJudge.json("{\"type\": \"function\", \"name\": \"f\", \"parameters\": "
        + "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"format\": \"email\"}}}}"));
    assertError(post(server, path, badParameters.toString()), 400, "tools[0].parameters");
    assertError(get(server, "/v1/responses/resp_123"), 404, null);
  }
}
