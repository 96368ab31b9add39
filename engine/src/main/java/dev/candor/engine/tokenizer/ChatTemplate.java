package dev.candor.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.tokenizer.jinja.JinjaException;
import dev.candor.engine.tokenizer.jinja.PyCallable;
import dev.candor.engine.tokenizer.jinja.PyDatetime;
import dev.candor.engine.tokenizer.jinja.Template;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint's chat template(s), rendered exactly as Hugging Face transformers' {@code
 * tokenizer.apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False, **kwargs)} renders
 * them: Jinja2 in HF's sandboxed environment (trim_blocks, lstrip_blocks, loopcontrols, HF's {@code tojson},
 * {@code raise_exception}, {@code strftime_now}, the {@code generation} tag), through Candor's own interpreter
 * ({@link Template}), with the variables HF passes: {@code messages}, {@code tools} (None when not given),
 * {@code documents} (None), {@code add_generation_prompt}, the tokenizer's set special tokens ({@code bos_token},
 * {@code eos_token}, {@code pad_token}, ..., {@code additional_special_tokens}) and the caller's extra keyword
 * arguments (e.g. {@code enable_thinking}), which override the special tokens.
 *
 * <p>Where the template comes from, as transformers loads it: {@code chat_template.jinja} beside
 * tokenizer_config.json if present, else tokenizer_config.json's {@code chat_template} (a string, or a list of
 * {@code {name, template}}), plus {@code additional_chat_templates/NAME.jinja}. With several templates, a request
 * with tools uses {@code tool_use} if there is one, otherwise {@code default}.
 *
 * <p>Message text is data, never template: a user who writes {@code {{ 7 * 7 }}} gets exactly those characters.
 * The template is data from a download, so it runs sandboxed and bounded (see {@link Template}).
 */
public final class ChatTemplate {
  /** A role and its text: the convenience form for callers without tools or reasoning. */
  public record Message(String role, String content) {}

  /**
   * Thrown when a template cannot render a conversation: the template's own {@code raise_exception} (it refuses the
   * conversation, e.g. roles that do not alternate), data the template cannot handle (a null content it calls a
   * method on), or a template that is broken ({@link #templateBroken()}: a syntax error, the checkpoint's fault).
   * The message is one line, prefixed "chat template".
   */
  public static final class TemplateException extends IllegalArgumentException {
    private final JinjaException.Kind kind;

    public TemplateException(String message) {
      this(message, JinjaException.Kind.RUNTIME);
    }

    TemplateException(String message, JinjaException.Kind kind) {
      super(message);
      this.kind = kind;
    }

    /** What failed, as the Python exception Jinja2 would have raised. */
    public JinjaException.Kind kind() {
      return kind;
    }

    /** The template itself does not parse: no conversation could render, so this is not the client's mistake. */
    public boolean templateBroken() {
      return kind == JinjaException.Kind.SYNTAX;
    }
  }

  /** The names HF gives the variables it passes; a template kwarg may not reuse them. */
  private static final Set<String> RESERVED = Set.of("messages", "tools", "documents", "add_generation_prompt");
  /** transformers' SPECIAL_TOKENS_ATTRIBUTES, in its order. */
  private static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
      "pad_token", "cls_token", "mask_token", "additional_special_tokens");
  private static final long MAX_TEMPLATE_BYTES = 16L << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Parsed> templates;
  private final Map<String, Object> specialTokens;
  private final Clock clock;

  /** A parsed template, or why it does not parse (raised when it is used, as transformers compiles on first use). */
  private record Parsed(Template template, JinjaException error) {
    static Parsed of(String source) {
      try {
        return new Parsed(Template.parse(source), null);
      } catch (JinjaException e) {
        return new Parsed(null, e);
      }
    }
  }

  /** One template with HF's bos_token and eos_token variables (each left undefined when null or empty). */
  public ChatTemplate(String template, String bosToken, String eosToken) {
    this(Map.of("default", template), tokens(bosToken, eosToken), Clock.systemDefaultZone());
  }

  /**
   * @param templates the template source by name ({@code default}, {@code tool_use}, ...)
   * @param specialTokens the tokenizer's special_tokens_map: the variables {@code bos_token}, ... as strings (or a
   *     list of strings for additional_special_tokens)
   * @param clock what {@code strftime_now} reads
   */
  public ChatTemplate(Map<String, String> templates, Map<String, Object> specialTokens, Clock clock) {
    if (templates.isEmpty()) {
      throw new IllegalArgumentException("a chat template needs at least one template");
    }
    Map<String, Parsed> parsed = new LinkedHashMap<>();
    templates.forEach((name, source) -> parsed.put(name, Parsed.of(source)));
    this.templates = parsed;
    this.specialTokens = Map.copyOf(specialTokens);
    this.clock = clock;
  }

  private ChatTemplate(Map<String, Parsed> templates, Map<String, Object> specialTokens, Clock clock, boolean copy) {
    this.templates = templates;
    this.specialTokens = specialTokens;
    this.clock = clock;
  }

  private static Map<String, Object> tokens(String bos, String eos) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (bos != null && !bos.isEmpty()) {
      m.put("bos_token", bos);
    }
    if (eos != null && !eos.isEmpty()) {
      m.put("eos_token", eos);
    }
    return m;
  }

  /** The same templates with {@code strftime_now} reading {@code clock} (tests fix the time). */
  public ChatTemplate withClock(Clock clock) {
    return new ChatTemplate(templates, specialTokens, clock, true);
  }

  /** The template names, {@code default} first when there is one. */
  public Set<String> names() {
    return templates.keySet();
  }

  // ---- loading ----

  /**
   * Loads the templates beside {@code tokenizerConfigJson} as transformers does (see the class comment), with the
   * special tokens that file sets; null when the checkpoint has no chat template.
   */
  public static ChatTemplate load(Path tokenizerConfigJson) {
    Path dir = tokenizerConfigJson.toAbsolutePath().getParent();
    JsonNode config = Files.exists(tokenizerConfigJson) ? readJson(tokenizerConfigJson) : JSON.createObjectNode();
    Map<String, String> named = inlineTemplates(tokenizerConfigJson, config.path("chat_template"));
    Path file = dir.resolve("chat_template.jinja");
    if (Files.isRegularFile(file)) {
      named.clear(); // the file clobbers any template in the config
      named.put("default", readText(file));
    }
    Path extra = dir.resolve("additional_chat_templates");
    if (Files.isDirectory(extra)) {
      try (DirectoryStream<Path> files = Files.newDirectoryStream(extra, "*.jinja")) {
        for (Path f : files) {
          String name = f.getFileName().toString();
          named.put(name.substring(0, name.length() - ".jinja".length()), readText(f));
        }
      } catch (IOException e) {
        throw new CheckpointException(extra + ": cannot list it: " + e.getMessage());
      }
    }
    if (named.isEmpty()) {
      return null;
    }
    return new ChatTemplate(named, specialTokens(config), Clock.systemDefaultZone());
  }

  private static Map<String, String> inlineTemplates(Path file, JsonNode t) {
    Map<String, String> named = new LinkedHashMap<>();
    if (t.isTextual()) {
      named.put("default", t.asText());
    } else if (t.isArray()) { // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
      for (JsonNode entry : t) {
        if (!entry.path("name").isTextual() || !entry.path("template").isTextual()) {
          throw new CheckpointException(file + ": chat_template is a list, but an entry is not {\"name\": ...,"
              + " \"template\": ...} with two strings");
        }
        named.put(entry.get("name").asText(), entry.get("template").asText());
      }
    } else if (!t.isMissingNode() && !t.isNull()) {
      throw new CheckpointException(file + ": chat_template must be a string or a list of named templates, got "
          + t.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
    }
    return named;
  }

  /** transformers' special_tokens_map: each special token the config sets (a string or an AddedToken's content). */
  static Map<String, Object> specialTokens(JsonNode config) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (String name : SPECIAL_TOKENS) {
      JsonNode v = config.path(name);
      if (name.equals("additional_special_tokens") && v.isArray() && !v.isEmpty()) {
        List<Object> list = new ArrayList<>();
        v.forEach(item -> list.add(tokenText(item)));
        out.put(name, list);
      } else if (!tokenText(v).isEmpty()) {
        out.put(name, tokenText(v));
      }
    }
    return out;
  }

  private static String tokenText(JsonNode token) {
    if (token.isTextual()) {
      return token.asText();
    }
    return token.isObject() ? token.path("content").asText("") : "";
  }

  private static JsonNode readJson(Path file) {
    try {
      JsonNode root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
      if (root == null || !root.isObject()) {
        throw new CheckpointException(file + ": not a JSON object");
      }
      return root;
    } catch (IOException e) {
      throw new CheckpointException(file + ": not valid JSON: " + e.getMessage());
    }
  }

  private static String readText(Path file) {
    try {
      if (Files.size(file) > MAX_TEMPLATE_BYTES) {
        throw new CheckpointException(file + ": a chat template of more than " + (MAX_TEMPLATE_BYTES >> 20)
            + " MB is not a chat template");
      }
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot read it as UTF-8 text: " + e.getMessage());
    }
  }

  // ---- rendering ----

  /** The prompt for plain role/content messages; with {@code addGenerationPrompt} it ends where the reply begins. */
  public String render(List<Message> messages, boolean addGenerationPrompt) {
    ArrayNode list = JSON.createArrayNode();
    for (Message m : messages) {
      list.addObject().put("role", m.role()).put("content", m.content());
    }
    return render(list, null, addGenerationPrompt, null);
  }

  /**
   * The prompt for a conversation in OpenAI's shape, as {@code apply_chat_template} renders it.
   *
   * @param messages an array of message objects, passed to the template as they are: {@code role}, {@code content}
   *     (a string; Qwen's templates call string methods on it, so an assistant turn with only tool calls should
   *     carry {@code ""}, not null), and where present {@code reasoning_content}, {@code tool_calls} ({@code [{id,
   *     type, function: {name, arguments}}]} with {@code arguments} the JSON object the template prints with tojson;
   *     see {@link #parseToolArguments}), {@code tool_call_id}, {@code name}
   * @param tools the tools array (JSON schemas, {@code {type: "function", function: {name, description,
   *     parameters}}}), or null for none: the template then sees {@code tools} as None
   * @param addGenerationPrompt end with the opening of the assistant's turn
   * @param kwargs extra template variables (vLLM's {@code chat_template_kwargs}, e.g. {@code {"enable_thinking":
   *     false}}), or null; they override the special tokens but may not be named messages, tools, documents or
   *     add_generation_prompt
   * @throws TemplateException if the template refuses the conversation or cannot render it
   */
  public String render(JsonNode messages, JsonNode tools, boolean addGenerationPrompt, JsonNode kwargs) {
    if (messages == null || !messages.isArray()) {
      throw new TemplateException("chat template: messages must be an array");
    }
    boolean hasTools = tools != null && !tools.isNull() && !tools.isMissingNode();
    if (hasTools && !tools.isArray()) {
      throw new TemplateException("chat template: tools must be an array");
    }
    Parsed parsed = select(hasTools);
    if (parsed.error() != null) {
      throw failure(parsed.error());
    }
    Map<String, Object> variables = new LinkedHashMap<>(globals(clock));
    variables.putAll(specialTokens);
    if (kwargs != null && !kwargs.isNull() && !kwargs.isMissingNode()) {
      if (!kwargs.isObject()) {
        throw new TemplateException("chat template: template arguments must be an object");
      }
      for (var it = kwargs.fields(); it.hasNext(); ) {
        var e = it.next();
        if (RESERVED.contains(e.getKey())) {
          throw new TemplateException("chat template: '" + e.getKey() + "' cannot be a template argument, it is"
              + " set from the request");
        }
        variables.put(e.getKey(), Template.value(e.getValue()));
      }
    }
    variables.put("messages", Template.value(messages));
    variables.put("tools", hasTools ? Template.value(tools) : null);
    variables.put("documents", null);
    variables.put("add_generation_prompt", addGenerationPrompt);
    try {
      return parsed.template().render(variables);
    } catch (JinjaException e) {
      throw failure(e);
    }
  }

  /** HF's choice among named templates: {@code tool_use} when tools are given and it exists, else {@code default}. */
  private Parsed select(boolean hasTools) {
    if (templates.size() == 1) {
      return templates.values().iterator().next();
    }
    if (hasTools && templates.containsKey("tool_use")) {
      return templates.get("tool_use");
    }
    Parsed fallback = templates.get("default");
    if (fallback == null) {
      throw new TemplateException("chat template: this model has several chat templates and none is named"
          + " 'default': " + templates.keySet());
    }
    return fallback;
  }

  private static TemplateException failure(JinjaException e) {
    String where = e.line() > 0 ? " (template line " + e.line() + ")" : "";
    String message = e.kind() == JinjaException.Kind.RAISED ? e.getMessage()
        : e.getMessage() + where;
    return new TemplateException("chat template: " + message.replace('\n', ' '), e.kind());
  }

  /** The functions HF's environment adds: raise_exception(message) and strftime_now(format). */
  public static Map<String, Object> globals(Clock clock) {
    Map<String, Object> g = new LinkedHashMap<>();
    g.put("raise_exception", PyCallable.named("raise_exception", (args, kwargs) -> {
      Object message = args.isEmpty() ? kwargs.get("message") : args.get(0);
      throw new JinjaException(JinjaException.Kind.RAISED, Template.str(message));
    }));
    g.put("strftime_now", PyCallable.named("strftime_now", (args, kwargs) -> {
      Object format = args.isEmpty() ? kwargs.get("format") : args.get(0);
      if (!(format instanceof String f)) {
        throw new JinjaException(JinjaException.Kind.TYPE, "strftime() argument 1 must be str");
      }
      return PyDatetime.strftime(f, LocalDateTime.now(clock));
    }));
    return g;
  }

  /**
   * vLLM's preparation of OpenAI messages for a template: a tool call's {@code function.arguments}, which OpenAI
   * sends as a JSON string, parsed into the object templates print with {@code tojson}. Returns a copy; an
   * argument string that is not a JSON object is left as it is.
   */
  public static ArrayNode parseToolArguments(ArrayNode messages) {
    ArrayNode copy = messages.deepCopy();
    for (JsonNode m : copy) {
      for (JsonNode call : m.path("tool_calls")) {
        JsonNode function = call.path("function");
        if (function instanceof ObjectNode f && f.path("arguments").isTextual()) {
          try {
            JsonNode parsed = JSON.readTree(f.get("arguments").asText());
            if (parsed != null && parsed.isObject()) {
              f.set("arguments", parsed);
            }
          } catch (IOException notJson) {
            // left as the string it is: the template prints what it was given
          }
        }
      }
    }
    return copy;
  }
}
