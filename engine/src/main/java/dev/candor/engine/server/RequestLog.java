package dev.candor.engine.server;

import com.sun.net.httpserver.HttpExchange;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request, at INFO on the logger {@code dev.candor.engine.server.access} (bin/candor turns it on):
 * request id, method, route, status, prompt and completion tokens, duration. The prompt's text only with
 * {@code --log-prompts}: prompts are the user's data.
 */
final class RequestLog {
  private static final Logger ACCESS = LoggerFactory.getLogger("dev.candor.engine.server.access");

  /** What is known about a request as it is served; the endpoint fills in the tokens. */
  static final class Entry {
    final String requestId;
    final String method;
    final String path;
    final long start = System.nanoTime();
    int status = 200;
    int promptTokens = -1;
    int completionTokens = -1;

    Entry(String requestId, String method, String path) {
      this.requestId = requestId;
      this.method = method;
      this.path = path;
    }

    long nanos() {
      return System.nanoTime() - start;
    }
  }

  private final boolean logPrompts;

  RequestLog(boolean logPrompts) {
    this.logPrompts = logPrompts;
  }

  Entry start(String requestId, HttpExchange exchange) {
    return new Entry(requestId, Http.shown(exchange.getRequestMethod()), Http.shown(exchange.getRequestURI().getPath()));
  }

  /** The prompts' text, when the server was started with --log-prompts. */
  void prompts(Entry entry, List<String> texts) {
    if (logPrompts) {
      try {
        ACCESS.info("request {} prompts: {}", entry.requestId, Responses.JSON.writeValueAsString(texts));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        ACCESS.info("request {} prompts: (not printable)", entry.requestId);
      }
    }
  }

  void finish(Entry e) {
    if (!ACCESS.isInfoEnabled()) {
      return;
    }
    String tokens = e.promptTokens < 0 ? "" : " prompt_tokens=" + e.promptTokens + " completion_tokens="
        + Math.max(0, e.completionTokens);
    ACCESS.info("request {} {} {} -> {}{} in {} ms", e.requestId, e.method, e.path, e.status, tokens,
        e.nanos() / 1_000_000);
  }
}
