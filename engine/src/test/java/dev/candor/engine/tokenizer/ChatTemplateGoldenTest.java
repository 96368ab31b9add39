package dev.candor.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.jinja.Template;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Chat templates rendered byte for byte as transformers' apply_chat_template renders them: the published Qwen2.5
 * and Qwen3 templates (loaded from their tokenizer_config.json as a checkpoint ships it) and four templates in the
 * style of other common ones, over system prompts, multi-turn, reasoning in the history, enable_thinking, tools,
 * tool calls and responses, template syntax in user text and unicode. The expected text was made once with Python's
 * jinja2 in HF's environment ({@code engine/src/test/python/hf_chat_templates.py}, committed with its output).
 */
class ChatTemplateGoldenTest {
  static final JsonNode GOLDEN = JinjaConformanceTest.read("chat-template-golden.json");
  private static final Map<String, ChatTemplate> TEMPLATES = new HashMap<>();

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : GOLDEN.path("cases")) {
      out.add(Arguments.of(c.get("name").asText(), c));
    }
    return out.stream();
  }

  static synchronized ChatTemplate template(String name) {
    return TEMPLATES.computeIfAbsent(name, n -> switch (n) {
      case "qwen2.5" -> ChatTemplate.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer_config.json"))
          .withClock(JinjaConformanceTest.FIXED);
      case "qwen3" -> ChatTemplate.load(resource("qwen3/tokenizer_config.json")).withClock(JinjaConformanceTest.FIXED);
      default -> new ChatTemplate(Map.of("default", text(resource("templates/" + n + ".jinja"))),
          tokens(GOLDEN.path("special_tokens").path(n)), JinjaConformanceTest.FIXED);
    });
  }

  static Path resource(String name) {
    try {
      return Path.of(ChatTemplateGoldenTest.class.getResource(name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String text(Path p) {
    try {
      return Files.readString(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Map<String, Object> tokens(JsonNode json) {
    Map<String, Object> m = new LinkedHashMap<>();
    json.fields().forEachRemaining(e -> m.put(e.getKey(), Template.value(e.getValue())));
    return m;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rendersAsTransformersDoes(String name, JsonNode c) {
    ChatTemplate template = template(c.get("template").asText());
    JsonNode tools = c.get("tools").isNull() ? null : c.get("tools");
    boolean generationPrompt = c.get("add_generation_prompt").asBoolean();
    if (c.has("output")) {
      assertEquals(c.get("output").asText(), template.render(c.get("messages"), tools, generationPrompt,
          c.get("kwargs")), name);
      return;
    }
    try {
      String rendered = template.render(c.get("messages"), tools, generationPrompt, c.get("kwargs"));
      fail(name + ": transformers raises " + c.get("error").asText() + ", Candor rendered:\n" + rendered);
    } catch (ChatTemplate.TemplateException e) {
      assertEquals(JinjaConformanceTest.kind(c.get("error").asText()), e.kind(), name + ": " + e.getMessage());
    }
  }

  /** The loader gives the template the special tokens transformers' special_tokens_map does. */
  @Test
  void specialTokensAreTransformersSpecialTokensMap() throws IOException {
    for (String name : List.of("qwen2.5", "qwen3")) {
      Path config = name.equals("qwen3") ? resource("qwen3/tokenizer_config.json")
          : TestCheckpoints.qwenTokenizer().resolve("tokenizer_config.json");
      JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(config.toFile());
      assertEquals(tokens(GOLDEN.path("special_tokens").path(name)), ChatTemplate.specialTokens(root), name);
    }
  }
}
