package dev.candor.engine.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.candor.engine.confidence.ConfidenceBreaker;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.TokenRecord;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A non-streamed response: the job's events collected per choice, then one chat.completion or text_completion. */
final class WholeResponse {
  /** What one choice gathered. */
  private static final class Choice {
    String echoText = "";
    List<TokenRecord> echoRecords = List.of();
    List<Integer> echoOffsets = List.of();
    GenerationResult result;
    ConfidenceBreaker.Report breaker;
    Events.ConsistencyScore consistency;
  }

  private final CompletionEndpoint endpoint;
  private final GenerationJob job;
  private final ParsedRequest request;
  private final String id;
  private final long created;
  private final RequestLog.Entry entry;
  private final Responses responses;
  private final Map<Integer, Choice> choices = new TreeMap<>();

  WholeResponse(CompletionEndpoint endpoint, GenerationJob job, ParsedRequest request, String id, long created,
      RequestLog.Entry entry) {
    this.endpoint = endpoint;
    this.job = job;
    this.request = request;
    this.id = id;
    this.created = created;
    this.entry = entry;
    this.responses = endpoint.responses();
  }

  int write(HttpExchange exchange) throws IOException {
    while (true) {
      switch (endpoint.next(job, null)) {
        case Events.Echo echo -> {
          Choice c = choices.computeIfAbsent(echo.choice(), k -> new Choice());
          c.echoText = echo.text();
          c.echoRecords = echo.records();
          c.echoOffsets = echo.offsets();
        }
        case Events.Released released -> { }
        case Events.Finished finished -> {
          Choice c = choices.computeIfAbsent(finished.choice(), k -> new Choice());
          c.result = finished.result();
          c.breaker = finished.breaker();
          c.consistency = finished.consistency();
        }
        case Events.Failed failed -> throw failed.error();
        case Events.Done done -> {
          entry.promptTokens = done.promptTokens();
          entry.completionTokens = done.completionTokens();
          return Http.sendJson(exchange, 200, body(done));
        }
      }
    }
  }

  private ObjectNode body(Events.Done done) {
    ObjectNode root = Responses.envelope(id, request.chat() ? "chat.completion" : "text_completion", created,
        endpoint.modelName());
    ArrayNode array = root.putArray("choices");
    for (var e : choices.entrySet()) {
      array.add(request.chat() ? chatChoice(e.getKey(), e.getValue()) : completionChoice(e.getKey(), e.getValue()));
    }
    root.set("usage", Responses.usage(done.promptTokens(), done.completionTokens(), done.cachedTokens()));
    return root;
  }

  /**
   * A chat choice: the reply read as a stream would read it ({@link ReplyReader}): content, a thinking model's
   * reasoning_content, the tool calls; logprobs over every generated token.
   */
  private ObjectNode chatChoice(int index, Choice c) {
    ReplyReader reader = read(request.reply(), c.result);
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.put("content", reader.content());
    if (reader.thinks()) {
      message.put("reasoning_content", reader.reasoning());
    }
    message.putNull("refusal");
    if (!reader.calls().isEmpty()) {
      message.set("tool_calls", Responses.toolCalls(reader.calls()));
    }
    if (request.logprobs()) {
      choice.set("logprobs", responses.chatLogprobs(c.result.tokens()));
    } else {
      choice.putNull("logprobs");
    }
    choice.put("finish_reason", Responses.finishReason(c.result, !reader.calls().isEmpty()));
    if (request.confidence()) {
      choice.set("confidence", responses.confidence(c.result, judged(c, reader), true));
    }
    return choice;
  }

  /** The whole of a finished choice's output read at once. */
  static ReplyReader read(Reply reply, GenerationResult result) {
    ReplyReader reader = new ReplyReader(reply);
    reader.push(result.tokens(), result.textOffsets(), result.text());
    reader.finish();
    return reader;
  }

  private Responses.Judged judged(Choice c, ReplyReader reader) {
    return new Responses.Judged(c.breaker, request.breaker() == null ? null : request.breaker().phase(),
        reader.phases(), c.consistency);
  }

  private ObjectNode completionChoice(int index, Choice c) {
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    choice.put("text", c.echoText + c.result.text());
    if (request.logprobs()) {
      List<TokenRecord> records = new ArrayList<>(c.echoRecords);
      records.addAll(c.result.tokens());
      List<Integer> offsets = new ArrayList<>(Responses.codePoints(c.echoText, c.echoOffsets, 0));
      int echoLength = c.echoText.codePointCount(0, c.echoText.length());
      offsets.addAll(Responses.codePoints(c.result.text(), c.result.textOffsets(), echoLength));
      choice.set("logprobs", responses.completionLogprobs(records, offsets));
    } else {
      choice.putNull("logprobs");
    }
    return finish(choice, c);
  }

  private ObjectNode finish(ObjectNode choice, Choice c) {
    choice.put("finish_reason", Responses.finishReason(c.result));
    if (request.confidence()) {
      choice.set("confidence", responses.confidence(c.result, new Responses.Judged(c.breaker,
          request.breaker() == null ? null : request.breaker().phase(), null, c.consistency), true));
    }
    return choice;
  }
}
