package dev.candor.engine.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.tools.ToolCallDelta;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * One /v1/responses reply's output as OpenAI's Responses API shapes it, built from the reply reader's deltas
 * ({@link ReplyReader}): a {@code reasoning} item while a thinking model reasons (its text as a reasoning_text part),
 * one {@code message} item whose output_text part holds the answer's text (and, with include logprobs, the answer's
 * tokens), and a {@code function_call} item per tool call; with the typed streaming events each delta causes
 * (response.output_item.added, response.content_part.added, response.reasoning_text.delta, response.output_text.delta,
 * response.function_call_arguments.delta, their .done events), numbered by sequence_number. The message stays open
 * to the end, so a streamed and a whole reply end with the same items.
 */
final class ResponseItems {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  /** How an item ended: the Responses API's item status. */
  enum Status {
    COMPLETED("completed"),
    INCOMPLETE("incomplete");

    final String apiName;

    Status(String apiName) {
      this.apiName = apiName;
    }
  }

  /** An item being written. */
  private static final class Open {
    final int index;
    final ObjectNode item;
    final StringBuilder text = new StringBuilder();

    Open(int index, ObjectNode item) {
      this.index = index;
      this.item = item;
    }

    String id() {
      return item.get("id").asText();
    }
  }

  private final Responses shapes;
  private final boolean logprobs;
  private final Supplier<String> ids;
  private final List<ObjectNode> events = new ArrayList<>();
  private final List<ObjectNode> items = new ArrayList<>(); // by output_index
  private int sequence;
  private Open reasoning; // open while the model reasons
  private Open message; // once the answer has text; open to the end
  private Open call; // the call being written
  private final List<TokenRecord> pending = new ArrayList<>(); // answer tokens not yet on a text delta
  private final List<TokenRecord> messageTokens = new ArrayList<>();

  /** @param ids fresh hexadecimal ids, for items ({@code msg_}, {@code rs_}, {@code fc_} are prefixed here) */
  ResponseItems(Responses shapes, boolean logprobs, Supplier<String> ids) {
    this.shapes = shapes;
    this.logprobs = logprobs;
    this.ids = ids;
  }

  /** A new event of {@code type}, numbered, queued for {@link #drain}. */
  ObjectNode event(String type) {
    ObjectNode e = F.objectNode().put("type", type).put("sequence_number", sequence++);
    events.add(e);
    return e;
  }

  /** The events queued since the last call, in order. */
  List<ObjectNode> drain() {
    List<ObjectNode> out = new ArrayList<>(events);
    events.clear();
    return out;
  }

  /** The output items in their order, as they stand. */
  ArrayNode output() {
    ArrayNode out = F.arrayNode();
    items.forEach(i -> out.add(i.deepCopy()));
    return out;
  }

  void add(ReplyReader.Delta d) {
    for (int i = 0; i < d.records().size(); i++) {
      if (d.phases() == null || d.phases().get(i) == Phase.ANSWER) {
        pending.add(d.records().get(i));
      }
    }
    if (!d.reasoning().isEmpty()) {
      reasoningDelta(d.reasoning());
    }
    if (!d.content().isEmpty()) {
      closeReasoning(Status.COMPLETED);
      textDelta(d.content());
    }
    for (ToolCallDelta c : d.calls()) {
      closeReasoning(Status.COMPLETED);
      callDelta(c);
    }
  }

  /** The reply has ended: every open item is closed with {@code status}. */
  void finish(Status status) {
    closeReasoning(status);
    closeCall();
    if (items.isEmpty()) {
      openMessage(); // an empty answer is still a message
    }
    if (message != null) {
      closeMessage(status);
    }
  }

  private void reasoningDelta(String text) {
    if (reasoning == null) {
      ObjectNode item = F.objectNode().put("id", "rs_" + ids.get()).put("type", "reasoning");
      item.putArray("summary");
      item.putArray("content");
      item.put("status", "in_progress");
      reasoning = open(item);
      part(reasoning, "response.content_part.added", F.objectNode().put("type", "reasoning_text").put("text", ""));
    }
    reasoning.text.append(text);
    at(event("response.reasoning_text.delta"), reasoning).put("content_index", 0).put("delta", text);
  }

  private void closeReasoning(Status status) {
    if (reasoning == null) {
      return;
    }
    String text = reasoning.text.toString();
    at(event("response.reasoning_text.done"), reasoning).put("content_index", 0).put("text", text);
    ObjectNode part = F.objectNode().put("type", "reasoning_text").put("text", text);
    part(reasoning, "response.content_part.done", part);
    ((ArrayNode) reasoning.item.get("content")).add(part.deepCopy());
    done(reasoning, status);
    reasoning = null;
  }

  private void textDelta(String text) {
    if (message == null) {
      openMessage();
    }
    message.text.append(text);
    ObjectNode e = at(event("response.output_text.delta"), message).put("content_index", 0).put("delta", text);
    e.set("logprobs", logprobs(pending));
    messageTokens.addAll(pending);
    pending.clear();
  }

  private void openMessage() {
    ObjectNode item = F.objectNode().put("id", "msg_" + ids.get()).put("type", "message")
        .put("status", "in_progress").put("role", "assistant");
    item.putArray("content");
    message = open(item);
    part(message, "response.content_part.added", outputText("", List.of()));
  }

  private void closeMessage(Status status) {
    messageTokens.addAll(pending);
    pending.clear();
    String text = message.text.toString();
    ObjectNode e = at(event("response.output_text.done"), message).put("content_index", 0).put("text", text);
    e.set("logprobs", logprobs(messageTokens));
    ObjectNode part = outputText(text, messageTokens);
    part(message, "response.content_part.done", part);
    ((ArrayNode) message.item.get("content")).add(part.deepCopy());
    done(message, status);
  }

  private void callDelta(ToolCallDelta c) {
    if (c.starts()) {
      closeCall();
      ObjectNode item = F.objectNode().put("id", "fc_" + ids.get()).put("type", "function_call")
          .put("status", "in_progress").put("call_id", c.id()).put("name", c.name()).put("arguments", "");
      call = open(item);
    }
    if (call != null && !c.arguments().isEmpty()) {
      call.text.append(c.arguments());
      at(event("response.function_call_arguments.delta"), call).put("delta", c.arguments());
    }
  }

  private void closeCall() {
    if (call == null) {
      return;
    }
    String arguments = call.text.toString();
    at(event("response.function_call_arguments.done"), call).put("name", call.item.get("name").asText())
        .put("arguments", arguments);
    call.item.put("arguments", arguments);
    done(call, Status.COMPLETED);
    call = null;
  }

  /** Adds the item at the next output_index and announces it. */
  private Open open(ObjectNode item) {
    Open o = new Open(items.size(), item);
    items.add(item);
    event("response.output_item.added").put("output_index", o.index).set("item", item.deepCopy());
    return o;
  }

  private void done(Open o, Status status) {
    o.item.put("status", status.apiName);
    event("response.output_item.done").put("output_index", o.index).set("item", o.item.deepCopy());
  }

  private void part(Open o, String type, ObjectNode part) {
    at(event(type), o).put("content_index", 0).set("part", part);
  }

  private static ObjectNode at(ObjectNode event, Open o) {
    return event.put("item_id", o.id()).put("output_index", o.index);
  }

  private ObjectNode outputText(String text, List<TokenRecord> tokens) {
    ObjectNode part = F.objectNode().put("type", "output_text").put("text", text);
    part.putArray("annotations");
    part.set("logprobs", logprobs(tokens));
    return part;
  }

  /** [{token, bytes, logprob, top_logprobs}] as chat's logprobs.content, when include asked for them; else []. */
  private ArrayNode logprobs(List<TokenRecord> tokens) {
    return logprobs ? (ArrayNode) shapes.chatLogprobs(tokens).get("content") : F.arrayNode();
  }
}
