package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.confidence.TokenProbability;
import dev.candor.engine.model.Sequence;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The web page's routes over raw HTTP (no browser): every file with its type and the Content-Security-Policy, the
 * probe's report and diagrams (and nothing else of the disk), the API key, and the API still answering behind it.
 */
class WebUiTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final String KEY = "web-ui-test-key";
  static final Path PROBE = DefaultServer.PROBE;
  static DefaultServer open;
  /** The same models behind a second server, with an API key. */
  static OpenAiServer keyed;

  @BeforeAll
  static void start() {
    open = new DefaultServer(ServerConfig.defaults(0));
    keyed = open.serve(ServerConfig.defaults(0).withApiKey(KEY));
  }

  @AfterAll
  static void stop() {
    keyed.close();
    open.close();
  }

  static HttpResponse<byte[]> get(DefaultServer s, String path, String... headers) throws Exception {
    return get(s.server, path, headers);
  }

  static HttpResponse<byte[]> get(OpenAiServer s, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(DefaultServer.url(s, path))).GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse(null);
  }

  @Test
  void everyFileIsServedWithItsTypeAndTheContentSecurityPolicy() throws Exception {
    record File(String path, String type) {}
    List<File> files = List.of(new File("/", "text/html"), new File("/probe", "text/html"),
        new File("/ui/app.js", "text/javascript"), new File("/ui/api.js", "text/javascript"),
        new File("/ui/chat.js", "text/javascript"), new File("/ui/tokens.js", "text/javascript"),
        new File("/ui/util.js", "text/javascript"), new File("/ui/probe.js", "text/javascript"),
        new File("/ui/markdown.js", "text/javascript"), new File("/ui/style.css", "text/css"),
        new File("/ui/icon.svg", "image/svg+xml"));
    for (File f : files) {
      HttpResponse<byte[]> r = get(open, f.path());
      assertEquals(200, r.statusCode(), f.path());
      assertTrue(header(r, "Content-Type").startsWith(f.type()), f.path() + ": " + header(r, "Content-Type"));
      assertEquals(WebUi.CSP, header(r, "Content-Security-Policy"), f.path());
      assertEquals("nosniff", header(r, "X-Content-Type-Options"), f.path());
      assertTrue(r.body().length > 0, f.path());
    }
  }

  @Test
  void thePolicyAllowsNoInlineScriptNoOtherHostAndThePageNeedsNone() throws Exception {
    for (String directive : WebUi.CSP.split(";\\s*")) {
      assertFalse(directive.contains("unsafe") || directive.contains("*") || directive.contains("http")
          || directive.contains("data:"), "too wide: " + directive);
    }
    assertTrue(WebUi.CSP.startsWith("default-src 'none'"));
    String html = new String(get(open, "/").body(), StandardCharsets.UTF_8);
    Matcher scripts = Pattern.compile("<script([^>]*)>").matcher(html);
    int count = 0;
    while (scripts.find()) {
      assertTrue(scripts.group(1).contains("src=\"/ui/"), "an inline script: " + scripts.group());
      count++;
    }
    assertEquals(1, count);
    assertFalse(Pattern.compile("\\son[a-z]+\\s*=", Pattern.CASE_INSENSITIVE).matcher(html).find(), "an onX handler");
    assertFalse(html.contains("style=") || html.contains("<style"), "inline style");
    assertFalse(Pattern.compile("(src|href)=\"(https?:)?//").matcher(html).find(), "another host");
  }

  @Test
  void theProbeIndexHoldsItsReportAndDiagramsAndTheyAreServedAsTheyAreOnDisk() throws Exception {
    HttpResponse<byte[]> r = get(open, "/ui/probe/index.json");
    assertEquals(200, r.statusCode());
    assertEquals(WebUi.CSP, header(r, "Content-Security-Policy"));
    JsonNode index = JSON.readTree(r.body());
    assertTrue(index.get("probe").asBoolean());
    assertEquals(Files.readString(PROBE.resolve("report.md")), index.get("report_markdown").asText());
    List<String> pngs;
    try (Stream<Path> files = Files.list(PROBE)) {
      pngs = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".png")).sorted().toList();
    }
    assertEquals(pngs, List.of(JSON.convertValue(index.get("diagrams"), String[].class)));
    for (String name : pngs) {
      HttpResponse<byte[]> png = get(open, "/ui/probe/" + name);
      assertEquals(200, png.statusCode(), name);
      assertEquals("image/png", header(png, "Content-Type"));
      assertArrayEquals(Files.readAllBytes(PROBE.resolve(name)), png.body(), name);
    }
    try (OpenAiServer without = new OpenAiServer(open.target, open.generator, new TokenProbability(),
        ServerConfig.defaults(0))) {
      JsonNode none = JSON.readTree(get(without, "/ui/probe/index.json").body());
      assertEquals(JSON.createObjectNode().put("probe", false), none, "no probe served: says so, nothing else");
    }
  }

  @Test
  void nothingButTheDiagramsLeavesTheProbeDirectoryAndUnknownFilesAre404() throws Exception {
    for (String path : List.of("/ui/probe/probe.json", "/ui/probe/probe.safetensors", "/ui/probe/missing.png",
        "/ui/probe/.hidden.png", "/ui/nothing.js", "/ui/index.html", "/ui/",
        "/ui/probe/sub/reliability-probe-line.png")) {
      HttpResponse<byte[]> r = get(open, path);
      assertEquals(404, r.statusCode(), path);
      assertEquals("not_found", JSON.readTree(r.body()).get("error").get("code").asText(), path);
    }
    // An encoded slash is an ambiguous path: the HTTP layer (Jetty's URI compliance) refuses it before any handler.
    HttpResponse<byte[]> encoded = get(open, "/ui/probe/..%2F..%2Fconfig.png");
    assertEquals(400, encoded.statusCode());
    assertEquals("bad_request", JSON.readTree(encoded.body()).get("error").get("code").asText());
    // A raw request line the HTTP client would normalise: dot segments must not climb out either.
    for (String path : List.of("/ui/probe/../../target/config.json", "/ui/../../../etc/passwd")) {
      String reply = raw(open, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      assertFalse(reply.startsWith("HTTP/1.1 200"), path + ": " + reply.lines().findFirst().orElse(""));
    }
  }

  static String raw(DefaultServer s, String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", s.server.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void onlyGetAndHeadAndHeadSendsNoBody() throws Exception {
    HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create(open.url("/")))
        .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, post.statusCode());
    assertEquals("GET, HEAD", header(post, "Allow"));
    HttpResponse<String> head = HTTP.send(HttpRequest.newBuilder(URI.create(open.url("/ui/app.js")))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, head.statusCode());
    assertEquals("", head.body());
  }

  @Test
  void withAKeyThePageLoadsButTheProbeAndTheApiNeedIt() throws Exception {
    assertEquals(200, get(keyed, "/").statusCode(), "a browser cannot send a key when it opens a URL");
    assertEquals(200, get(keyed, "/ui/app.js").statusCode());
    for (String path : List.of("/ui/probe/index.json", "/ui/probe/reliability-probe-line.png", "/v1/models")) {
      HttpResponse<byte[]> r = get(keyed, path);
      assertEquals(401, r.statusCode(), path);
      assertEquals("Bearer", header(r, "WWW-Authenticate"), path);
      assertEquals(401, get(keyed, path, "Authorization", "Bearer wrong").statusCode(), path);
    }
    assertEquals(200, get(keyed, "/v1/models", "Authorization", "Bearer " + KEY).statusCode());
  }

  @Test
  void theApiStillAnswersBehindThePage() throws Exception {
    assertEquals(200, get(open, "/health").statusCode());
    assertEquals(200, get(open, "/v1/models").statusCode());
    HttpResponse<byte[]> unknown = get(open, "/v2/nothing");
    assertEquals(404, unknown.statusCode());
    assertEquals(null, header(unknown, "Content-Security-Policy"), "the API's own answer, not the page's");
    assertTrue(new String(unknown.body(), StandardCharsets.UTF_8).contains("no route"));
  }

  /**
   * The two token fields the page shows that the API had not carried: entropy (nats, of the raw distribution) equals
   * an oracle's computed from the model's logits in double precision, position by position of a greedy answer; and
   * draft_prob is the drafter's probability of the token: 1 for an accepted greedy draft (the drafter's distribution
   * is a point mass), 0 for a resampled one (it put its mass on the token it proposed), null for a bonus token.
   */
  @Test
  void tokensCarryTheirEntropyAndTheDrafterProbability() throws Exception {
    int[] prompt = open.target.tokenizer().encode("<|im_start|>user\n" + WebPageTest.README_PROMPT
        + "<|im_end|>\n<|im_start|>assistant\n");
    ObjectNode body = JSON.createObjectNode().put("max_tokens", 80).put("temperature", 0).put("logprobs", 1);
    body.set("prompt", JSON.valueToTree(prompt));
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(open.url("/v1/completions")))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
    JsonNode tokens = choice.get("confidence").get("tokens");
    JsonNode texts = choice.get("logprobs").get("tokens");
    java.util.Set<String> sources = new java.util.TreeSet<>();
    try (Sequence s = open.target.backend().newSequence(prompt.length + tokens.size())) {
      float[] logits = s.prefill(prompt);
      for (int i = 0; i < tokens.size(); i++) {
        JsonNode t = tokens.get(i);
        assertEquals(entropy(logits), t.get("entropy").asDouble(), 1e-4, "entropy of token " + i);
        String source = t.get("source").asText();
        sources.add(source);
        switch (source) {
          case "accepted" -> assertEquals(1.0, t.get("draft_prob").asDouble(), "token " + i);
          case "resampled" -> assertEquals(0.0, t.get("draft_prob").asDouble(), "token " + i);
          default -> assertTrue(t.get("draft_prob").isNull(), "token " + i + " (" + source + ")");
        }
        int greedy = argmax(logits);
        assertEquals(open.target.tokenizer().text(greedy), texts.get(i).asText(), "the oracle follows the answer");
        if (i + 1 < tokens.size()) {
          logits = s.decode(greedy);
        }
      }
    }
    assertEquals(java.util.Set.of("accepted", "bonus", "resampled"), sources, "every drafted path is checked");
  }

  static double entropy(float[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (float x : logits) {
      max = Math.max(max, x);
    }
    double z = 0;
    for (float x : logits) {
      z += Math.exp(x - max);
    }
    double h = 0;
    for (float x : logits) {
      double p = Math.exp(x - max) / z;
      h -= p > 0 ? p * Math.log(p) : 0;
    }
    return h;
  }

  static int argmax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best;
  }
}
