package dev.candor.engine.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The web page at {@code /}: a chat that shows what the model was sure of (tokens shaded by p_correct or by source,
 * line bars, alternatives on hover and focus, the summary) and, at {@code /probe}, the served probe's report and
 * reliability diagrams with the model card. The page is a few static files inside the jar (no CDN, no build step, no
 * framework); its script calls the API same-origin with {@code Content-Type: application/json}, like any client.
 *
 * <p>The server routes its own paths here after the Host and Origin checks every request passes. The page's files
 * hold no data, so they are served without the API key (a browser cannot send
 * one when it opens a URL); the probe's report and diagrams are, like {@code /v1/models}, behind the key when there is
 * one, and the page fetches them with it. Every response carries a Content-Security-Policy that allows scripts,
 * styles and requests from this origin only and no inline script, so even a rendering bug could not run model output.
 */
public final class WebUi {
  /** Scripts, styles, requests: this origin only; images also blob: (diagrams fetched with the key); all else none. */
  static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
      + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  /** The page's files, under this classpath folder, each with its media type. */
  private static final String RESOURCES = "/dev/candor/engine/server/web/";
  private static final Map<String, String> FILES = files();
  /** A diagram's file name: no separators, no leading dot, so it cannot name anything outside the probe directory. */
  private static final Pattern DIAGRAM = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*\\.png");
  /** The largest report.md served; a probe's report is a few kilobytes. */
  private static final int MAX_REPORT_BYTES = 1 << 20;

  private final Map<String, byte[]> assets = new LinkedHashMap<>();
  private final Path probeDir;

  /** What a path asks for. */
  private sealed interface Route {
    record Page() implements Route {}

    record Asset(String name) implements Route {}

    record ProbeIndex() implements Route {}

    record Diagram(String name) implements Route {}

    record Unknown() implements Route {}
  }

  /** Reads the page's files from the classpath once; {@code config.probeDir()} is the served probe, or null. */
  public WebUi(ServerConfig config) {
    for (String name : FILES.keySet()) {
      try (InputStream in = WebUi.class.getResourceAsStream(RESOURCES + name)) {
        if (in == null) {
          throw new IllegalStateException("the web page's " + name + " is missing from the jar");
        }
        assets.put(name, in.readAllBytes());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    this.probeDir = config.probeDir() == null ? null : config.probeDir().toAbsolutePath().normalize();
  }

  private static Map<String, String> files() {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("index.html", "text/html; charset=utf-8");
    for (String script : List.of("app.js", "api.js", "chat.js", "tokens.js", "util.js", "probe.js",
        "markdown.js")) {
      files.put(script, "text/javascript; charset=utf-8");
    }
    files.put("style.css", "text/css; charset=utf-8");
    files.put("icon.svg", "image/svg+xml");
    return files;
  }

  /** Whether {@code path} is the page's (otherwise it is the API's). */
  boolean handles(String path) {
    return route(path) != null;
  }

  /**
   * Serves one of the page's paths, after the server's Host and Origin checks; errors are thrown as
   * {@link ApiException}s for the server to send. Returns the status sent.
   */
  int serve(HttpExchange exchange, RequestGuard guard) throws IOException {
    exchange.getResponseHeaders().set("Content-Security-Policy", CSP);
    exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    exchange.getResponseHeaders().set("Referrer-Policy", "no-referrer");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    serve(exchange, route(exchange.getRequestURI().getPath()), guard);
    return 200;
  }

  /** The route for a path, or null when the path is the API's. */
  private static Route route(String path) {
    if (path.equals("/") || path.equals("/probe")) {
      return new Route.Page();
    }
    if (!path.startsWith("/ui/")) {
      return null;
    }
    String rest = path.substring("/ui/".length());
    if (FILES.containsKey(rest) && !rest.equals("index.html")) {
      return new Route.Asset(rest);
    }
    if (rest.equals("probe/index.json")) {
      return new Route.ProbeIndex();
    }
    if (rest.startsWith("probe/") && DIAGRAM.matcher(rest.substring("probe/".length())).matches()) {
      return new Route.Diagram(rest.substring("probe/".length()));
    }
    return new Route.Unknown();
  }

  private void serve(HttpExchange exchange, Route route, RequestGuard guard) throws IOException {
    String method = exchange.getRequestMethod();
    if (!method.equals("GET") && !method.equals("HEAD")) {
      exchange.getResponseHeaders().set("Allow", "GET, HEAD");
      throw ApiException.client(405, "method_not_allowed", "use GET for the web page, not " + Http.shown(method));
    }
    switch (route) {
      case Route.Page page -> send(exchange, FILES.get("index.html"), assets.get("index.html"));
      case Route.Asset asset -> send(exchange, FILES.get(asset.name()), assets.get(asset.name()));
      case Route.ProbeIndex index -> {
        guard.authorize(exchange.getRequestHeaders());
        send(exchange, "application/json", Responses.JSON.writeValueAsBytes(probeIndex()));
      }
      case Route.Diagram diagram -> {
        guard.authorize(exchange.getRequestHeaders());
        send(exchange, "image/png", Files.readAllBytes(diagram(diagram.name())));
      }
      case Route.Unknown unknown -> throw ApiException.client(404, "not_found",
          "no such file of the web page: " + Http.shown(exchange.getRequestURI().getPath()));
    }
  }

  /**
   * {"probe": true, "report_markdown": report.md or null, "diagrams": [file names]}; {"probe": false} when no probe is
   * served (confidence is then the raw token probability).
   */
  private ObjectNode probeIndex() throws IOException {
    ObjectNode root = Responses.JSON.createObjectNode();
    root.put("probe", probeDir != null);
    if (probeDir == null) {
      return root;
    }
    Path report = probeDir.resolve("report.md");
    if (Files.isRegularFile(report) && Files.size(report) <= MAX_REPORT_BYTES) {
      root.put("report_markdown", Files.readString(report, StandardCharsets.UTF_8));
    } else {
      root.putNull("report_markdown");
    }
    ArrayNode diagrams = root.putArray("diagrams");
    diagrams().forEach(diagrams::add);
    return root;
  }

  /** The probe directory's PNG files (its reliability diagrams), sorted by name. */
  private TreeSet<String> diagrams() throws IOException {
    TreeSet<String> names = new TreeSet<>();
    if (probeDir == null || !Files.isDirectory(probeDir)) {
      return names;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(probeDir, "*.png")) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        if (DIAGRAM.matcher(name).matches() && Files.isRegularFile(file)) {
          names.add(name);
        }
      }
    }
    return names;
  }

  private Path diagram(String name) throws IOException {
    if (!diagrams().contains(name)) {
      throw ApiException.client(404, "not_found", "the probe has no diagram " + name);
    }
    return probeDir.resolve(name);
  }

  private static void send(HttpExchange exchange, String type, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(200, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }
}
