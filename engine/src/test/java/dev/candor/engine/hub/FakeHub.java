package dev.candor.engine.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small Hugging Face Hub on loopback, answering the endpoints {@code candor pull} uses as the real hub does
 * (huggingface_hub's file_download.py and hf_api.py): {@code GET /api/models/REPO/revision/REV} with {@code sha}
 * and {@code siblings}; {@code HEAD} and {@code GET /REPO/resolve/REV/FILE}, a regular file answered directly with a
 * quoted git-blob-sha1 ETag, an LFS file by a 302 to a CDN host with {@code X-Linked-Etag} (its sha256) and
 * {@code X-Linked-Size}, both with {@code X-Repo-Commit}; the CDN honours {@code Range}. Unknown repos get 401 with
 * {@code X-Error-Code: RepoNotFound} (as the hub answers anonymous requests), unknown revisions 404
 * RevisionNotFound. A private repo needs {@code Authorization: Bearer TOKEN}. Faults can be injected: a download
 * cut short, the Range header ignored, corrupted bytes.
 */
final class FakeHub implements AutoCloseable {
  /** A file of a repo; LFS files are served from the CDN. */
  record File(byte[] content, boolean lfs) {}

  record Repo(String commit, Map<String, String> refs, Map<String, File> files, String token) {}

  private final HttpServer server;
  private final Map<String, Repo> repos = new ConcurrentHashMap<>();
  final List<String> requests = Collections.synchronizedList(new ArrayList<>());
  final List<String> cdnAuthorizations = Collections.synchronizedList(new ArrayList<>());
  final AtomicLong cutAfter = new AtomicLong(-1); // the next CDN download stops after this many bytes
  volatile boolean ignoreRange;
  volatile boolean corrupt;

  FakeHub() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  /** The hub's endpoint (HF_ENDPOINT); the CDN answers on the same port under another host name, "localhost". */
  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  String cdn() {
    return "http://localhost:" + server.getAddress().getPort();
  }

  void add(String id, Repo repo) {
    repos.put(id, repo);
  }

  @Override
  public void close() {
    server.stop(0);
  }

  static String sha256(byte[] b) {
    return hash("SHA-256", new byte[0], b);
  }

  static String gitSha1(byte[] b) {
    return hash("SHA-1", ("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII), b);
  }

  private static String hash(String algorithm, byte[] prefix, byte[] b) {
    try {
      MessageDigest d = MessageDigest.getInstance(algorithm);
      d.update(prefix);
      return HexFormat.of().formatHex(d.digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void handle(HttpExchange x) throws IOException {
    String path = x.getRequestURI().getRawPath();
    requests.add(x.getRequestMethod() + " " + path + (x.getRequestHeaders().containsKey("Range")
        ? " Range:" + x.getRequestHeaders().getFirst("Range") : ""));
    try (x) {
      if (path.startsWith("/cdn/")) {
        cdn(x, path.substring(5));
      } else if (path.startsWith("/api/models/")) {
        info(x, path.substring("/api/models/".length()));
      } else if (path.contains("/resolve/")) {
        resolve(x, path);
      } else {
        error(x, 404, null);
      }
    }
  }

  /** The repo a request names, or null after answering with the hub's refusal. */
  private Repo repo(HttpExchange x, String id) throws IOException {
    Repo r = repos.get(id);
    String auth = x.getRequestHeaders().getFirst("Authorization");
    if (r == null || (r.token() != null && !("Bearer " + r.token()).equals(auth))) {
      error(x, 401, "RepoNotFound");
      return null;
    }
    return r;
  }

  private static String commitOf(Repo r, String revision) {
    return revision.equals(r.commit()) ? r.commit() : r.refs().get(revision);
  }

  private void info(HttpExchange x, String rest) throws IOException {
    int at = rest.indexOf("/revision/");
    Repo r = repo(x, rest.substring(0, at));
    if (r == null) {
      return;
    }
    String commit = commitOf(r, URLDecoder.decode(rest.substring(at + "/revision/".length()), StandardCharsets.UTF_8));
    if (commit == null) {
      error(x, 404, "RevisionNotFound");
      return;
    }
    ObjectNode body = new ObjectMapper().createObjectNode();
    body.put("id", rest.substring(0, at));
    body.put("sha", commit);
    var siblings = body.putArray("siblings");
    r.files().keySet().forEach(f -> siblings.addObject().put("rfilename", f));
    send(x, 200, body.toString().getBytes(StandardCharsets.UTF_8), Map.of("Content-Type", "application/json"));
  }

  private void resolve(HttpExchange x, String path) throws IOException {
    String[] p = path.substring(1).split("/resolve/", 2);
    Repo r = repo(x, p[0]);
    if (r == null) {
      return;
    }
    String[] revFile = p[1].split("/", 2);
    String commit = commitOf(r, revFile[0]);
    File f = r.files().get(URLDecoder.decode(revFile[1], StandardCharsets.UTF_8));
    if (commit == null || f == null) {
      error(x, 404, commit == null ? "RevisionNotFound" : "EntryNotFound");
      return;
    }
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("X-Repo-Commit", commit);
    if (f.lfs()) {
      String sha = sha256(f.content());
      headers.put("X-Linked-Etag", "\"" + sha + "\"");
      headers.put("X-Linked-Size", String.valueOf(f.content().length));
      headers.put("ETag", "\"" + gitSha1(("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha)
          .getBytes(StandardCharsets.UTF_8)) + "\"");
      headers.put("Location", cdn() + "/cdn/" + sha);
      send(x, 302, x.getRequestMethod().equals("HEAD") ? null : new byte[0], headers);
      return;
    }
    headers.put("ETag", "\"" + gitSha1(f.content()) + "\"");
    send(x, 200, x.getRequestMethod().equals("HEAD") ? null : f.content(), headers, f.content().length);
  }

  private void cdn(HttpExchange x, String sha) throws IOException {
    cdnAuthorizations.add(String.valueOf(x.getRequestHeaders().getFirst("Authorization")));
    byte[] content = repos.values().stream().flatMap(r -> r.files().values().stream())
        .filter(f -> f.lfs() && sha256(f.content()).equals(sha)).map(File::content).findFirst().orElse(null);
    if (content == null) {
      error(x, 404, null);
      return;
    }
    if (corrupt) {
      content = content.clone();
      content[content.length / 2] ^= 1;
    }
    String range = x.getRequestHeaders().getFirst("Range");
    int from = range != null && !ignoreRange ? Integer.parseInt(range.replaceAll("bytes=(\\d+)-.*", "$1")) : 0;
    Map<String, String> headers = new LinkedHashMap<>();
    if (from > 0) {
      headers.put("Content-Range", "bytes " + from + "-" + (content.length - 1) + "/" + content.length);
    }
    byte[] body = java.util.Arrays.copyOfRange(content, from, content.length);
    long cut = cutAfter.getAndSet(-1);
    x.getResponseHeaders().putAll(toHeaders(headers));
    x.sendResponseHeaders(from > 0 ? 206 : 200, body.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(body, 0, (int) (cut >= 0 ? Math.min(cut, body.length) : body.length));
      if (cut >= 0) {
        out.flush();
        throw new IOException("cut short on purpose"); // the exchange closes without the rest of the body
      }
    }
  }

  private static Map<String, List<String>> toHeaders(Map<String, String> headers) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    headers.forEach((k, v) -> out.put(k, List.of(v)));
    return out;
  }

  private static void error(HttpExchange x, int status, String code) throws IOException {
    Map<String, String> headers = new LinkedHashMap<>();
    if (code != null) {
      headers.put("X-Error-Code", code);
    }
    send(x, status, ("{\"error\": \"" + (code == null ? "Not Found" : code) + "\"}").getBytes(StandardCharsets.UTF_8),
        headers);
  }

  private static void send(HttpExchange x, int status, byte[] body, Map<String, String> headers) throws IOException {
    send(x, status, body, headers, body == null ? -1 : body.length);
  }

  private static void send(HttpExchange x, int status, byte[] body, Map<String, String> headers, long length)
      throws IOException {
    x.getResponseHeaders().putAll(toHeaders(headers));
    if (body == null) { // HEAD: the length the GET would have
      x.getResponseHeaders().set("Content-Length", String.valueOf(Math.max(0, length)));
      x.sendResponseHeaders(status, -1);
      return;
    }
    x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = x.getResponseBody()) {
        out.write(body);
      }
    }
  }
}
