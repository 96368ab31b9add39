package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * A POST /v1/responses body read as the chat request it amounts to, so that both APIs share one parser, one template
 * rendering and one decode loop: {@code instructions} and {@code input} (a string, or items: messages, function calls
 * and their outputs, reasoning) become messages; {@code max_output_tokens}, {@code text.format}, flat function
 * {@code tools}, {@code tool_choice} and {@code include: ["message.output_text.logprobs"]} become their chat fields.
 * Candor stores nothing: {@code previous_response_id}, {@code conversation} and references to stored items are
 * refused in one line, and every response says {@code "store": false}. Errors name the Responses API's fields.
 */
final class ResponsesRequest {
  static final String LOGPROBS = "message.output_text.logprobs";
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  /** Fields with the same name and meaning in both APIs (several are Candor's or vLLM's extensions). */
  private static final List<String> SAME = List.of("model", "temperature", "top_p", "top_k", "seed", "stream",
      "parallel_tool_calls", "user", "stop", "presence_penalty", "frequency_penalty", "repetition_penalty",
      "logit_bias", "logprobs_mode", "confidence", "confidence_breaker", "chat_template_kwargs",
      "split_special_tokens", "skip_special_tokens");
  /** Chat parameter names as the Responses API calls them, for errors (prefixes). */
  private static final Map<String, String> RENAMED = Map.of("max_completion_tokens", "max_output_tokens",
      "messages", "input", "response_format.json_schema", "text.format", "response_format", "text.format");

  private ResponsesRequest() {}

  /** The chat request of a Responses body. */
  static ObjectNode chat(JsonNode root) {
    refuseState(root);
    ObjectNode chat = F.objectNode();
    for (String name : SAME) {
      if (root.has(name)) {
        chat.set(name, root.get(name));
      }
    }
    if (root.hasNonNull("max_output_tokens")) {
      chat.set("max_completion_tokens", root.get("max_output_tokens"));
    }
    chat.set("messages", ResponsesInput.messages(root));
    if (root.hasNonNull("text")) {
      JsonNode text = root.get("text");
      if (!text.isObject()) {
        throw ApiException.invalid("text", "must be an object {format: {...}}");
      }
      chat.set("response_format", format(text.get("format")));
    }
    if (root.hasNonNull("tools")) {
      chat.set("tools", tools(root.get("tools")));
    }
    if (root.hasNonNull("tool_choice")) {
      chat.set("tool_choice", toolChoice(root.get("tool_choice")));
    }
    boolean logprobs = includesLogprobs(root.get("include"));
    chat.put("logprobs", logprobs);
    if (logprobs && root.hasNonNull("top_logprobs")) {
      chat.set("top_logprobs", root.get("top_logprobs"));
    } else if (root.hasNonNull("top_logprobs")) {
      RequestParser.intField(root, "top_logprobs", 0, 0, 20); // checked, though nothing is returned without include
    }
    if (root.hasNonNull("metadata") && !root.get("metadata").isObject()) {
      throw ApiException.invalid("metadata", "must be an object of string keys and values");
    }
    return chat;
  }

  /** Nothing is stored, so nothing can be continued or referred to. */
  private static void refuseState(JsonNode root) {
    if (root.hasNonNull("previous_response_id")) {
      throw ApiException.unsupported("previous_response_id", "this server stores no responses (store is always "
          + "false): send the whole conversation in input instead of previous_response_id");
    }
    if (root.hasNonNull("conversation")) {
      throw ApiException.unsupported("conversation", "this server stores no conversations: send the whole "
          + "conversation in input");
    }
    if (root.path("background").asBoolean(false)) {
      throw ApiException.unsupported("background", "background responses are not supported (nothing is stored "
          + "to fetch them from)");
    }
    if (root.hasNonNull("prompt")) {
      throw ApiException.unsupported("prompt", "stored prompt templates are not supported; send the input itself");
    }
    if (root.hasNonNull("truncation") && !root.get("truncation").asText().equals("disabled")) {
      throw ApiException.unsupported("truncation", "only 'disabled' is supported: an input longer than the context "
          + "window is refused, never cut");
    }
  }

  /** text.format: {type: text}, {type: json_object} or {type: json_schema, name, schema, strict} (flat). */
  private static JsonNode format(JsonNode format) {
    if (format == null || format.isNull()) {
      return null;
    }
    if (!format.isObject()) {
      throw ApiException.invalid("text.format", "must be an object with a type: 'text', 'json_object' or "
          + "'json_schema'");
    }
    if (!format.path("type").asText().equals("json_schema")) {
      return format;
    }
    ObjectNode spec = format.deepCopy();
    spec.remove("type");
    ObjectNode chat = F.objectNode().put("type", "json_schema");
    chat.set("json_schema", spec);
    return chat;
  }

  /** Flat function tools ({type, name, description, parameters, strict}) as chat's {type, function: {...}}. */
  private static ArrayNode tools(JsonNode tools) {
    if (!tools.isArray()) {
      throw ApiException.invalid("tools", "must be an array of {type: 'function', name, parameters}");
    }
    ArrayNode out = F.arrayNode();
    for (int i = 0; i < tools.size(); i++) {
      JsonNode t = tools.get(i);
      if (!t.isObject() || !t.path("type").asText().equals("function")) {
        throw ApiException.unsupported("tools[" + i + "].type", "only 'function' tools are supported (no built-in "
            + "tools such as web_search or file_search)");
      }
      ObjectNode function = t.deepCopy();
      function.remove("type");
      ObjectNode chat = out.addObject().put("type", "function");
      chat.set("function", function);
    }
    return out;
  }

  private static JsonNode toolChoice(JsonNode choice) {
    if (choice.isTextual()) {
      return choice;
    }
    if (choice.isObject() && choice.path("type").asText().equals("function") && choice.path("name").isTextual()) {
      ObjectNode chat = F.objectNode().put("type", "function");
      chat.putObject("function").put("name", choice.get("name").asText());
      return chat;
    }
    throw ApiException.unsupported("tool_choice", "must be 'auto', 'none', 'required' or {type: 'function', name}");
  }

  private static boolean includesLogprobs(JsonNode include) {
    if (include == null || include.isNull()) {
      return false;
    }
    if (!include.isArray()) {
      throw ApiException.invalid("include", "must be an array, e.g. [\"" + LOGPROBS + "\"]");
    }
    boolean logprobs = false;
    for (JsonNode entry : include) {
      if (!entry.asText().equals(LOGPROBS)) {
        throw ApiException.unsupported("include", "'" + Http.shown(entry.asText()) + "' cannot be included; this "
            + "server can include '" + LOGPROBS + "' only");
      }
      logprobs = true;
    }
    return logprobs;
  }

  /** An error of the chat parser, naming the Responses API's field instead of chat's. */
  static ApiException renamed(ApiException e) {
    if (e.param == null) {
      return e;
    }
    for (var rename : List.of("response_format.json_schema", "response_format", "max_completion_tokens",
        "messages")) {
      if (e.param.startsWith(rename)) {
        String param = e.param.equals("messages") || !rename.equals("messages")
            ? RENAMED.get(rename) + e.param.substring(rename.length()) : "input";
        String message = e.getMessage().replace(rename, RENAMED.get(rename));
        return new ApiException(e.status, e.type, param, e.code, message);
      }
    }
    if (e.param.matches("tools\\[\\d+]\\.function\\..*")) {
      return new ApiException(e.status, e.type, e.param.replace(".function.", "."), e.code, e.getMessage());
    }
    return e;
  }
}
