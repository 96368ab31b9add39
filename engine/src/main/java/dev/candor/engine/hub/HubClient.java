package dev.candor.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Hugging Face Hub's HTTP API, the three calls huggingface_hub's snapshot and file downloads make:
 * {@code GET /api/models/REPO/revision/REV} (the commit and the file list), {@code HEAD /REPO/resolve/COMMIT/FILE}
 * (the file's etag, size and location, from {@code X-Repo-Commit}, {@code X-Linked-Etag} or {@code ETag},
 * {@code X-Linked-Size} or {@code Content-Length} and, for LFS files, the redirect's {@code Location}), and the
 * download with {@code Range} to resume. The endpoint is {@code HF_ENDPOINT} (default https://huggingface.co), the
 * token {@code HF_TOKEN}; the token is sent to the endpoint's host only, never to the CDN a download redirects to.
 * Every failure is one line (a CheckpointException), with the hub's X-Error-Code turned into words.
 */
public final class HubClient {
  public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_REDIRECTS = 10;

  /** A repository at a revision: its commit and the paths of its files. */
  public record RepoInfo(String sha, List<String> files) {}

  /** What the HEAD of a file says: etag (sha256 for LFS, git blob sha1 otherwise), size, commit, download location. */
  public record FileMetadata(String etag, long size, String commit, URI location) {}

  /** An open download: its status (200, or 206 for a range) and body. */
  public record Download(int status, InputStream body, HttpURLConnection connection) implements AutoCloseable {
    @Override
    public void close() {
      connection.disconnect();
    }
  }

  private final URI endpoint;
  private final String token;
  private final int timeoutMillis;

  public HubClient(String endpoint, String token, int timeoutMillis) {
    String e = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
    try {
      this.endpoint = URI.create(e);
    } catch (IllegalArgumentException bad) {
      throw new CheckpointException("HF_ENDPOINT '" + endpoint + "' is not a URL");
    }
    if (this.endpoint.getHost() == null || !List.of("http", "https").contains(this.endpoint.getScheme())) {
      throw new CheckpointException("HF_ENDPOINT '" + endpoint + "' is not an http(s) URL");
    }
    this.token = token == null || token.isBlank() ? null : token.strip();
    this.timeoutMillis = timeoutMillis;
  }

  /** HF_ENDPOINT and HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN) from the environment. */
  public static HubClient fromEnvironment(Map<String, String> env) {
    String endpoint = env.getOrDefault("HF_ENDPOINT", "");
    String token = env.getOrDefault("HF_TOKEN", env.get("HUGGING_FACE_HUB_TOKEN"));
    return new HubClient(endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint, token, 60_000);
  }

  public URI endpoint() {
    return endpoint;
  }

  // ---- the calls ----

  public RepoInfo repoInfo(RepoId repo) {
    URI uri = URI.create(endpoint + "/api/models/" + repo.id() + "/revision/" + quote(repo.revision(), false));
    HttpURLConnection c = connect("GET", uri, 0);
    try {
      int status = c.getResponseCode();
      if (status != 200) {
        throw failure(c, status, repo, null);
      }
      JsonNode info;
      try (InputStream in = c.getInputStream()) {
        info = JSON.readTree(in.readNBytes(64 << 20));
      }
      String sha = info.path("sha").asText("");
      if (!sha.matches("[0-9a-f]{40}")) {
        throw new CheckpointException(endpoint.getHost() + " answered for " + repo + " without a commit sha");
      }
      List<String> files = new ArrayList<>();
      for (JsonNode sibling : info.path("siblings")) {
        if (sibling.path("rfilename").isTextual()) {
          files.add(sibling.get("rfilename").asText());
        }
      }
      return new RepoInfo(sha, files);
    } catch (IOException e) {
      throw unreachable(e);
    } finally {
      c.disconnect();
    }
  }

  /** HEAD of a file at a commit; relative redirects (a renamed repo) are followed, a redirect to another host is not. */
  public FileMetadata metadata(RepoId repo, String commit, String filename) {
    URI uri = URI.create(endpoint + "/" + repo.id() + "/resolve/" + commit + "/" + quote(filename, true));
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
      HttpURLConnection c = connect("HEAD", uri, 0);
      try {
        int status = c.getResponseCode();
        String location = c.getHeaderField("Location");
        boolean redirect = status >= 300 && status < 400 && location != null;
        if (redirect && URI.create(location).getHost() == null) {
          uri = uri.resolve(location);
          continue;
        }
        if (status != 200 && !redirect) {
          throw failure(c, status, repo, filename);
        }
        return metadataOf(c, uri, redirect, location, filename);
      } catch (IOException e) {
        throw unreachable(e);
      } finally {
        c.disconnect();
      }
    }
    throw new CheckpointException(endpoint.getHost() + " redirected " + filename + " more than " + MAX_REDIRECTS
        + " times");
  }

  private FileMetadata metadataOf(HttpURLConnection c, URI uri, boolean redirect, String location, String filename) {
    String etag = c.getHeaderField("X-Linked-Etag");
    if (etag == null) {
      etag = c.getHeaderField("ETag");
    }
    String size = c.getHeaderField("X-Linked-Size");
    if (size == null && !redirect) {
      size = c.getHeaderField("Content-Length");
    }
    String commit = c.getHeaderField("X-Repo-Commit");
    if (etag == null || size == null || commit == null) {
      throw new CheckpointException(endpoint.getHost() + "'s answer for " + filename + " lacks "
          + (etag == null ? "an ETag" : size == null ? "a size" : "X-Repo-Commit") + "; not a Hugging Face hub?");
    }
    etag = etag.replaceFirst("^W/", "").replace("\"", "");
    if (!etag.matches("[A-Za-z0-9_\\-]{1,128}")) {
      throw new CheckpointException(endpoint.getHost() + " gave " + filename + " the etag '" + etag
          + "', which cannot name a cache file");
    }
    try {
      return new FileMetadata(etag, Long.parseLong(size.strip()), commit,
          redirect ? uri.resolve(location) : uri);
    } catch (NumberFormatException e) {
      throw new CheckpointException(endpoint.getHost() + " gave " + filename + " the size '" + size + "'");
    }
  }

  /** GET {@code location} from byte {@code from} (a Range request when > 0), following redirects. */
  public Download download(URI location, long from) throws IOException {
    URI uri = location;
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
      HttpURLConnection c = connect("GET", uri, from);
      int status;
      try {
        status = c.getResponseCode();
      } catch (IOException e) {
        c.disconnect();
        throw e;
      }
      String next = c.getHeaderField("Location");
      if (status >= 300 && status < 400 && next != null) {
        c.disconnect();
        uri = uri.resolve(next);
        continue;
      }
      if (status != 200 && status != 206) {
        c.disconnect();
        throw new CheckpointException(uri.getHost() + " answered HTTP " + status + " for a download of " + location);
      }
      return new Download(status, c.getInputStream(), c);
    }
    throw new CheckpointException("a download of " + location + " redirected more than " + MAX_REDIRECTS + " times");
  }

  // ---- HTTP ----

  private HttpURLConnection connect(String method, URI uri, long from) {
    try {
      HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
      c.setRequestMethod(method);
      c.setInstanceFollowRedirects(false); // redirects are followed here, so the token stays with the hub's host
      c.setConnectTimeout(timeoutMillis);
      c.setReadTimeout(timeoutMillis);
      c.setRequestProperty("User-Agent", "candor/0.1 (hf_hub-compatible)");
      c.setRequestProperty("Accept-Encoding", "identity"); // the real size, as huggingface_hub asks
      if (from > 0) {
        c.setRequestProperty("Range", "bytes=" + from + "-");
      }
      if (token != null && endpoint.getHost().equalsIgnoreCase(uri.getHost())) {
        c.setRequestProperty("Authorization", "Bearer " + token);
      }
      return c;
    } catch (IOException | IllegalArgumentException e) {
      throw unreachable(e);
    }
  }

  private CheckpointException unreachable(Exception e) {
    return new CheckpointException("cannot reach " + endpoint + ": " + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + e.getMessage()), e);
  }

  /** The hub's refusal in words: its X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo). */
  private CheckpointException failure(HttpURLConnection c, int status, RepoId repo, String filename) {
    String code = c.getHeaderField("X-Error-Code");
    String host = endpoint.getHost();
    if ("RevisionNotFound".equals(code)) {
      return new CheckpointException(repo.id() + " has no revision '" + repo.revision() + "' on " + host);
    }
    if ("EntryNotFound".equals(code) || (status == 404 && filename != null && code == null)) {
      return new CheckpointException(repo + " lists " + filename + " but " + host + " has no such file");
    }
    if ("GatedRepo".equals(code) || status == 403) {
      return new CheckpointException(repo.id() + " is gated on " + host + ": accept its conditions there, then set"
          + " HF_TOKEN to a token of that account" + (token == null ? "" : " (this HF_TOKEN is not allowed)"));
    }
    if ("RepoNotFound".equals(code) || status == 401 || status == 404) {
      return new CheckpointException("repository '" + repo.id() + "' not found on " + host + (token == null
          ? " (if it is private or gated, set HF_TOKEN)" : " (or HF_TOKEN cannot see it)"));
    }
    String message = c.getHeaderField("X-Error-Message");
    return new CheckpointException(host + " answered HTTP " + status + " for " + repo
        + (message == null ? "" : ": " + message.replace('\n', ' ')));
  }

  /** urllib's quote: '/' kept in file paths, every other reserved or non-ASCII character percent-encoded. */
  static String quote(String s, boolean keepSlashes) {
    if (!keepSlashes) {
      return quotePart(s);
    }
    return String.join("/", java.util.Arrays.stream(s.split("/", -1)).map(HubClient::quotePart).toList());
  }

  private static String quotePart(String part) {
    return URLEncoder.encode(part, StandardCharsets.UTF_8).replace("+", "%20").replace("*", "%2A").replace("%7E", "~");
  }
}
