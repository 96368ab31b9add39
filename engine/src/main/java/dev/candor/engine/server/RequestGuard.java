package dev.candor.engine.server;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The checks every request passes before it reaches an endpoint, so that a server on loopback is safe from the web
 * pages its user visits:
 *
 * <ul>
 *   <li><b>Host</b>: the name the client asked for must be the server's own (localhost, 127.0.0.1, [::1], the bound
 *       address) or listed with {@code --allowed-hosts}: a DNS-rebinding page, whose Host is the attacker's name, is
 *       refused (403).
 *   <li><b>Origin</b>: a browser's request from another origin is refused (403) unless that origin is listed with
 *       {@code --allowed-origins}, which also turns on CORS answers for it; same-origin requests (the server's own
 *       page) pass.
 *   <li><b>Content-Type</b>: a POST must say {@code application/json} (415 otherwise): a cross-origin form or
 *       {@code text/plain} POST, which browsers send without a preflight, never reaches the model.
 *   <li><b>API key</b>: {@code Authorization: Bearer KEY} (the scheme is case-insensitive), compared in constant time.
 * </ul>
 */
final class RequestGuard {
  private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "[::1]", "::1");

  private final Set<String> hosts = new HashSet<>();
  private final boolean anyHost;
  private final Set<String> origins = new HashSet<>();
  private final boolean anyOrigin;
  private final byte[] apiKey;

  RequestGuard(ServerConfig config) {
    hosts.addAll(LOOPBACK_NAMES);
    hosts.add(hostName(config.host()));
    config.allowedHosts().forEach(h -> hosts.add(hostName(h)));
    anyHost = config.allowedHosts().contains("*");
    config.allowedOrigins().forEach(o -> origins.add(o.toLowerCase(Locale.ROOT).replaceAll("/+$", "")));
    anyOrigin = config.allowedOrigins().contains("*");
    apiKey = config.apiKey() == null ? null : config.apiKey().getBytes(StandardCharsets.UTF_8);
  }

  /** Whether the server binds a wildcard address (then only --allowed-hosts names besides loopback are served). */
  static boolean wildcard(String bindHost) {
    try {
      return InetAddress.getByName(bindHost).isAnyLocalAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** A Host header value or a name without its port, lower case; IPv6 literals keep their brackets. */
  static String hostName(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end < 0 ? h : h.substring(0, end + 1);
    }
    if (h.indexOf(':') != h.lastIndexOf(':')) {
      return "[" + h + "]"; // a bare IPv6 address (from --host ::1)
    }
    int colon = h.indexOf(':');
    return colon < 0 ? h : h.substring(0, colon);
  }

  void checkHost(Headers headers) {
    String host = headers.getFirst("Host");
    if (host == null || anyHost) {
      return; // HTTP/1.0 without Host: no browser sends that, so no rebinding page can either
    }
    if (!hosts.contains(hostName(host))) {
      throw ApiException.client(403, "host_not_allowed", "the Host '" + shorten(host)
          + "' is not this server's name; start the server with --allowed-hosts to serve it");
    }
  }

  /**
   * Refuses a cross-origin browser request from an origin not allowed; for an allowed one, adds the CORS response
   * headers. Same-origin means the Origin's host:port is the request's Host.
   */
  void checkOrigin(HttpExchange exchange) {
    String origin = exchange.getRequestHeaders().getFirst("Origin");
    if (origin == null || sameOrigin(origin, exchange.getRequestHeaders().getFirst("Host"))) {
      return;
    }
    String normalized = origin.toLowerCase(Locale.ROOT);
    if (!anyOrigin && !origins.contains(normalized)) {
      throw ApiException.client(403, "origin_not_allowed", "requests from the web origin '" + shorten(origin)
          + "' are not allowed; start the server with --allowed-origins to allow it");
    }
    Headers out = exchange.getResponseHeaders();
    out.set("Access-Control-Allow-Origin", anyOrigin ? "*" : origin);
    out.set("Vary", "Origin");
    out.set("Access-Control-Expose-Headers", "X-Request-Id");
  }

  /** A CORS preflight (OPTIONS) from an allowed origin: the methods and headers the API takes. */
  void answerPreflight(HttpExchange exchange) {
    Headers out = exchange.getResponseHeaders();
    if (out.getFirst("Access-Control-Allow-Origin") == null) {
      throw ApiException.client(403, "origin_not_allowed", "cross-origin requests are not allowed here");
    }
    out.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    out.set("Access-Control-Allow-Headers", "Authorization, Content-Type");
    out.set("Access-Control-Max-Age", "600");
  }

  private static boolean sameOrigin(String origin, String host) {
    if (host == null) {
      return false;
    }
    try {
      URI uri = URI.create(origin.trim());
      if (uri.getHost() == null) {
        return false; // "null" (a sandboxed page or a file://) is never the server itself
      }
      int port = uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
      String h = host.trim().toLowerCase(Locale.ROOT);
      String expected = uri.getHost().toLowerCase(Locale.ROOT);
      return h.equals(expected + ":" + port) || (h.equals(expected) && port == 80);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** POSTs must carry JSON (with optional parameters such as charset=utf-8). */
  void checkContentType(Headers headers) {
    String type = headers.getFirst("Content-Type");
    String media = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    if (!media.equals("application/json")) {
      throw ApiException.client(415, "unsupported_media_type", "send the request body as JSON with 'Content-Type: "
          + "application/json'" + (type == null ? "" : ", not '" + shorten(type) + "'"));
    }
  }

  void authorize(Headers headers) {
    if (apiKey == null) {
      return;
    }
    String header = headers.getFirst("Authorization");
    byte[] given = new byte[0];
    if (header != null && header.length() > 7 && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    }
    if (!MessageDigest.isEqual(given, apiKey)) { // constant time in the key's content
      throw ApiException.client(401, "invalid_api_key",
          "missing or incorrect API key: send 'Authorization: Bearer <key>'");
    }
  }

  private static String shorten(String s) {
    String clean = s.replaceAll("[^\\x20-\\x7e]", "?");
    return clean.length() > 80 ? clean.substring(0, 80) + "..." : clean;
  }

  List<String> describe() {
    return List.of("hosts " + (anyHost ? "*" : hosts), "origins " + (anyOrigin ? "*" : origins));
  }
}
