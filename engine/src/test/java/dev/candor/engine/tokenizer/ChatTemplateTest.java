package dev.candor.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.candor.engine.testing.TestCheckpoints;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Qwen2.5-Instruct template must give exactly the ChatML text Qwen was trained on. */
class ChatTemplateTest {
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

}
