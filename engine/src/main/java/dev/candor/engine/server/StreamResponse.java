package dev.candor.engine.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.candor.engine.generate.TokenRecord;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A streamed response: server-sent events, one chunk per released piece of output (chat.completion.chunk or
 * text_completion), the choice's last chunk with its finish_reason and confidence summary, an optional usage chunk,
 * then {@code data: [DONE]}. A client that leaves mid-stream cancels the job.
 */
final class StreamResponse {
  private static final Logger LOG = LoggerFactory.getLogger(StreamResponse.class);

  /** Where one choice's streamed text stands, for text_offset in code points. */
  private static final class Progress {
    int echoCodePoints;
    int releasedChars; // UTF-16 length of the output released so far
    int releasedCodePoints;
  }

  private final CompletionEndpoint endpoint;
  private final GenerationJob job;
  private final ParsedRequest request;
  private final String id;
  private final long created;
  private final RequestLog.Entry entry;
  private final Responses responses;
  private final String object;
  private final Map<Integer, Progress> progress = new HashMap<>();
  private final Map<Integer, ReplyReader> readers = new HashMap<>(); // chat: each choice's reply as it is read
  private final Set<Integer> started = new HashSet<>();

  StreamResponse(CompletionEndpoint endpoint, GenerationJob job, ParsedRequest request, String id, long created,
      RequestLog.Entry entry) {
    this.endpoint = endpoint;
    this.job = job;
    this.request = request;
    this.id = id;
    this.created = created;
    this.entry = entry;
    this.responses = endpoint.responses();
    this.object = request.chat() ? "chat.completion.chunk" : "text_completion";
  }

  int write(HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    try {
      while (true) {
        Events e = endpoint.next(job, out);
        switch (e) {
          case Events.Echo echo -> echo(out, echo);
          case Events.Released released -> released(out, released);
          case Events.Finished finished -> finished(out, finished);
          case Events.Failed failed -> {
            endpoint.metrics().error(failed.error());
            send(out, Responses.error(failed.error()));
            done(out);
            return failed.error().status;
          }
          case Events.Done done -> {
            entry.promptTokens = done.promptTokens();
            entry.completionTokens = done.completionTokens();
            if (request.includeUsage()) {
              ObjectNode usage = Responses.envelope(id, object, created, endpoint.modelName());
              usage.putArray("choices");
              usage.set("usage", Responses.usage(done.promptTokens(), done.completionTokens(),
                  done.cachedTokens()));
              send(out, usage);
            }
            done(out);
            return 200;
          }
        }
      }
    } catch (IOException clientGone) {
      job.cancel();
      LOG.info("request {}: client disconnected mid-stream; generation cancelled", job.requestId);
      return 499;
    }
  }

  private Progress progress(int choice) {
    return progress.computeIfAbsent(choice, k -> new Progress());
  }

  private void echo(OutputStream out, Events.Echo echo) throws IOException {
    Progress p = progress(echo.choice());
    p.echoCodePoints = echo.text().codePointCount(0, echo.text().length());
    List<Integer> offsets = Responses.codePoints(echo.text(), echo.offsets(), 0);
    send(out, chunk(streamChoice(echo.choice(), echo.text(), echo.records(), offsets)));
  }

  private void released(OutputStream out, Events.Released released) throws IOException {
    int index = released.choice();
    if (request.chat()) {
      chatDelta(out, index, reader(index).push(released.records(), released.offsets(), released.text()));
      return;
    }
    Progress p = progress(index);
    List<Integer> local = new ArrayList<>(released.offsets().size());
    for (int offset : released.offsets()) {
      local.add(Math.max(0, offset - p.releasedChars)); // offsets count from the start of the output
    }
    List<Integer> offsets = Responses.codePoints(released.text(), local, p.echoCodePoints + p.releasedCodePoints);
    p.releasedChars += released.text().length();
    p.releasedCodePoints += released.text().codePointCount(0, released.text().length());
    ObjectNode choice = streamChoice(index, released.text(), released.records(), offsets);
    if (request.confidence()) {
      choice.putObject("confidence").set("tokens", responses.confidenceTokens(released.records(), null));
    }
    send(out, chunk(choice));
  }

  private ReplyReader reader(int choice) {
    return readers.computeIfAbsent(choice, k -> new ReplyReader(request.reply()));
  }

  /**
   * A chat chunk for what the reply reader decided: delta.reasoning_content, delta.content and delta.tool_calls as
   * they came, logprobs and confidence.tokens (with phases) for the tokens decided.
   */
  private void chatDelta(OutputStream out, int index, ReplyReader.Delta d) throws IOException {
    if (d.isEmpty()) {
      return;
    }
    startChat(out, index);
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    ObjectNode delta = choice.putObject("delta");
    if (!d.reasoning().isEmpty()) {
      delta.put("reasoning_content", d.reasoning());
    }
    if (!d.content().isEmpty() || (d.reasoning().isEmpty() && d.calls().isEmpty())) {
      delta.put("content", d.content());
    }
    if (!d.calls().isEmpty()) {
      delta.set("tool_calls", Responses.toolCallDeltas(d.calls()));
    }
    if (request.logprobs() && !d.records().isEmpty()) {
      choice.set("logprobs", responses.chatLogprobs(d.records()));
    } else {
      choice.putNull("logprobs");
    }
    choice.putNull("finish_reason");
    if (request.confidence()) {
      choice.putObject("confidence").set("tokens", responses.confidenceTokens(d.records(), d.phases()));
    }
    send(out, chunk(choice));
  }

  private void finished(OutputStream out, Events.Finished finished) throws IOException {
    int index = finished.choice();
    List<Phase> phases = null;
    boolean madeCalls = false;
    if (request.chat()) {
      ReplyReader reader = reader(index);
      chatDelta(out, index, reader.finish());
      phases = reader.phases();
      madeCalls = !reader.calls().isEmpty();
    }
    startChat(out, index);
    ObjectNode choice = streamChoice(index, "", List.of(), List.of());
    choice.put("finish_reason", Responses.finishReason(finished.result(), madeCalls));
    if (request.chat() || !request.logprobs()) {
      choice.putNull("logprobs");
    }
    if (request.confidence()) {
      Responses.Judged judged = new Responses.Judged(finished.breaker(),
          request.breaker() == null ? null : request.breaker().phase(), phases, finished.consistency());
      choice.set("confidence", responses.confidence(finished.result(), judged, false));
    }
    send(out, chunk(choice));
  }

  /** Chat's first chunk of a choice carries the role. */
  private void startChat(OutputStream out, int index) throws IOException {
    if (!request.chat() || !started.add(index)) {
      return;
    }
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    ObjectNode delta = choice.putObject("delta");
    delta.put("role", "assistant");
    delta.put("content", "");
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    send(out, chunk(choice));
  }

  private ObjectNode streamChoice(int index, String text, List<TokenRecord> records, List<Integer> offsets) {
    ObjectNode choice = Responses.JSON.createObjectNode();
    choice.put("index", index);
    if (request.chat()) {
      ObjectNode delta = choice.putObject("delta");
      if (!text.isEmpty() || !records.isEmpty()) {
        delta.put("content", text);
      }
      if (request.logprobs() && !records.isEmpty()) {
        choice.set("logprobs", responses.chatLogprobs(records));
      } else {
        choice.putNull("logprobs");
      }
    } else {
      choice.put("text", text);
      if (request.logprobs()) {
        choice.set("logprobs", responses.completionLogprobs(records, offsets));
      } else {
        choice.putNull("logprobs");
      }
    }
    choice.putNull("finish_reason");
    return choice;
  }

  private ObjectNode chunk(ObjectNode choice) {
    ObjectNode root = Responses.envelope(id, object, created, endpoint.modelName());
    root.putArray("choices").add(choice);
    if (request.includeUsage()) {
      root.putNull("usage");
    }
    return root;
  }

  private static void send(OutputStream out, ObjectNode node) throws IOException {
    out.write(("data: " + Responses.JSON.writeValueAsString(node) + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static void done(OutputStream out) throws IOException {
    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
