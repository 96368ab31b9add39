package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A chat request is rendered through the checkpoint's own template exactly as Hugging Face renders it: for every
 * conversation of the golden renderings (made with Python's jinja2 as transformers configures it) that the API can
 * express, sent as an OpenAI client sends it (tool-call arguments as JSON strings, tools, chat_template_kwargs), the
 * server's usage.prompt_tokens is the token count of HF's rendering. Run against a random-weight checkpoint with
 * Qwen3's tokenizer and template, and one with Qwen2.5's.
 */
class ChatPromptApiTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static TestServer qwen3;
  static TestServer qwen25;

  @BeforeAll
  static void start() {
    qwen3 = SharedServers.qwen3();
    qwen25 = SharedServers.qwen25();
  }

  static JsonNode golden() throws IOException {
    try (InputStream in = ChatPromptApiTest.class.getResourceAsStream(
        "/dev/candor/engine/tokenizer/chat-template-golden.json")) {
      return JSON.readTree(in);
    }
  }

  /**
   * The golden cases of {@code template} an OpenAI request can carry: rendered (not refused by the template), with
   * the generation prompt, no role the API maps to another (developer becomes system, as OpenAI's models read it),
   * and tool-call arguments given to the template as objects (an OpenAI client sends a JSON string, which the server
   * parses into the object, as vLLM does; a case that hands the template the string itself is another input).
   */
  static List<JsonNode> cases(String template) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode c : golden().path("cases")) {
      boolean other = false;
      for (JsonNode m : c.get("messages")) {
        other |= m.path("role").asText().equals("developer");
        for (JsonNode call : m.path("tool_calls")) {
          other |= call.path("function").path("arguments").isTextual();
        }
      }
      if (c.get("template").asText().equals(template) && c.has("output") && c.get("add_generation_prompt").asBoolean()
          && !c.get("messages").isEmpty() && !other) {
        out.add(c);
      }
    }
    return out;
  }

  /** The request an OpenAI client would send for a golden case: arguments as JSON strings, as the SDKs send them. */
  static ObjectNode request(JsonNode c) {
    ObjectNode body = JSON.createObjectNode().put("max_tokens", 1).put("temperature", 0);
    ArrayNode messages = c.get("messages").deepCopy();
    for (JsonNode m : messages) {
      for (JsonNode call : m.path("tool_calls")) {
        ObjectNode function = (ObjectNode) call.get("function");
        if (!function.get("arguments").isTextual()) {
          function.put("arguments", function.get("arguments").toString());
        }
      }
      if (m.path("role").asText().equals("tool") && !m.has("tool_call_id")) {
        ((ObjectNode) m).put("tool_call_id", "call_1"); // OpenAI requires it; these templates do not print it
      }
    }
    body.set("messages", messages);
    if (c.hasNonNull("tools") && !c.get("tools").isEmpty()) {
      body.set("tools", c.get("tools"));
    }
    if (c.hasNonNull("kwargs") && !c.get("kwargs").isEmpty()) {
      body.set("chat_template_kwargs", c.get("kwargs"));
    }
    return body;
  }

  static void checkPromptTokens(TestServer server, String template) throws Exception {
    List<JsonNode> cases = cases(template);
    assertTrue(cases.size() >= 15, template + ": only " + cases.size() + " cases");
    for (JsonNode c : cases) {
      ServerHttpTest.Reply r = post(server, "/v1/chat/completions", request(c).toString());
      assertEquals(200, r.status(), c.get("name") + ": " + r.raw());
      int expected = server.target.tokenizer().encode(c.get("output").asText()).length;
      assertEquals(expected, r.body().get("usage").get("prompt_tokens").asInt(), c.get("name").asText());
    }
  }

  @Test
  void qwen3PromptsCostTheTokensOfHfsRendering() throws Exception {
    checkPromptTokens(qwen3, "qwen3");
  }

  @Test
  void qwen25PromptsCostTheTokensOfHfsRendering() throws Exception {
    checkPromptTokens(qwen25, "qwen2.5");
  }

  @Test
  void badConversationsAreRefusedNamingTheField() throws Exception {
    String user = "{\"role\": \"user\", \"content\": \"hi\"}";
    assertError(post(qwen3, "/v1/chat/completions", "{\"messages\": [" + user + ", {\"role\": \"tool\", "
        + "\"content\": \"18 C\"}]}"), 400, "messages[1].tool_call_id");
    assertError(post(qwen3, "/v1/chat/completions", "{\"messages\": [{\"role\": \"assistant\", \"content\": null, "
        + "\"tool_calls\": [{\"id\": \"c\", \"type\": \"function\", \"function\": {\"name\": \"f\"}}]}]}"), 400,
        "messages[0].tool_calls[0].function.arguments");
    assertError(post(qwen3, "/v1/chat/completions", "{\"messages\": [" + user + "], \"chat_template_kwargs\": "
        + "[1]}"), 400, "chat_template_kwargs");
    assertError(post(qwen3, "/v1/chat/completions", "{\"messages\": [" + user + "], \"chat_template_kwargs\": "
        + "{\"messages\": []}}"), 400, "chat_template_kwargs");
    assertError(post(qwen3, "/v1/chat/completions", "{\"messages\": [" + user + "], \"functions\": [{}]}"), 400,
        "functions");
  }
}
