package dev.candor.engine.fuzz;

import static dev.candor.engine.fuzz.Fuzzing.check;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.ChatTemplate.Message;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzzes chat-template rendering (tokenizer/ChatTemplate, Candor's Jinja interpreter underneath). Two threats: hostile message text
 * under the real Qwen2.5 template, which must come out verbatim (message text is data, never template), and a hostile
 * template (a checkpoint's tokenizer_config.json is input too), which must render or fail with a
 * {@link ChatTemplate.TemplateException}: never another exception, a hang, or a runaway allocation.
 */
class ChatTemplateFuzzTest {
  private static final String DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  /** Messages grown by the amplifier stay under this many characters in all. */
  private static final int MAX_AMPLIFIED_CHARS = 1 << 21;

  /**
   * {@code [flags] role 0x1F content 0x1E role 0x1F content ...}. Flags: bit 0 add_generation_prompt; bits 1-3
   * repeat every content 4^k times (huge messages from small inputs); bit 4 decode the messages as UTF-16LE rather
   * than UTF-8 (so lone surrogates reach the template).
   *
   * <p>The Qwen2.5 template is rendered and compared with the ChatML text it defines, computed here in plain Java.
   */
  @FuzzTest
  @DictionaryEntries({"system", "user", "assistant", "tool", "developer", "{{", "}}", "{%", "%}", "{#", "#}",
      "{{ messages }}", "{% raw %}", "{% endraw %}", "{%- if true %}", "\\", "\\n", "'", "\"", "<|im_end|>",
      "<|im_start|>", "${7*7}", "#{7*7}", "__class__", "loop.index"}) // (libFuzzer dictionaries take no control chars)
  void qwenMessages(byte[] input) {
    if (input.length == 0) {
      return;
    }
    int flags = input[0] & 0xff;
    boolean generationPrompt = (flags & 1) != 0;
    int repeat = 1 << (2 * ((flags >> 1) & 7));
    String text = new String(input, 1, input.length - 1,
        (flags & 16) != 0 ? StandardCharsets.UTF_16LE : StandardCharsets.UTF_8);
    List<Message> messages = messages(text, repeat);

    if (messages.isEmpty()) { // the template reads messages[0]: transformers raises UndefinedError, and so must this
      try {
        Fuzzing.qwenTemplate().render(messages, generationPrompt);
        throw new AssertionError("the Qwen template rendered no messages; transformers refuses them");
      } catch (ChatTemplate.TemplateException expected) {
        return;
      }
    }
    String rendered = Fuzzing.withinBudget("rendering " + messages.size() + " messages of " + chars(messages)
        + " chars", (32L << 20) + 64L * chars(messages), () -> {
          try {
            return Fuzzing.qwenTemplate().render(messages, generationPrompt);
          } catch (ChatTemplate.TemplateException e) {
            throw new AssertionError("the Qwen template refused " + describe(messages) + ": " + e.getMessage(), e);
          }
        });
    String expected = qwenChatMl(messages, generationPrompt);
    if (!rendered.equals(expected)) {
      throw new AssertionError("rendered text differs from ChatML at char " + mismatch(rendered, expected)
          + " for " + describe(messages) + "\nexpected: " + clip(expected) + "\nrendered: " + clip(rendered));
    }
  }

  /** A template from the fuzzer over fixed messages: renders, or fails with a TemplateException. */
  @FuzzTest
  @DictionaryEntries({"{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "for m in messages", "endfor", "if ", "endif",
      "else", "elif", "set ", "macro ", "endmacro", "call", "raw", "endraw", "include", "import", "extends", "block",
      "range(", "raise_exception(", "| tojson", "| join", "| replace", "| length", "| safe", "| string", "| int",
      "| list", "| map", "| sort", "loop.", "namespace(", "message['content']", "messages[0]", ".append(", ".update(",
      "add_generation_prompt", "bos_token", "eos_token", "~", "**", "//", "%", " is defined", " in ", " not ",
      "999999999"})
  void templateText(byte[] input) {
    String template = new String(input, StandardCharsets.UTF_8);
    ChatTemplate chat = new ChatTemplate(template, "<s>", "</s>");
    List<Message> messages = List.of(new Message("system", "S"), new Message("user", "{{ 7 * 7 }} {% if %}"),
        new Message("assistant", "A"), new Message("user", "\\u0000 \u00e9 \ud83d\ude00"));
    try {
      String out = chat.render(messages, true);
      check(out != null, "null output");
    } catch (ChatTemplate.TemplateException expected) {
      check(expected.getMessage() != null, "a TemplateException without a message");
    }
  }

  // ---- the input format and the oracle ----

  static List<Message> messages(String text, int repeat) {
    List<Message> out = new ArrayList<>();
    if (text.isEmpty()) {
      return out;
    }
    long budget = MAX_AMPLIFIED_CHARS;
    for (String record : text.split("\u001e", -1)) {
      int sep = record.indexOf('\u001f');
      String role = sep < 0 ? "user" : record.substring(0, sep);
      String content = sep < 0 ? record : record.substring(sep + 1);
      int times = (int) Math.max(1, Math.min(repeat, budget / Math.max(1, content.length())));
      content = content.repeat(times);
      budget -= content.length();
      out.add(new Message(role, content));
    }
    return out;
  }

  /**
   * The ChatML text the Qwen2.5 template defines for (one or more) messages without tools: a system turn first (the caller's, or
   * Qwen's default), then each user, assistant and later system message as {@code <|im_start|>role\ncontent<|im_end|>\n};
   * runs of tool messages become one user turn of {@code <tool_response>} blocks; any other role is dropped.
   */
  static String qwenChatMl(List<Message> messages, boolean generationPrompt) {
    StringBuilder out = new StringBuilder();
    boolean systemFirst = !messages.isEmpty() && messages.get(0).role().equals("system");
    out.append("<|im_start|>system\n").append(systemFirst ? messages.get(0).content() : DEFAULT_SYSTEM)
        .append("<|im_end|>\n");
    for (int i = 0; i < messages.size(); i++) {
      Message m = messages.get(i);
      switch (m.role()) {
        case "user", "assistant" -> turn(out, m);
        case "system" -> {
          if (i > 0) {
            turn(out, m);
          }
        }
        case "tool" -> {
          if (i == 0 || !messages.get(i - 1).role().equals("tool")) {
            out.append("<|im_start|>user");
          }
          out.append("\n<tool_response>\n").append(m.content()).append("\n</tool_response>");
          if (i == messages.size() - 1 || !messages.get(i + 1).role().equals("tool")) {
            out.append("<|im_end|>\n");
          }
        }
        default -> { } // the template has no branch for other roles
      }
    }
    if (generationPrompt) {
      out.append("<|im_start|>assistant\n");
    }
    return out.toString();
  }

  private static void turn(StringBuilder out, Message m) {
    out.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
  }

  private static long chars(List<Message> messages) {
    return messages.stream().mapToLong(m -> m.role().length() + m.content().length()).sum();
  }

  private static int mismatch(String a, String b) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      if (a.charAt(i) != b.charAt(i)) {
        return i;
      }
    }
    return n;
  }

  private static String describe(List<Message> messages) {
    List<String> parts = new ArrayList<>();
    for (Message m : messages) {
      parts.add(m.role() + ": " + clip(m.content()));
    }
    return parts.size() + " messages " + Arrays.toString(parts.toArray());
  }

  private static String clip(String s) {
    String shown = s.length() > 400 ? s.substring(0, 400) + "...(" + s.length() + " chars)" : s;
    return shown.replace("\n", "\\n");
  }
}
