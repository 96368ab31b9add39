package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.candor.engine.confidence.ConfidenceBreaker;
import dev.candor.engine.generate.FinishReason;
import dev.candor.engine.generate.GenerationResult;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.security.SecureRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A /v1/responses answer: one {@code response} object (status completed, or incomplete with its reason; output items
 * from {@link ResponseItems}; usage with the reasoning tokens; Candor's {@code confidence} extension), or with
 * {@code stream: true} its typed server-sent events: response.created, response.in_progress, the items' events,
 * then response.completed (or response.incomplete) carrying the whole response, which equals the non-streamed one.
 * A failure mid-stream is an {@code error} event and response.failed.
 */
final class ResponsesResponse {
  private static final Logger LOG = LoggerFactory.getLogger(ResponsesResponse.class);
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private final CompletionEndpoint endpoint;
  private final GenerationJob job;
  private final ParsedRequest request;
  private final JsonNode original;
  private final String id;
  private final long created;
  private final RequestLog.Entry entry;
  private final ReplyReader reader;
  private final ResponseItems items;
  private GenerationResult result;
  private ConfidenceBreaker.Report breaker;
  private Events.ConsistencyScore consistency;

  ResponsesResponse(CompletionEndpoint endpoint, GenerationJob job, ParsedRequest request, JsonNode original,
      String id, long created, RequestLog.Entry entry) {
    this.endpoint = endpoint;
    this.job = job;
    this.request = request;
    this.original = original;
    this.id = id;
    this.created = created;
    this.entry = entry;
    this.reader = new ReplyReader(request.reply());
    SecureRandom random = new SecureRandom();
    this.items = new ResponseItems(endpoint.responses(), request.logprobs(), () -> {
      byte[] b = new byte[16];
      random.nextBytes(b);
      return HexFormat.of().formatHex(b);
    });
  }

  int write(HttpExchange exchange) throws IOException {
    return request.stream() ? stream(exchange) : whole(exchange);
  }

  private int whole(HttpExchange exchange) throws IOException {
    while (true) {
      switch (endpoint.next(job, null)) {
        case Events.Echo echo -> { }
        case Events.Released released -> { }
        case Events.Finished finished -> {
          result = finished.result();
          breaker = finished.breaker();
          consistency = finished.consistency();
          items.add(reader.push(result.tokens(), result.textOffsets(), result.text()));
          items.add(reader.finish());
          items.finish(itemStatus());
        }
        case Events.Failed failed -> throw failed.error();
        case Events.Done done -> {
          count(done);
          return Http.sendJson(exchange, 200, finalResponse(done));
        }
      }
    }
  }

  private int stream(HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    try {
      items.event("response.created").set("response", envelope("in_progress"));
      items.event("response.in_progress").set("response", envelope("in_progress"));
      send(out);
      while (true) {
        switch (endpoint.next(job, out)) {
          case Events.Echo echo -> { }
          case Events.Released r -> items.add(reader.push(r.records(), r.offsets(), r.text()));
          case Events.Finished finished -> {
            result = finished.result();
            breaker = finished.breaker();
          consistency = finished.consistency();
            consistency = finished.consistency();
            items.add(reader.finish());
            items.finish(itemStatus());
          }
          case Events.Failed failed -> {
            return failed(out, failed.error());
          }
          case Events.Done done -> {
            count(done);
            ObjectNode response = finalResponse(done);
            String type = response.get("status").asText().equals("completed") ? "response.completed"
                : "response.incomplete";
            items.event(type).set("response", response);
            send(out);
            return 200;
          }
        }
        send(out);
      }
    } catch (IOException clientGone) {
      job.cancel();
      LOG.info("request {}: client disconnected mid-stream; generation cancelled", job.requestId);
      return 499;
    }
  }

  private int failed(OutputStream out, ApiException error) throws IOException {
    endpoint.metrics().error(error);
    ObjectNode e = items.event("error").put("message", error.getMessage());
    e.put("code", error.code == null ? "server_error" : error.code);
    e.putNull("param");
    ObjectNode response = envelope("failed");
    response.putObject("error").put("code", "server_error").put("message", error.getMessage());
    items.event("response.failed").set("response", response);
    send(out);
    return error.status;
  }

  private void count(Events.Done done) {
    entry.promptTokens = done.promptTokens();
    entry.completionTokens = done.completionTokens();
  }

  private void send(OutputStream out) throws IOException {
    StringBuilder text = new StringBuilder();
    for (ObjectNode e : items.drain()) {
      text.append("event: ").append(e.get("type").asText()).append('\n')
          .append("data: ").append(Responses.JSON.writeValueAsString(e)).append("\n\n");
    }
    if (!text.isEmpty()) {
      out.write(text.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
  }

  /** completed when the reply ended on its own; incomplete when max_output_tokens (or the breaker) cut it. */
  private ResponseItems.Status itemStatus() {
    return result.finishReason() == FinishReason.STOP ? ResponseItems.Status.COMPLETED
        : ResponseItems.Status.INCOMPLETE;
  }

  private ObjectNode finalResponse(Events.Done done) {
    ResponseItems.Status status = itemStatus();
    ObjectNode response = envelope(status.apiName);
    if (status != ResponseItems.Status.COMPLETED) {
      response.putObject("incomplete_details").put("reason",
          result.finishReason() == FinishReason.LOW_CONFIDENCE ? "low_confidence" : "max_output_tokens");
    }
    response.set("output", items.output());
    ObjectNode usage = response.putObject("usage");
    usage.put("input_tokens", done.promptTokens());
    usage.putObject("input_tokens_details").put("cached_tokens", done.cachedTokens());
    usage.put("output_tokens", done.completionTokens());
    long reasoning = reader.phases() == null ? 0 : reader.phases().stream().filter(p -> p == Phase.REASONING).count();
    usage.putObject("output_tokens_details").put("reasoning_tokens", reasoning);
    usage.put("total_tokens", done.promptTokens() + done.completionTokens());
    if (request.confidence()) {
      Responses.Judged judged = new Responses.Judged(breaker,
          request.breaker() == null ? null : request.breaker().phase(), reader.phases(), consistency);
      response.set("confidence", endpoint.responses().confidence(result, judged, true));
    }
    return response;
  }

  /** The response object's fields, echoing the request's settings; output and usage filled in at the end. */
  private ObjectNode envelope(String status) {
    ObjectNode r = F.objectNode();
    r.put("id", id);
    r.put("object", "response");
    r.put("created_at", created);
    r.put("status", status);
    r.put("background", false);
    r.putNull("error");
    r.putNull("incomplete_details");
    r.set("instructions", original.hasNonNull("instructions") ? original.get("instructions") : F.nullNode());
    r.set("max_output_tokens", original.hasNonNull("max_output_tokens") ? original.get("max_output_tokens")
        : F.nullNode());
    r.put("model", endpoint.modelName());
    r.putArray("output");
    r.put("parallel_tool_calls", original.path("parallel_tool_calls").asBoolean(true));
    r.putNull("previous_response_id");
    r.putObject("reasoning").putNull("effort").putNull("summary");
    r.put("store", false);
    r.put("temperature", request.sampling().temperature());
    ObjectNode text = r.putObject("text");
    text.set("format", original.path("text").hasNonNull("format") ? original.get("text").get("format")
        : F.objectNode().put("type", "text"));
    r.set("tool_choice", original.hasNonNull("tool_choice") ? original.get("tool_choice") : F.textNode("auto"));
    r.set("tools", original.hasNonNull("tools") ? original.get("tools") : F.arrayNode());
    r.put("top_logprobs", request.topLogprobs());
    r.put("top_p", request.sampling().topP());
    r.put("truncation", "disabled");
    r.putNull("usage");
    r.set("user", original.hasNonNull("user") ? original.get("user") : F.nullNode());
    r.set("metadata", original.hasNonNull("metadata") ? original.get("metadata") : F.objectNode());
    return r;
  }
}
