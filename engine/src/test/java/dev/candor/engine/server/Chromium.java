package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A headless Chromium driven over the Chrome DevTools Protocol (https://chromedevtools.github.io/devtools-protocol/)
 * with the JDK's own WebSocket client: no Selenium, no chromedriver, no dependency. Enough of the protocol for the
 * page's tests: navigate, evaluate JavaScript, real mouse and keyboard input, viewport and colour-scheme emulation,
 * screenshots, and every console error and uncaught exception the page raises.
 */
final class Chromium implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The flags that work on this project's machines (no sandbox as root in a container, nothing from the network). */
  private static final List<String> FLAGS = List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-default-apps", "--disable-extensions", "--mute-audio", "--remote-debugging-port=0");

  private final Process process;
  private final Path profile;
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final List<String> errors = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, CompletableFuture<JsonNode>> awaited = new ConcurrentHashMap<>();

  /** Chromium's executable: $CANDOR_CHROMIUM, else chromium or google-chrome on the PATH. */
  static Optional<Path> find() {
    String configured = System.getenv("CANDOR_CHROMIUM");
    if (configured != null && !configured.isBlank()) {
      return Optional.of(Path.of(configured));
    }
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String name : List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) {
      for (String dir : path.split(":")) {
        Path candidate = Path.of(dir, name);
        if (Files.isExecutable(candidate)) {
          return Optional.of(candidate);
        }
      }
    }
    return Optional.empty();
  }

  /** Starts a fresh browser (its own profile directory, deleted on close) on about:blank and attaches to the page. */
  static Chromium launch(Path executable) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("candor-chromium-");
    List<String> command = new ArrayList<>(List.of(executable.toString()));
    command.addAll(FLAGS);
    command.add("--user-data-dir=" + profile);
    command.add("about:blank");
    Process process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(profile.resolveSibling(profile.getFileName() + ".log").toFile()).start();
    try {
      return new Chromium(process, profile);
    } catch (IOException | RuntimeException | InterruptedException e) {
      process.destroyForcibly();
      throw e;
    }
  }

  private Chromium(Process process, Path profile) throws IOException, InterruptedException {
    this.process = process;
    this.profile = profile;
    int port = devToolsPort(process, profile);
    HttpClient http = HttpClient.newHttpClient();
    JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body());
    String page = null;
    for (JsonNode t : targets) {
      if (t.path("type").asText().equals("page")) {
        page = t.path("webSocketDebuggerUrl").asText();
      }
    }
    if (page == null) {
      throw new IllegalStateException("Chromium opened no page: " + targets);
    }
    this.socket = http.newWebSocketBuilder().buildAsync(URI.create(page), new Listener()).join();
    for (String domain : List.of("Page.enable", "Runtime.enable", "Log.enable")) {
      send(domain, JSON.createObjectNode());
    }
  }

  /** The port Chromium chose, from the DevToolsActivePort file it writes into its profile once it listens. */
  private static int devToolsPort(Process process, Path profile) throws IOException, InterruptedException {
    Path file = profile.resolve("DevToolsActivePort");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (Files.exists(file)) {
        List<String> lines = Files.readAllLines(file);
        if (!lines.isEmpty() && !lines.getFirst().isBlank()) {
          return Integer.parseInt(lines.getFirst().trim());
        }
      }
      if (!process.isAlive()) {
        throw new IllegalStateException("Chromium exited with " + process.exitValue() + " before listening");
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("Chromium did not open its DevTools port within 30 s");
  }

  /** Reassembles messages (a large one, a screenshot, comes in parts) and routes replies and events. */
  private final class Listener implements WebSocket.Listener {
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        dispatch(partial.toString());
        partial.setLength(0);
      }
      webSocket.request(1);
      return null;
    }
  }

  private void dispatch(String text) {
    JsonNode message;
    try {
      message = JSON.readTree(text);
    } catch (IOException e) {
      errors.add("unreadable DevTools message: " + e.getMessage());
      return;
    }
    if (message.has("id")) {
      CompletableFuture<JsonNode> reply = pending.remove(message.get("id").asInt());
      if (reply != null) {
        reply.complete(message);
      }
      return;
    }
    String method = message.path("method").asText();
    JsonNode params = message.path("params");
    switch (method) {
      case "Runtime.exceptionThrown" -> errors.add("uncaught: " + params.path("exceptionDetails"));
      case "Runtime.consoleAPICalled" -> {
        if (params.path("type").asText().equals("error")) {
          errors.add("console.error: " + params.path("args"));
        }
      }
      case "Log.entryAdded" -> {
        if (params.path("entry").path("level").asText().equals("error")) {
          errors.add("log: " + params.path("entry").path("text").asText() + " "
              + params.path("entry").path("url").asText());
        }
      }
      default -> { }
    }
    CompletableFuture<JsonNode> waiting = awaited.remove(method);
    if (waiting != null) {
      waiting.complete(params);
    }
  }

  /** Sends a command and waits for its result; a protocol error is thrown. */
  JsonNode send(String method, ObjectNode params) {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
    message.set("params", params);
    socket.sendText(message.toString(), true).join();
    JsonNode answer = reply.orTimeout(60, TimeUnit.SECONDS).join();
    if (answer.has("error")) {
      throw new IllegalStateException(method + ": " + answer.get("error"));
    }
    return answer.path("result");
  }

  static ObjectNode params() {
    return JSON.createObjectNode();
  }

  /** Opens a URL and waits for its load event. */
  void navigate(String url) {
    CompletableFuture<JsonNode> loaded = new CompletableFuture<>();
    awaited.put("Page.loadEventFired", loaded);
    send("Page.navigate", params().put("url", url));
    loaded.orTimeout(30, TimeUnit.SECONDS).join();
  }

  /** The value of a JavaScript expression (promises awaited); an exception in the page is thrown here. */
  JsonNode eval(String expression) {
    JsonNode result = send("Runtime.evaluate", params().put("expression", expression).put("returnByValue", true)
        .put("awaitPromise", true));
    if (result.has("exceptionDetails")) {
      throw new IllegalStateException("in the page: " + result.get("exceptionDetails").toString()
          + "\nexpression: " + expression);
    }
    return result.path("result").path("value");
  }

  /** Waits until a JavaScript condition is true. */
  void waitFor(String condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!eval("!!(" + condition + ")").asBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + condition);
      }
      Thread.sleep(50);
    }
  }

  /** A script run in every page before its own (through the protocol: the page's CSP does not apply to it). */
  void beforeEachPage(String source) {
    send("Page.addScriptToEvaluateOnNewDocument", params().put("source", source));
  }

  /** Moves the mouse to the centre of the first element matching {@code selector} (a real hover). */
  void hover(String selector) {
    JsonNode box = eval("(async () => { const e = document.querySelector(" + JSON.valueToTree(selector)
        + "); e.scrollIntoView({block: 'center'}); for (let i = 0; i < 2; i++) await new Promise(requestAnimationFrame);"
        + " const r = e.getBoundingClientRect(); return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()");
    mouse("mouseMoved", box.get("x").asDouble(), box.get("y").asDouble());
  }

  /** A real click at the centre of an element. */
  void click(String selector) {
    hover(selector);
    JsonNode box = eval("(() => { const r = document.querySelector(" + JSON.valueToTree(selector)
        + ").getBoundingClientRect(); return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()");
    mouse("mousePressed", box.get("x").asDouble(), box.get("y").asDouble());
    mouse("mouseReleased", box.get("x").asDouble(), box.get("y").asDouble());
  }

  private void mouse(String type, double x, double y) {
    ObjectNode p = params().put("type", type).put("x", x).put("y", y);
    if (!type.equals("mouseMoved")) {
      p.put("button", "left").put("clickCount", 1);
    }
    send("Input.dispatchMouseEvent", p);
  }

  /** A key press as the keyboard makes it: Tab, Enter, Escape, ArrowLeft/Right/Up/Down, Home, End. */
  void press(String key) {
    int code = switch (key) {
      case "Tab" -> 9;
      case "Enter" -> 13;
      case "Escape" -> 27;
      case "End" -> 35;
      case "Home" -> 36;
      case "ArrowLeft" -> 37;
      case "ArrowUp" -> 38;
      case "ArrowRight" -> 39;
      case "ArrowDown" -> 40;
      default -> throw new IllegalArgumentException("no key code for " + key);
    };
    ObjectNode down = params().put("type", key.equals("Enter") ? "keyDown" : "rawKeyDown");
    if (key.equals("Enter")) {
      down.put("text", "\r"); // a key that types a character: what submits a form
    }
    ObjectNode up = params().put("type", "keyUp");
    for (ObjectNode event : List.of(down, up)) {
      send("Input.dispatchKeyEvent", event.put("key", key).put("code", key).put("windowsVirtualKeyCode", code)
          .put("nativeVirtualKeyCode", code));
    }
  }

  /** Types text into the focused element, as an input method would. */
  void type(String text) {
    send("Input.insertText", params().put("text", text));
  }

  /** The viewport's size, and whether it is a phone's (touch, mobile layout). */
  void viewport(int width, int height, boolean mobile) {
    send("Emulation.setDeviceMetricsOverride", params().put("width", width).put("height", height)
        .put("deviceScaleFactor", 1).put("mobile", mobile));
  }

  /** prefers-color-scheme: "light" or "dark". */
  void colorScheme(String scheme) {
    ObjectNode p = params();
    p.putArray("features").addObject().put("name", "prefers-color-scheme").put("value", scheme);
    send("Emulation.setEmulatedMedia", p);
  }

  /** A PNG of the viewport, or of the whole page. */
  byte[] screenshot(boolean fullPage) {
    JsonNode shot = send("Page.captureScreenshot", params().put("format", "png").put("captureBeyondViewport",
        fullPage));
    return Base64.getDecoder().decode(shot.get("data").asText());
  }

  /** Forgets the errors reported so far (a test that provokes some, a 401, starts the next one clean). */
  void clearErrors() {
    errors.clear();
  }

  /** Console errors, uncaught exceptions and failed loads the page has reported so far. */
  List<String> errors() {
    return List.copyOf(errors);
  }

  @Override
  public void close() {
    try {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "").orTimeout(2, TimeUnit.SECONDS).join();
    } catch (RuntimeException ignored) {
      // the browser may already be gone
    }
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (Stream<Path> files = Files.walk(profile)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      Files.deleteIfExists(profile.resolveSibling(profile.getFileName() + ".log"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
