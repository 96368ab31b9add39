package dev.candor.engine.server;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.spi.JettyHttpServer;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

/**
 * The HTTP server under the API: the JDK's {@code com.sun.net.httpserver} interface, implemented by Jetty
 * ({@code jetty-http-spi}), so every handler is written against the JDK's API and nothing above this class knows
 * which server runs it. Why not the JDK's own implementation: it answers an oversized request line or header block
 * with a TCP reset (sun.net.httpserver.Request throws past {@code maxReqHeaderSize}; no property changes that), writes
 * its own HTML pages for a bad request line ({@code URISyntaxException thrown}) and sends 429 with an empty reason
 * phrase; none of that is reachable from a handler (issue 20, row 12). Jetty answers 414 and 431, sends every status
 * with its reason, and lets the server write its own error bodies: {@link JsonErrors} gives every error the HTTP layer
 * itself produces OpenAI's {@code {"error": {...}}} shape.
 */
final class HttpServers {
  /** Request line plus headers, at most (Jetty's default is 8 KiB; a browser's cookies and a key fit well). */
  static final int MAX_REQUEST_HEAD_BYTES = 16 * 1024;

  /**
   * A request that has not been read whole within this long of silence is dropped: a client that sends half a
   * request and stalls loses its connection. While a request is served (Jetty's per-request idle timeout) a stream
   * writes a keep-alive comment every 2 s, and a whole response being generated is not idle. 30 s unless
   * {@code -Dcandor.http.idleSeconds} says otherwise (the tests use 3).
   */
  static final long IDLE_MILLIS = Long.getLong("candor.http.idleSeconds", 30) * 1000;

  /**
   * How long a kept-alive connection may wait between requests: longer than clients keep idle connections in their
   * pools (the JDK's HttpClient 30 s, httpx 5 s), so the client closes first and never sends a request on a
   * connection the server is closing (with one 3 s timeout for both, 2 requests of a 64-client load test failed
   * with "header parser received no bytes", that race's symptom). Headers that stall are cut after this long.
   */
  static final long KEEP_ALIVE_MILLIS = Math.max(60_000, 2 * IDLE_MILLIS);

  private HttpServers() {}

  /**
   * A started server on {@code address} that sends every request to {@code handler} on a virtual thread of its own;
   * {@code httpErrors} sees the status of each request the HTTP layer refused before any handler ran (for the
   * metrics and the access log). An address it cannot listen on (a port in use, a host not on this machine) is an
   * IllegalArgumentException naming it, which the CLI prints as one line.
   */
  static HttpServer start(InetSocketAddress address, int backlog, HttpHandler handler, IntConsumer httpErrors) {
    Server jetty = new Server(new VirtualThreadPool());
    HttpConfiguration http = new HttpConfiguration();
    http.setRequestHeaderSize(MAX_REQUEST_HEAD_BYTES);
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    http.setIdleTimeout(IDLE_MILLIS); // while a request is read and served
    ServerConnector connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
    connector.setHost(address.getHostString());
    connector.setPort(address.getPort());
    connector.setAcceptQueueSize(backlog);
    connector.setIdleTimeout(KEEP_ALIVE_MILLIS); // between requests
    jetty.addConnector(connector);
    ContextHandlerCollection contexts = new ContextHandlerCollection();
    jetty.setHandler(new GracefulHandler(contexts)); // stop(delay) lets the responses in progress end
    jetty.setErrorHandler(new JsonErrors(httpErrors));
    JettyHttpServer server = new Stoppable(jetty, http);
    try {
      server.bind(address, backlog); // finds the connector above on that port and keeps it
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    server.createContext("/", handler);
    try {
      server.start();
    } catch (RuntimeException e) { // Jetty wraps what failed, e.g. a port in use: one line for the CLI to print
      Throwable why = e.getCause() instanceof java.io.IOException io ? io : null;
      if (why == null) {
        throw e;
      }
      String detail = why.getCause() != null ? why.getCause().getMessage() : why.getMessage();
      throw new IllegalArgumentException("cannot listen on " + address.getHostString() + ":" + address.getPort()
          + ": " + detail, why);
    }
    return server;
  }

  /** Jetty's server with the JDK's {@code stop(delay)}: new requests refused, those in progress given the delay. */
  private static final class Stoppable extends JettyHttpServer {
    Stoppable(Server jetty, HttpConfiguration http) {
      super(jetty, false, http);
    }

    /**
     * As the JDK's server does: waits up to {@code delaySeconds} for the exchanges in progress to end, then closes
     * every connection. A response still unfinished then is cut, as the JDK's would be, not an error of the stop
     * (Jetty reports it as a TimeoutException after it has stopped).
     */
    @Override
    public void stop(int delaySeconds) {
      getServer().setStopTimeout(delaySeconds * 1000L);
      try {
        super.stop(delaySeconds);
      } catch (RuntimeException e) {
        if (!(e.getCause() instanceof java.util.concurrent.TimeoutException)) {
          throw e;
        }
      }
    }
  }

  /**
   * Errors the HTTP layer answers itself, before or instead of a handler (a malformed request line, a URI or header
   * block too large, an unsupported version or transfer coding, a body that breaks off): OpenAI's error object in
   * Candor's words, never an HTML page or a library's exception text.
   */
  static final class JsonErrors extends ErrorHandler {
    private final IntConsumer httpErrors;

    JsonErrors(IntConsumer httpErrors) {
      this.httpErrors = httpErrors;
    }

    /**
     * Every error Jetty answers itself: those found while parsing a request (Jetty 12.1 hands them here, with a
     * request made for the purpose) and those raised while one is served outside Candor's handler (which sends its
     * own), e.g. a 503 for a request that arrives while the server stops.
     */
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      int status = response.getStatus() > 0 ? response.getStatus() : 500;
      httpErrors.accept(status);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
      if (status == 503) {
        response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
      }
      response.write(true, ByteBuffer.wrap(body(status)), callback);
      return true;
    }

    static byte[] body(int status) {
      try {
        return Responses.JSON.writeValueAsBytes(Responses.error(error(status)));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e); // a tree of strings always serializes
      }
    }

    static ApiException error(int status) {
      return switch (status) {
        case 400 -> ApiException.client(400, "bad_request",
            "the request is not valid HTTP/1.1 (its request line, a header or the body's framing is malformed)");
        case 408 -> ApiException.client(408, "request_timeout", "the request was not received in time");
        case 413 -> ApiException.client(413, "request_too_large", "the request body is too large");
        case 414 -> ApiException.client(414, "uri_too_long",
            "the request line exceeds " + MAX_REQUEST_HEAD_BYTES + " bytes");
        case 431 -> ApiException.client(431, "headers_too_large",
            "the request's headers exceed " + MAX_REQUEST_HEAD_BYTES + " bytes");
        case 501 -> ApiException.client(501, "not_implemented", "the request uses an HTTP feature this server lacks");
        case 503 -> ApiException.server(503, "shutting_down", "the server is shutting down");
        case 505 -> ApiException.client(505, "http_version_not_supported", "use HTTP/1.1 or HTTP/1.0");
        default -> status >= 500
            ? ApiException.server(status, null, "the HTTP layer failed to serve the request")
            : ApiException.client(status, null, "the HTTP layer refused the request");
      };
    }
  }
}
