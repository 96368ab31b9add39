package dev.candor.engine.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Writing responses and reading request bodies on the JDK server, the same way for every endpoint. */
final class Http {
  private Http() {}

  static int sendJson(HttpExchange exchange, int status, ObjectNode body) throws IOException {
    return send(exchange, status, "application/json", Responses.JSON.writeValueAsBytes(body));
  }

  /** A whole response; a HEAD request gets the headers only (the JDK server warns if told a length for HEAD). */
  static int send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    if (exchange.getRequestMethod().equals("HEAD")) {
      exchange.sendResponseHeaders(status, -1);
      return status;
    }
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
    return status;
  }

  static void sendEmpty(HttpExchange exchange, int status) throws IOException {
    exchange.sendResponseHeaders(status, -1);
  }

  /** The error in OpenAI's shape, if the response has not begun; a client that has gone is not an error. */
  static void trySendError(HttpExchange exchange, ApiException e) {
    try {
      if (e.status == 401) {
        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
      }
      if (e.status == 429 || e.status == 503) {
        exchange.getResponseHeaders().set("Retry-After", "1");
      }
      sendJson(exchange, e.status, Responses.error(e));
    } catch (IOException | RuntimeException ignored) {
      // headers already sent (mid-stream) or the client is gone: nothing more to tell it
    }
  }

  /**
   * The request body, at most {@code limit} bytes (413 beyond). A body the client garbles (a chunked body with a bad
   * chunk header, a connection closed mid-upload) is the client's error: 400, not a server failure.
   */
  static byte[] readBody(HttpExchange exchange, int limit) {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > limit) {
          throw tooLarge(limit);
        }
      } catch (NumberFormatException e) {
        throw ApiException.invalid(null, "bad Content-Length header");
      }
    }
    try (InputStream in = exchange.getRequestBody()) {
      byte[] body = in.readNBytes(limit + 1);
      if (body.length > limit) {
        throw tooLarge(limit);
      }
      return body;
    } catch (IOException e) {
      throw new ApiException(400, ErrorType.INVALID_REQUEST, null, "malformed_body",
          "the request body could not be read (a malformed chunked encoding, or the upload ended early)");
    }
  }

  private static ApiException tooLarge(int limit) {
    return ApiException.client(413, "request_too_large", "the request body exceeds " + limit + " bytes");
  }

  /** A client-given string fit to quote in a message: printable ASCII, at most 80 characters. */
  static String shown(String s) {
    String clean = s.replaceAll("[^\\x20-\\x7e]", "?");
    return clean.length() > 80 ? clean.substring(0, 80) + "..." : clean;
  }
}
