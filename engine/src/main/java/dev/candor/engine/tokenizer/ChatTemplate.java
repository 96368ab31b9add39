package dev.candor.engine.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.candor.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The checkpoint's chat template ({@code tokenizer_config.json}, "chat_template"), rendered by a real Jinja engine
 * (HubSpot's Jinjava) configured as Hugging Face configures Jinja2: trim_blocks and lstrip_blocks on, no trailing
 * newline, Python-style {@code tojson}, and {@code raise_exception}. Message text is data: Jinjava's "nested
 * interpretation" (re-rendering output that looks like a template) is switched off, so a user who writes
 * {@code {{ ... }}} gets exactly those characters.
 */
public final class ChatTemplate {
  /** A role and its text, as the template sees it. */
  public record Message(String role, String content) {}

  /** Thrown by the template's raise_exception, or when a template cannot render the messages it was given. */
  public static final class TemplateException extends IllegalArgumentException {
    public TemplateException(String message) {
      super(message);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_OUTPUT_CHARS = 64L * 1024 * 1024;

  private final String template;
  private final String bosToken;
  private final String eosToken;
  private final Jinjava jinjava;

  public ChatTemplate(String template, String bosToken, String eosToken) {
    // Jinja2 drops one trailing newline of the template source (keep_trailing_newline=False); Jinjava's option of
    // that name strips the rendered output instead, which would eat a newline the template means to print.
    this.template = template.endsWith("\n") ? template.substring(0, template.length() - 1) : template;
    this.bosToken = bosToken;
    this.eosToken = eosToken;
    JinjavaConfig config = JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        .withNestedInterpretationEnabled(false)
        .withFailOnUnknownTokens(false)
        .withMaxOutputSize(MAX_OUTPUT_CHARS)
        .withLegacyOverrides(LegacyOverrides.newBuilder()
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withHandleBackslashInQuotesOnly(true)
            .withKeepNullableLoopValues(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .build())
        .withKeepTrailingNewline(true)
        .build();
    this.jinjava = new Jinjava(config);
    jinjava.getGlobalContext().registerFilter(new PythonToJson());
    jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
        "raiseException", String.class));
  }

  /** Reads chat_template, bos_token and eos_token from a tokenizer_config.json; null if it has no template. */
  public static ChatTemplate load(Path tokenizerConfigJson) {
    if (!Files.exists(tokenizerConfigJson)) {
      return null;
    }
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(tokenizerConfigJson));
    } catch (IOException e) {
      throw new CheckpointException(tokenizerConfigJson + ": not valid JSON: " + e.getMessage());
    }
    JsonNode t = root.path("chat_template");
    String template = null;
    if (t.isTextual()) {
      template = t.asText();
    } else if (t.isArray()) { // [{"name": "default", "template": "..."}, ...]
      for (JsonNode named : t) {
        if (named.path("name").asText().equals("default")) {
          template = named.path("template").asText();
        }
      }
    }
    if (template == null) {
      return null;
    }
    return new ChatTemplate(template, tokenText(root.path("bos_token")), tokenText(root.path("eos_token")));
  }

  private static String tokenText(JsonNode token) {
    if (token.isTextual()) {
      return token.asText();
    }
    if (token.isObject()) {
      return token.path("content").asText("");
    }
    return "";
  }

  /** The prompt text for {@code messages}; with {@code addGenerationPrompt} it ends where the assistant's reply begins. */
  public String render(List<Message> messages, boolean addGenerationPrompt) {
    Map<String, Object> context = new HashMap<>();
    List<Map<String, Object>> list = messages.stream().map(m -> {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("role", m.role());
      map.put("content", m.content());
      return map;
    }).toList();
    context.put("messages", list);
    context.put("add_generation_prompt", addGenerationPrompt);
    context.put("bos_token", bosToken);
    context.put("eos_token", eosToken);
    RenderResult result = jinjava.renderForResult(template, context);
    for (TemplateError error : result.getErrors()) {
      if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
        String message = error.getMessage();
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
          if (t instanceof TemplateException raised) {
            message = raised.getMessage();
          }
        }
        throw new TemplateException("chat template: " + message);
      }
    }
    return result.getOutput();
  }

  /** The template's {@code raise_exception(message)}. */
  public static String raiseException(String message) {
    throw new TemplateException(message);
  }

  /** Jinja2's tojson as Hugging Face defines it: json.dumps(x, ensure_ascii=False), separators ", " and ": ". */
  private static final class PythonToJson implements Filter {
    private static final ObjectMapper WRITER = new ObjectMapper();

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      try {
        String compact = WRITER.writeValueAsString(var);
        return pythonSeparators(compact);
      } catch (JsonProcessingException e) {
        throw new TemplateException("tojson: " + e.getMessage());
      }
    }

    @Override
    public String getName() {
      return "tojson";
    }
  }

  /** Re-spaces compact JSON as Python's json.dumps does: ", " between items and ": " after keys. */
  static String pythonSeparators(String compact) {
    StringBuilder out = new StringBuilder(compact.length() + 16);
    boolean inString = false;
    for (int i = 0; i < compact.length(); i++) {
      char c = compact.charAt(i);
      out.append(c);
      if (inString) {
        if (c == '\\') {
          out.append(compact.charAt(++i));
        } else if (c == '"') {
          inString = false;
        }
      } else if (c == '"') {
        inString = true;
      } else if (c == ',' || c == ':') {
        out.append(' ');
      }
    }
    return out.toString();
  }
}
