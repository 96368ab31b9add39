package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.grammar.Grammar;
import dev.candor.engine.grammar.TokenAutomaton;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.engine.tools.FunctionSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The chat-specific part of a request, in OpenAI's shape: the messages (system, developer, user, assistant with
 * {@code tool_calls} and {@code reasoning_content}, tool results) made into what the checkpoint's chat template takes
 * (tool-call arguments parsed from their JSON strings, as vLLM passes them), the offered {@code tools} with
 * {@code tool_choice} and {@code parallel_tool_calls}, {@code response_format}, vLLM's {@code chat_template_kwargs}
 * and {@code split_special_tokens}. It renders and tokenizes the prompt, compiles the reply's constraint (a schema,
 * forced tool calls) and says how the reply is to be read ({@link Reply}).
 */
final class ChatParser {
  static final int MAX_TOOLS = 128;
  /** OpenAI's rule for function and schema names. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Set<String> TEMPLATE_VARIABLES = Set.of("messages", "tools", "documents",
      "add_generation_prompt");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A rendered chat prompt and what its reply needs. */
  record ChatPrompt(String text, int[] ids, Reply reply, TokenAutomaton constraint) {}

  /** The offered tools as the template shows them and as the reply uses them. */
  private record Tools(ToolUse use, ArrayNode shown, List<String> parameterParams) {}

  /** Checks a message text against the context window, and makes it well-formed UTF-16 (see RequestParser). */
  interface TextCheck {
    String check(String text, String param);
  }

  private final LoadedModel model;
  private final RequestLimits limits;
  private final Constraints constraints;
  private final boolean splitByDefault;
  private final TextCheck textCheck;
  private final boolean thinkingModel;

  ChatParser(LoadedModel model, RequestLimits limits, Constraints constraints, boolean splitByDefault,
      TextCheck textCheck) {
    this.model = model;
    this.limits = limits;
    this.constraints = constraints;
    this.splitByDefault = splitByDefault;
    this.textCheck = textCheck;
    this.thinkingModel = thinks(model.tokenizer());
  }

  /** A thinking model: its tokenizer has {@code <think>} and {@code </think>} as added tokens of their own. */
  static boolean thinks(Tokenizer tokenizer) {
    for (String tag : List.of(ThinkingSplitter.OPEN, ThinkingSplitter.CLOSE)) {
      int id = tokenizer.addedTokenId(tag);
      if (id < 0 || tokenizer.isSpecial(id)) {
        return false;
      }
    }
    return true;
  }

  ChatPrompt parse(JsonNode root) {
    ArrayNode messages = messages(root);
    Tools tools = tools(root);
    JsonNode kwargs = kwargs(root);
    boolean split = RequestParser.boolField(root, "split_special_tokens", splitByDefault);
    ArrayNode shownTools = tools == null ? null : tools.shown();
    String text = textCheck.check(render(messages, shownTools, kwargs), "messages"); // before tokenizing it
    int[] ids;
    if (split) {
      SpecialTokenSplit.checkUnmarked(text);
      String marked = render(SpecialTokenSplit.wrap(messages), shownTools, kwargs);
      ids = SpecialTokenSplit.encode(model.tokenizer(), text, marked);
    } else {
      ids = model.tokenizer().encode(text);
    }
    TokenAutomaton constraint = constraint(root, tools);
    ThinkingSplitter.Start start = !thinkingModel ? null
        : constraint != null ? ThinkingSplitter.Start.ANSWER // the grammar writes the answer from the first token
        : ThinkingSplitter.start(text);
    return new ChatPrompt(text, ids, new Reply(start, tools == null ? null : tools.use()), constraint);
  }

  private ArrayNode messages(JsonNode root) {
    JsonNode messages = root.get("messages");
    if (messages == null || !messages.isArray()) {
      throw ApiException.invalid("messages", "is required: an array of {role, content}");
    }
    if (messages.isEmpty()) {
      throw ApiException.invalid("messages", "must contain at least one message");
    }
    if (messages.size() > limits.maxMessages()) {
      throw ApiException.invalid("messages", "has " + messages.size() + " messages; the limit is "
          + limits.maxMessages());
    }
    ArrayNode out = JSON.createArrayNode();
    for (int i = 0; i < messages.size(); i++) {
      out.add(message(messages.get(i), "messages[" + i + "]"));
    }
    return ChatTemplate.parseToolArguments(out);
  }

  /** One message as the template takes it: role, content (a string), and the fields its role may carry. */
  private ObjectNode message(JsonNode m, String param) {
    if (!m.isObject()) {
      throw ApiException.invalid(param, "must be an object {role, content}");
    }
    String role = m.path("role").isTextual() ? m.get("role").asText() : null;
    if (role == null) {
      throw ApiException.invalid(param + ".role", "is required");
    }
    ObjectNode out = JSON.createObjectNode();
    switch (role) {
      case "system", "developer", "user" -> out.put("role", role.equals("developer") ? "system" : role)
          .put("content", content(m.get("content"), true, param + ".content"));
      case "assistant" -> assistant(m, param, out);
      case "tool" -> {
        JsonNode id = m.get("tool_call_id");
        if (id == null || !id.isTextual()) {
          throw ApiException.invalid(param + ".tool_call_id", "is required for a tool message: the id of the call "
              + "it answers");
        }
        out.put("role", "tool").put("tool_call_id", id.asText())
            .put("content", content(m.get("content"), true, param + ".content"));
      }
      case "function" -> throw ApiException.unsupported(param + ".role", "the legacy 'function' role is not "
          + "supported; send the result as a 'tool' message with its tool_call_id");
      default -> throw ApiException.invalid(param + ".role", "'" + Http.shown(role) + "' is not one of 'system', "
          + "'developer', 'user', 'assistant', 'tool'");
    }
    if (m.hasNonNull("name")) {
      if (!m.get("name").isTextual()) {
        throw ApiException.invalid(param + ".name", "must be a string");
      }
      out.put("name", m.get("name").asText());
    }
    return out;
  }

  /** An assistant turn: content (may be null with tool calls: then ""), its tool calls, its reasoning. */
  private void assistant(JsonNode m, String param, ObjectNode out) {
    out.put("role", "assistant").put("content", content(m.get("content"), false, param + ".content"));
    if (m.hasNonNull("reasoning_content")) {
      if (!m.get("reasoning_content").isTextual()) {
        throw ApiException.invalid(param + ".reasoning_content", "must be a string");
      }
      out.put("reasoning_content", textCheck.check(m.get("reasoning_content").asText(),
          param + ".reasoning_content"));
    }
    JsonNode calls = m.get("tool_calls");
    if (calls == null || calls.isNull() || (calls.isArray() && calls.isEmpty())) {
      return;
    }
    if (!calls.isArray()) {
      throw ApiException.invalid(param + ".tool_calls", "must be an array of {id, type: 'function', function}");
    }
    ArrayNode list = out.putArray("tool_calls");
    for (int j = 0; j < calls.size(); j++) {
      list.add(toolCall(calls.get(j), param + ".tool_calls[" + j + "]"));
    }
  }

  private ObjectNode toolCall(JsonNode call, String param) {
    if (!call.isObject() || !call.path("function").isObject()) {
      throw ApiException.invalid(param, "must be {id, type: 'function', function: {name, arguments}}");
    }
    if (call.hasNonNull("type") && !call.get("type").asText().equals("function")) {
      throw ApiException.unsupported(param + ".type", "only 'function' tool calls are supported");
    }
    JsonNode function = call.get("function");
    if (!function.path("name").isTextual() || function.get("name").asText().isEmpty()) {
      throw ApiException.invalid(param + ".function.name", "is required: the called function's name");
    }
    JsonNode arguments = function.get("arguments");
    if (arguments == null || !(arguments.isTextual() || arguments.isObject())) {
      throw ApiException.invalid(param + ".function.arguments", "must be a string of JSON (as OpenAI sends it)");
    }
    ObjectNode out = JSON.createObjectNode();
    if (call.hasNonNull("id")) {
      if (!call.get("id").isTextual()) {
        throw ApiException.invalid(param + ".id", "must be a string");
      }
      out.put("id", call.get("id").asText());
    }
    out.put("type", "function");
    out.putObject("function").put("name", function.get("name").asText()).set("arguments",
        arguments.isTextual() ? JSON.getNodeFactory().textNode(textCheck.check(arguments.asText(),
            param + ".function.arguments")) : arguments);
    return out;
  }

  /** A message's text: a string, or a list of {"type": "text", "text": ...} parts joined by newlines (as vLLM). */
  private String content(JsonNode content, boolean required, String param) {
    if (content == null || content.isNull()) {
      if (!required) {
        return ""; // Qwen's templates call string methods on it: "" renders an assistant turn of only tool calls
      }
      throw ApiException.invalid(param, "is required");
    }
    if (content.isTextual()) {
      return textCheck.check(content.asText(), param);
    }
    if (!content.isArray()) {
      throw ApiException.invalid(param, "must be a string or an array of text parts");
    }
    if (content.isEmpty()) {
      throw ApiException.invalid(param, "must not be an empty array (give a string or at least one text part)");
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < content.size(); i++) {
      JsonNode part = content.get(i);
      String type = part.path("type").asText("");
      if (!type.equals("text")) {
        throw ApiException.unsupported(param + "[" + i + "].type", "content part type '" + Http.shown(type)
            + "' is not supported (only 'text')");
      }
      if (!part.path("text").isTextual()) {
        throw ApiException.invalid(param + "[" + i + "].text", "must be a string");
      }
      if (i > 0) {
        text.append('\n');
      }
      text.append(part.get("text").asText());
    }
    return textCheck.check(text.toString(), param);
  }

  /** tools, tool_choice and parallel_tool_calls; null when no tools are offered. */
  private Tools tools(JsonNode root) {
    JsonNode tools = root.get("tools");
    boolean none = tools == null || tools.isNull() || (tools.isArray() && tools.isEmpty());
    if (none) {
      ToolChoiceSpec spec = toolChoice(root.get("tool_choice"), Set.of());
      if (spec.choice() == ToolUse.Choice.REQUIRED || spec.choice() == ToolUse.Choice.NAMED) {
        throw ApiException.invalid("tool_choice", "asks for a tool call, but the request offers no tools");
      }
      return null;
    }
    if (!tools.isArray()) {
      throw ApiException.invalid("tools", "must be an array of {type: 'function', function: {name, parameters}}");
    }
    if (tools.size() > MAX_TOOLS) {
      throw ApiException.invalid("tools", "has " + tools.size() + " tools; the limit is " + MAX_TOOLS);
    }
    List<FunctionSpec> functions = new ArrayList<>();
    List<String> params = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < tools.size(); i++) {
      FunctionSpec f = function(tools.get(i), "tools[" + i + "]");
      if (!names.add(f.name())) {
        throw ApiException.invalid("tools[" + i + "].function.name", "'" + f.name() + "' is offered twice");
      }
      functions.add(f);
      params.add("tools[" + i + "].function.parameters");
    }
    ToolChoiceSpec spec = toolChoice(root.get("tool_choice"), names);
    boolean parallel = RequestParser.boolField(root, "parallel_tool_calls", true);
    return new Tools(new ToolUse(functions, spec.choice(), spec.name(), parallel), tools.deepCopy(), params);
  }

  private static FunctionSpec function(JsonNode tool, String param) {
    if (!tool.isObject()) {
      throw ApiException.invalid(param, "must be {type: 'function', function: {name, description, parameters}}");
    }
    if (!tool.path("type").asText("function").equals("function")) {
      throw ApiException.unsupported(param + ".type", "only 'function' tools are supported");
    }
    JsonNode function = tool.get("function");
    if (function == null || !function.isObject()) {
      throw ApiException.invalid(param + ".function", "is required: {name, description, parameters}");
    }
    checkName(function.get("name"), param + ".function.name");
    JsonNode parameters = function.get("parameters");
    if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
      throw ApiException.invalid(param + ".function.parameters", "must be a JSON schema object");
    }
    return new FunctionSpec(function.get("name").asText(), parameters);
  }

  /** A function's or a schema's name as OpenAI requires it: 1 to 64 letters, digits, underscores and dashes. */
  static void checkName(JsonNode name, String param) {
    if (name == null || !name.isTextual()) {
      throw ApiException.invalid(param, "is required: a name of letters, digits, underscores and dashes");
    }
    if (!NAME.matcher(name.asText()).matches()) {
      throw ApiException.invalid(param, "'" + Http.shown(name.asText()) + "' must be 1 to 64 letters, digits, "
          + "underscores and dashes");
    }
  }

  /** tool_choice as given: the mode, and the function a named choice names. */
  private record ToolChoiceSpec(ToolUse.Choice choice, String name) {}

  private static ToolChoiceSpec toolChoice(JsonNode choice, Set<String> names) {
    if (choice == null || choice.isNull()) {
      return new ToolChoiceSpec(ToolUse.Choice.AUTO, null);
    }
    if (choice.isTextual()) {
      return switch (choice.asText()) {
        case "auto" -> new ToolChoiceSpec(ToolUse.Choice.AUTO, null);
        case "none" -> new ToolChoiceSpec(ToolUse.Choice.NONE, null);
        case "required" -> new ToolChoiceSpec(ToolUse.Choice.REQUIRED, null);
        default -> throw ApiException.invalid("tool_choice", "'" + Http.shown(choice.asText())
            + "' is not one of 'auto', 'none', 'required' or {type: 'function', function: {name}}");
      };
    }
    JsonNode name = choice.path("function").path("name");
    if (!choice.isObject() || !choice.path("type").asText().equals("function") || !name.isTextual()) {
      throw ApiException.invalid("tool_choice", "must be 'auto', 'none', 'required' or {type: 'function', "
          + "function: {name}}");
    }
    if (!names.isEmpty() && !names.contains(name.asText())) {
      throw ApiException.invalid("tool_choice", "names '" + Http.shown(name.asText()) + "', which is not among the "
          + "offered tools");
    }
    return new ToolChoiceSpec(ToolUse.Choice.NAMED, name.asText());
  }

  /** vLLM's chat_template_kwargs: extra template variables, e.g. {"enable_thinking": false}. */
  private static JsonNode kwargs(JsonNode root) {
    JsonNode kwargs = root.get("chat_template_kwargs");
    if (kwargs == null || kwargs.isNull()) {
      return null;
    }
    if (!kwargs.isObject()) {
      throw ApiException.invalid("chat_template_kwargs", "must be an object of template variables, e.g. "
          + "{\"enable_thinking\": false}");
    }
    for (String name : TEMPLATE_VARIABLES) {
      if (kwargs.has(name)) {
        throw ApiException.invalid("chat_template_kwargs", "'" + name + "' is set from the request itself, not "
            + "as a template argument");
      }
    }
    return kwargs;
  }

  private String render(ArrayNode messages, ArrayNode tools, JsonNode kwargs) {
    ChatTemplate template = model.chatTemplate();
    if (template == null) {
      throw ApiException.invalid("messages", "model '" + model.name() + "' has no chat template; use "
          + "/v1/completions");
    }
    try {
      return template.render(messages, tools, true, kwargs);
    } catch (ChatTemplate.TemplateException e) {
      if (e.templateBroken()) {
        throw ApiException.server(500, "chat_template_error", "this model's chat template does not parse: "
            + e.getMessage());
      }
      throw ApiException.invalid("messages", e.getMessage());
    }
  }

  /**
   * What the reply must follow: forced tool calls (tool_choice required or named), else response_format; with
   * tool_choice auto and a response_format, either calls or the format.
   */
  private TokenAutomaton constraint(JsonNode root, Tools tools) {
    Grammar format = Constraints.format(root.get("response_format"), "response_format");
    Grammar grammar = format;
    if (tools != null && tools.use().forcesCalls()) {
      grammar = Constraints.calls(tools.use(), tools.parameterParams());
    } else if (tools != null && tools.use().choice() == ToolUse.Choice.AUTO && format != null) {
      // wrapped in a sequence: a grammar's root must be a part of its own, and an alternative is not
      grammar = Grammar.sequence(Grammar.anyOf(List.of(Constraints.calls(tools.use(), tools.parameterParams()),
          format)));
    }
    return grammar == null ? null : constraints.compile(grammar);
  }
}
