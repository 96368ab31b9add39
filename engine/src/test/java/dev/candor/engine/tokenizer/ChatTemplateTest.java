package dev.candor.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.jinja.JinjaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Qwen2.5-Instruct template must give exactly the ChatML text Qwen was trained on; where templates come from
 * (chat_template.jinja, named templates, additional_chat_templates) and which one a request uses, as transformers
 * decides; and a template from a download stays sandboxed and bounded.
 */
class ChatTemplateTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final ChatTemplate QWEN = ChatTemplate.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer_config.json"));

  static ChatTemplate.Message m(String role, String content) {
    return new ChatTemplate.Message(role, content);
  }

  @Test
  void withASystemMessage() {
    String text = QWEN.render(List.of(m("system", "You are terse."), m("user", "Hello"), m("assistant", "Hi."),
        m("user", "Again?")), true);
    assertEquals("<|im_start|>system\nYou are terse.<|im_end|>\n"
        + "<|im_start|>user\nHello<|im_end|>\n"
        + "<|im_start|>assistant\nHi.<|im_end|>\n"
        + "<|im_start|>user\nAgain?<|im_end|>\n"
        + "<|im_start|>assistant\n", text);
  }

  @Test
  void withoutASystemMessageQwenAddsItsDefault() {
    String text = QWEN.render(List.of(m("user", "What is 2+2?")), true);
    assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        + "<|im_start|>assistant\n", text);
  }

  @Test
  void withoutTheGenerationPrompt() {
    String text = QWEN.render(List.of(m("system", "S"), m("user", "U")), false);
    assertEquals("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n", text);
  }

  @Test
  void messageTextIsDataNotTemplate() {
    String hostile = "{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %} {# c #} \\n '\" <|im_end|>";
    String text = QWEN.render(List.of(m("user", hostile)), true);
    assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        + "<|im_start|>user\n" + hostile + "<|im_end|>\n<|im_start|>assistant\n", text);
  }

  @Test
  void raiseExceptionBecomesAClearError() {
    ChatTemplate strict = new ChatTemplate(
        "{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('tools are not supported') }}{% endif %}"
            + "{{ m.content }}{% endfor %}", "", "");
    assertEquals("ab", strict.render(List.of(m("user", "a"), m("assistant", "b")), false));
    var e = assertThrows(ChatTemplate.TemplateException.class, () -> strict.render(List.of(m("tool", "x")), false));
    assertEquals("chat template: tools are not supported", e.getMessage());
  }


  // ---- where the template comes from ----

  private static Path checkpoint(Path dir, String tokenizerConfig) throws IOException {
    Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfig);
    return dir.resolve("tokenizer_config.json");
  }

  private static JsonNode json(String s) throws IOException {
    return JSON.readTree(s);
  }

  @Test
  void chatTemplateJinjaTakesPrecedenceOverTheConfigsField(@TempDir Path dir) throws IOException {
    Path config = checkpoint(dir, "{\"chat_template\": \"from config\", \"eos_token\": \"</s>\"}");
    assertEquals("from config", ChatTemplate.load(config).render(List.of(m("user", "x")), false));
    Files.writeString(dir.resolve("chat_template.jinja"), "from file {{ eos_token }}\n");
    assertEquals("from file </s>", ChatTemplate.load(config).render(List.of(m("user", "x")), false));
  }

  @Test
  void aTemplateFileWorksWithoutAnInlineTemplate(@TempDir Path dir) throws IOException {
    Path config = checkpoint(dir, "{}");
    assertNull(ChatTemplate.load(config));
    Files.writeString(dir.resolve("chat_template.jinja"), "{{ messages[0].content }}");
    assertEquals("x", ChatTemplate.load(config).render(List.of(m("user", "x")), true));
  }

  @Test
  void namedTemplatesChooseToolUseWhenToolsAreGiven(@TempDir Path dir) throws IOException {
    Path config = checkpoint(dir, "{\"chat_template\": [{\"name\": \"default\", \"template\": \"plain\"},"
        + " {\"name\": \"tool_use\", \"template\": \"tools: {{ tools | length }}\"}]}");
    ChatTemplate t = ChatTemplate.load(config);
    JsonNode messages = json("[{\"role\": \"user\", \"content\": \"hi\"}]");
    assertEquals("plain", t.render(messages, null, true, null));
    assertEquals("tools: 1", t.render(messages, json("[{\"type\": \"function\"}]"), true, null));
    assertEquals("tools: 0", t.render(messages, json("[]"), true, null), "an empty list is given tools, as in HF");
  }

  @Test
  void additionalChatTemplatesAreNamedByTheirFiles(@TempDir Path dir) throws IOException {
    Path config = checkpoint(dir, "{\"chat_template\": \"default one\"}");
    Files.createDirectories(dir.resolve("additional_chat_templates"));
    Files.writeString(dir.resolve("additional_chat_templates/tool_use.jinja"), "tool one");
    ChatTemplate t = ChatTemplate.load(config);
    assertEquals(java.util.Set.of("default", "tool_use"), t.names());
    assertEquals("tool one", t.render(json("[]"), json("[]"), false, null));
    assertEquals("default one", t.render(json("[]"), null, false, null));
  }

  @Test
  void severalTemplatesWithoutADefaultAreRefusedInOneLine(@TempDir Path dir) throws IOException {
    Path config = checkpoint(dir, "{\"chat_template\": [{\"name\": \"a\", \"template\": \"A\"},"
        + " {\"name\": \"b\", \"template\": \"B\"}]}");
    var e = assertThrows(ChatTemplate.TemplateException.class, () -> ChatTemplate.load(config).render(json("[]"), null,
        false, null));
    assertEquals("chat template: this model has several chat templates and none is named 'default': [a, b]",
        e.getMessage());
  }

  @Test
  void aMalformedTemplateListIsACheckpointError(@TempDir Path dir) throws IOException {
    Path config = checkpoint(dir, "{\"chat_template\": [{\"name\": \"default\"}]}");
    var e = assertThrows(CheckpointException.class, () -> ChatTemplate.load(config));
    assertTrue(e.getMessage().contains("chat_template is a list"), e.getMessage());
  }

  @Test
  void aBrokenTemplateFailsWhenUsedNotWhenLoaded(@TempDir Path dir) throws IOException {
    Path config = checkpoint(dir, "{\"chat_template\": \"{% if %}\"}");
    ChatTemplate t = ChatTemplate.load(config);
    var e = assertThrows(ChatTemplate.TemplateException.class, () -> t.render(List.of(m("user", "x")), true));
    assertTrue(e.templateBroken(), e.getMessage());
    assertTrue(e.getMessage().startsWith("chat template: "), e.getMessage());
  }

  // ---- the OpenAI-shaped API ----

  @Test
  void templateArgumentsReachTheTemplateButCannotReplaceTheConversation() throws IOException {
    ChatTemplate t = new ChatTemplate("{{ enable_thinking }}|{{ eos_token }}|{{ messages | length }}", "", "</s>");
    assertEquals("False|</s>|0", t.render(json("[]"), null, false, json("{\"enable_thinking\": false}")));
    assertEquals("|<x>|0", t.render(json("[]"), null, false, json("{\"eos_token\": \"<x>\"}")));
    for (String reserved : List.of("messages", "tools", "documents", "add_generation_prompt")) {
      var e = assertThrows(ChatTemplate.TemplateException.class,
          () -> t.render(json("[]"), null, false, json("{\"" + reserved + "\": 1}")));
      assertTrue(e.getMessage().contains("'" + reserved + "' cannot be a template argument"), e.getMessage());
    }
    assertThrows(ChatTemplate.TemplateException.class, () -> t.render(json("{}"), null, false, null));
    assertThrows(ChatTemplate.TemplateException.class, () -> t.render(json("[]"), json("{}"), false, null));
  }

  @Test
  void toolsAreNoneWhenNotGivenAndBosIsUndefinedWhenUnset() throws IOException {
    ChatTemplate t = new ChatTemplate("{{ tools is none }} {{ documents is none }} {{ bos_token is defined }}", null,
        "</s>");
    assertEquals("True True False", t.render(json("[]"), null, true, null));
  }

  @Test
  void openAiToolArgumentsAreParsedIntoTheObjectTemplatesPrint() throws IOException {
    ArrayNode messages = (ArrayNode) json("[{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": ["
        + "{\"id\": \"1\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}},"
        + "{\"id\": \"2\", \"type\": \"function\", \"function\": {\"name\": \"g\", \"arguments\": \"not json\"}}]}]");
    ArrayNode parsed = ChatTemplate.parseToolArguments(messages);
    assertEquals(json("{\"a\": 1}"), parsed.at("/0/tool_calls/0/function/arguments"));
    assertEquals("not json", parsed.at("/0/tool_calls/1/function/arguments").asText());
    assertTrue(messages.at("/0/tool_calls/0/function/arguments").isTextual(), "the input is not changed");
    String out = QWEN.render(parsed, null, false, null);
    assertTrue(out.contains("{\"name\": \"f\", \"arguments\": {\"a\": 1}}"), out);
  }

  // ---- sandbox and bounds: a template is data from a download ----

  private static ChatTemplate.TemplateException refused(String template) {
    ChatTemplate t = new ChatTemplate(template, "", "");
    return assertThrows(ChatTemplate.TemplateException.class, () -> t.render(List.of(m("user", "x")), true));
  }

  @Test
  void noPathFromATemplateToJavaOrToMutation() {
    assertEquals(JinjaException.Kind.SECURITY, refused("{{ ''.__class__.__mro__ }}").kind());
    assertEquals(JinjaException.Kind.SECURITY, refused("{{ messages.append(1) }}").kind());
    assertEquals(JinjaException.Kind.SECURITY, refused("{{ messages[0].update({'role': 'x'}) }}").kind());
    assertEquals(JinjaException.Kind.SECURITY, refused("{{ messages.__getitem__(0) }}").kind());
    ChatTemplate t = new ChatTemplate("[{{ messages.getClass }}][{{ range.__self__ }}][{{ cycler.__init__ }}]", "", "");
    assertEquals("[][][]", t.render(List.of(m("user", "x")), true));
  }

  @Test
  void runawayTemplatesStopWithAnError() { // the budget counts steps and characters, so this holds on any machine
    for (String hostile : List.of(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "{{ 'x' * 10 ** 12 }}",
        "{{ 2 ** 100000 }}",
        "{{ range(10 ** 9) | list }}",
        "{% for x in messages recursive %}{{ loop(messages) }}{% endfor %}")) {
      var e = refused(hostile);
      assertTrue(e.kind() == JinjaException.Kind.RUNTIME || e.kind() == JinjaException.Kind.VALUE,
          hostile + ": " + e.getMessage());
    }
  }

  @Test
  void deeplyNestedTemplatesAreSyntaxErrorsNotStackOverflows() {
    for (String deep : List.of("{{ " + "(".repeat(5000) + "1" + ")".repeat(5000) + " }}",
        "{{ " + "-".repeat(5000) + "1 }}", "{{ " + "not ".repeat(5000) + "1 }}",
        "{% if true %}".repeat(2000) + "{% endif %}".repeat(2000),
        "{{ x" + ".a".repeat(5000) + " }}", "{{ 1" + " + 1".repeat(5000) + " }}",
        "{{ x" + " | upper".repeat(5000) + " }}")) {
      assertEquals(JinjaException.Kind.SYNTAX, refused(deep).kind(), deep.substring(0, 20));
    }
    ChatTemplate longChain = new ChatTemplate("{% if false %}{% " + "elif false %}".repeat(20000) + "{% else %}ok"
        + "{% endif %}", "", "");
    assertEquals("ok", longChain.render(List.of(), true), "a long elif chain is not nesting");
  }

  @Test
  void specialTokensAreTheOnesTheConfigSets() throws IOException {
    Map<String, Object> tokens = ChatTemplate.specialTokens(json("{\"bos_token\": null, \"eos_token\": {\"content\":"
        + " \"<e>\", \"lstrip\": false}, \"unk_token\": \"\", \"pad_token\": \"<p>\", \"additional_special_tokens\": [\"<a>\"]}"));
    assertEquals(Map.of("eos_token", "<e>", "pad_token", "<p>", "additional_special_tokens", List.of("<a>")), tokens);
    assertFalse(tokens.containsKey("bos_token"));
  }
}
