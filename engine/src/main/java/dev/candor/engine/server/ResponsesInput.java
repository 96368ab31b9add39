package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The Responses API's {@code instructions} and {@code input} as chat messages: a string is one user message; items
 * are messages (roles user, system, developer, assistant; content a string or input_text / output_text parts),
 * {@code function_call} (added to the assistant turn that precedes it, or a new one), {@code function_call_output}
 * (a tool message) and {@code reasoning} (the reasoning_content of the assistant turn that follows it, which a
 * thinking model's template renders). Each error names the item ({@code input[3].content[0].type}).
 */
final class ResponsesInput {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private ResponsesInput() {}

  static ArrayNode messages(JsonNode root) {
    ArrayNode out = F.arrayNode();
    JsonNode instructions = root.get("instructions");
    if (instructions != null && !instructions.isNull()) {
      if (!instructions.isTextual()) {
        throw ApiException.invalid("instructions", "must be a string");
      }
      out.addObject().put("role", "system").put("content", instructions.asText());
    }
    JsonNode input = root.get("input");
    if (input == null || input.isNull()) {
      throw ApiException.invalid("input", "is required: a string, or an array of input items");
    }
    if (input.isTextual()) {
      out.addObject().put("role", "user").put("content", input.asText());
      return out;
    }
    if (!input.isArray() || input.isEmpty()) {
      throw ApiException.invalid("input", "must be a string or a non-empty array of input items");
    }
    String reasoning = null; // a reasoning item's text, for the assistant turn that comes next
    for (int i = 0; i < input.size(); i++) {
      JsonNode item = input.get(i);
      String param = "input[" + i + "]";
      if (!item.isObject()) {
        throw ApiException.invalid(param, "must be an object (a message, function_call, function_call_output or "
            + "reasoning item)");
      }
      String type = item.path("type").asText("message");
      switch (type) {
        case "message" -> addMessage(item, param, out, reasoning);
        case "function_call" -> addCall(item, param, out, reasoning);
        case "function_call_output" -> out.addObject().put("role", "tool")
            .put("tool_call_id", text(item, "call_id", param)).put("content", output(item.get("output"), param));
        case "reasoning" -> {
          reasoning = reasoningText(item, param);
          continue;
        }
        case "item_reference" -> throw ApiException.unsupported(param + ".type", "this server stores no items to "
            + "refer to: send the item itself");
        default -> throw ApiException.unsupported(param + ".type", "input items of type '" + Http.shown(type)
            + "' are not supported (message, function_call, function_call_output, reasoning)");
      }
      reasoning = null;
    }
    return out;
  }

  private static void addMessage(JsonNode item, String param, ArrayNode out, String reasoning) {
    String role = item.path("role").asText("");
    if (!java.util.Set.of("user", "system", "developer", "assistant").contains(role)) {
      throw ApiException.invalid(param + ".role", "must be one of 'user', 'system', 'developer', 'assistant'");
    }
    ObjectNode message = out.addObject().put("role", role).put("content", content(item.get("content"),
        param + ".content"));
    if (reasoning != null && role.equals("assistant")) {
      message.put("reasoning_content", reasoning);
    }
  }

  /** A function call the model made earlier: part of the assistant turn just before it, or an assistant turn. */
  private static void addCall(JsonNode item, String param, ArrayNode out, String reasoning) {
    ObjectNode call = F.objectNode().put("id", text(item, "call_id", param)).put("type", "function");
    call.putObject("function").put("name", text(item, "name", param)).put("arguments",
        text(item, "arguments", param));
    JsonNode last = out.isEmpty() ? null : out.get(out.size() - 1);
    ObjectNode turn;
    if (last != null && last.path("role").asText().equals("assistant")) {
      turn = (ObjectNode) last;
    } else {
      turn = out.addObject().put("role", "assistant").put("content", "");
      if (reasoning != null) {
        turn.put("reasoning_content", reasoning);
      }
    }
    if (!turn.has("tool_calls")) {
      turn.putArray("tool_calls");
    }
    ((ArrayNode) turn.get("tool_calls")).add(call);
  }

  /** A message's content: a string, or text parts (input_text, output_text; refusals as text) joined by newlines. */
  private static String content(JsonNode content, String param) {
    if (content != null && content.isTextual()) {
      return content.asText();
    }
    if (content == null || !content.isArray()) {
      throw ApiException.invalid(param, "must be a string or an array of input_text parts");
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < content.size(); i++) {
      JsonNode part = content.get(i);
      String type = part.path("type").asText("");
      String field = type.equals("refusal") ? "refusal" : "text";
      if (!java.util.Set.of("input_text", "output_text", "text", "refusal").contains(type)) {
        throw ApiException.unsupported(param + "[" + i + "].type", "content of type '" + Http.shown(type)
            + "' is not supported (only text: input_text, output_text)");
      }
      if (!part.path(field).isTextual()) {
        throw ApiException.invalid(param + "[" + i + "]." + field, "must be a string");
      }
      if (i > 0) {
        text.append('\n');
      }
      text.append(part.get(field).asText());
    }
    return text.toString();
  }

  /** A function call's output: a string, or text parts. */
  private static String output(JsonNode output, String param) {
    if (output == null || output.isNull()) {
      throw ApiException.invalid(param + ".output", "is required: the function's result");
    }
    return content(output, param + ".output");
  }

  private static String reasoningText(JsonNode item, String param) {
    StringBuilder text = new StringBuilder();
    JsonNode parts = item.hasNonNull("content") ? item.get("content") : item.path("summary");
    for (JsonNode part : parts) {
      if (!part.path("text").isTextual()) {
        throw ApiException.invalid(param + ".content", "must be [{type: 'reasoning_text', text}]");
      }
      text.append(text.isEmpty() ? "" : "\n").append(part.get("text").asText());
    }
    return text.toString();
  }

  private static String text(JsonNode item, String field, String param) {
    if (!item.path(field).isTextual()) {
      throw ApiException.invalid(param + "." + field, "is required: a string");
    }
    return item.get(field).asText();
  }
}
