package dev.candor.engine.server;

import com.sun.net.httpserver.HttpExchange;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;

/**
 * The access log: one line per request (time, request id, method, route, status, prompt and completion tokens,
 * duration), and each prompt's text only with {@code --log-prompts} (prompts are the user's data). Written to its
 * own stream (the CLI's stderr), not through the logging framework, so no log-level setting can silence it.
 */
final class RequestLog {
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

  private final PrintStream out; // null: no access log
  private final boolean logPrompts;

  RequestLog(PrintStream out, boolean logPrompts) {
    this.out = out;
    this.logPrompts = logPrompts;
  }

  private void line(String text) {
    if (out != null) {
      out.println(Instant.now() + " candor " + text);
    }
  }

  Entry start(String requestId, HttpExchange exchange) {
    return new Entry(requestId, Http.shown(exchange.getRequestMethod()), Http.shown(exchange.getRequestURI().getPath()));
  }

  /** The prompts' text, when the server was started with --log-prompts. */
  void prompts(Entry entry, List<String> texts) {
    if (logPrompts) {
      try {
        line("request " + entry.requestId + " prompts: " + Responses.JSON.writeValueAsString(texts));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        line("request " + entry.requestId + " prompts: (not printable)");
      }
    }
  }

  void finish(Entry e) {
    String tokens = e.promptTokens < 0 ? "" : " prompt_tokens=" + e.promptTokens + " completion_tokens="
        + Math.max(0, e.completionTokens);
    line("request " + e.requestId + " " + e.method + " " + e.path + " " + e.status + tokens + " "
        + e.nanos() / 1_000_000 + " ms");
  }
}
