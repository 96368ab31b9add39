package dev.candor.engine.hub;

import dev.candor.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code candor pull}: a repository snapshot into the Hugging Face cache ({@link HubCache}), file by file as
 * huggingface_hub's hf_hub_download does it: resolve the revision to a commit, HEAD each file for its etag, skip a
 * file whose snapshot entry or blob is already there, otherwise download into {@code blobs/ETAG.incomplete} under a
 * lock, resuming with a Range request from what an earlier, interrupted run left, check the size and the hash (an
 * LFS file's sha256 is its etag; another file's etag is its git blob sha1, checked too), move the blob into place and
 * link the snapshot entry to it. A file that fails its check is deleted and the pull fails in one line; running the
 * command again resumes. Progress goes to {@code progress}, one bar per file.
 */
public final class Pull {
  /** What Candor reads from a checkpoint, and the small files beside it: the default of {@code candor pull}. */
  public static final List<String> DEFAULT_INCLUDE = List.of("*.json", "*.safetensors", "*.jinja", "*.txt", "*.md",
      "LICENSE*");

  /** What a pull did. */
  public record Result(RepoId repo, String commit, Path snapshot, int files, long bytesDownloaded) {}

  private final HubCache cache;
  private final HubClient client;
  private final PrintStream progress;
  private final int retries;

  /** @param retries how often a broken download is resumed within this run before the pull gives up */
  public Pull(HubCache cache, HubClient client, PrintStream progress, int retries) {
    this.cache = cache;
    this.client = client;
    this.progress = progress;
    this.retries = retries;
  }

  /** Pulls the files of {@code repo} whose paths match one of {@code include} (null: every file). */
  public Result pull(RepoId repo, List<String> include) {
    HubClient.RepoInfo info = client.repoInfo(repo);
    List<Pattern> patterns = include == null ? null : include.stream().map(Pull::glob).toList();
    List<String> files = new ArrayList<>();
    for (String f : info.files()) {
      if (!isSafeName(f)) {
        throw new CheckpointException("the hub listed a file named '" + f + "' in " + repo
            + ", which is not a relative path inside the repository; refused");
      }
      if (patterns == null || patterns.stream().anyMatch(p -> p.matcher(f).matches())) {
        files.add(f);
      }
    }
    long downloaded = 0;
    for (String f : files) {
      downloaded += file(repo, info.sha(), f);
    }
    cache.writeRef(repo, info.sha());
    Path snapshot = cache.repoFolder(repo).resolve("snapshots").resolve(info.sha());
    try {
      Files.createDirectories(snapshot);
    } catch (IOException e) {
      throw new CheckpointException(snapshot + ": cannot create it: " + e.getMessage(), e);
    }
    return new Result(repo, info.sha(), snapshot, files.size(), downloaded);
  }

  /** One file into the cache; returns the bytes downloaded (0 when the cache had it). */
  long file(RepoId repo, String commit, String filename) {
    Path pointer = cache.pointer(repo, commit, filename);
    if (Files.exists(pointer)) {
      return 0;
    }
    HubClient.FileMetadata meta = client.metadata(repo, commit, filename);
    Path blob = cache.blob(repo, meta.etag());
    try {
      Files.createDirectories(blob.getParent());
      Path lockFile = cache.lock(repo, meta.etag());
      Files.createDirectories(lockFile.getParent());
      long bytes = 0;
      try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock lock = lockChannel.lock()) {
        if (!Files.exists(blob)) {
          bytes = fetch(meta, blob, filename);
        }
      }
      link(pointer, blob);
      return bytes;
    } catch (IOException e) {
      throw new CheckpointException(filename + ": cannot write it into " + cache.root() + ": " + e.getMessage(), e);
    }
  }

  /** Downloads into blob.incomplete (resuming what is there), checks it, and moves it to {@code blob}. */
  private long fetch(HubClient.FileMetadata meta, Path blob, String filename) throws IOException {
    Path incomplete = blob.resolveSibling(blob.getFileName() + ".incomplete");
    Check check = Check.forEtag(meta.etag(), meta.size());
    long have = Files.exists(incomplete) ? Files.size(incomplete) : 0;
    if (have > meta.size()) {
      Files.delete(incomplete);
      have = 0;
    }
    check.addFile(incomplete, have);
    long start = have;
    Bar bar = new Bar(progress, filename, meta.size(), have);
    long[] done = {have}; // bytes written and hashed: what a retry resumes from
    int failures = 0;
    while (done[0] < meta.size()) {
      try (HubClient.Download d = client.download(meta.location(), done[0]);
          FileChannel out = FileChannel.open(incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
        if (d.status() == 200 && done[0] > 0) { // the server ignored the Range: start over, as huggingface_hub does
          check.reset();
          done[0] = 0;
        }
        out.truncate(done[0]);
        out.position(done[0]);
        copy(d.body(), out, check, done, meta.size(), bar);
        failures = 0;
      } catch (IOException e) {
        if (++failures > retries) {
          throw new CheckpointException(filename + ": the download broke off at " + done[0] + " of " + meta.size()
              + " bytes (" + e.getMessage() + "); run the same command again to resume", e);
        }
      }
    }
    have = done[0];
    bar.done();
    if (have != meta.size()) {
      Files.deleteIfExists(incomplete);
      throw new CheckpointException(filename + ": downloaded " + have + " bytes where the hub said " + meta.size()
          + "; deleted, run the command again");
    }
    String actual = check.result();
    if (actual != null && !actual.equals(meta.etag())) {
      Files.deleteIfExists(incomplete);
      throw new CheckpointException(filename + ": the " + check.name + " of the download is " + actual + " but the"
          + " hub says " + meta.etag() + "; deleted, run the command again");
    }
    Files.move(incomplete, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return have - start;
  }

  private static void copy(InputStream in, FileChannel out, Check check, long[] done, long size, Bar bar)
      throws IOException {
    byte[] buffer = new byte[1 << 16];
    while (done[0] < size) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, size - done[0]));
      if (n < 0) {
        throw new IOException("the connection closed early");
      }
      ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
      while (chunk.hasRemaining()) {
        out.write(chunk);
      }
      check.update(buffer, n);
      done[0] += n;
      bar.update(done[0]);
    }
  }

  /** The snapshot entry as a relative symlink to the blob (a copy where links cannot be made). */
  static void link(Path pointer, Path blob) throws IOException {
    Files.createDirectories(pointer.getParent());
    if (Files.exists(pointer, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      Files.delete(pointer);
    }
    try {
      Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
    } catch (UnsupportedOperationException | IOException noLinks) {
      Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** A repository file name that stays inside the snapshot: relative, no '..' or '.' parts, no backslash. */
  static boolean isSafeName(String name) {
    if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.chars().anyMatch(c -> c < 0x20)
        || name.matches("^[A-Za-z]:.*")) {
      return false;
    }
    for (String part : name.split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        return false;
      }
    }
    return true;
  }

  /** fnmatch as huggingface_hub's allow_patterns use it: '*' and '?' match any characters, '/' included. */
  static Pattern glob(String pattern) {
    StringBuilder regex = new StringBuilder();
    for (char c : pattern.toCharArray()) {
      switch (c) {
        case '*' -> regex.append(".*");
        case '?' -> regex.append('.');
        default -> regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(regex.toString(), Pattern.DOTALL);
  }

  /** The hash an etag stands for: sha256 (64 hex, an LFS file) or git's blob sha1 (40 hex); none otherwise. */
  private static final class Check {
    final String name;
    private final MessageDigest digest;
    private final long size;

    private Check(String name, MessageDigest digest, long size) {
      this.name = name;
      this.digest = digest;
      this.size = size;
      reset();
    }

    static Check forEtag(String etag, long size) {
      try {
        if (etag.matches("[0-9a-f]{64}")) {
          return new Check("sha256", MessageDigest.getInstance("SHA-256"), size);
        }
        if (etag.matches("[0-9a-f]{40}")) {
          return new Check("git blob sha1", MessageDigest.getInstance("SHA-1"), size);
        }
        return new Check("etag", null, size);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    void reset() {
      if (digest != null) {
        digest.reset();
        if (name.startsWith("git")) {
          digest.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
        }
      }
    }

    void update(byte[] b, int n) {
      if (digest != null) {
        digest.update(b, 0, n);
      }
    }

    /** Hashes the first {@code length} bytes already on disk (a resumed download). */
    void addFile(Path file, long length) throws IOException {
      if (length == 0 || digest == null) {
        return;
      }
      try (InputStream in = Files.newInputStream(file)) {
        byte[] buffer = new byte[1 << 16];
        long left = length;
        while (left > 0) {
          int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
          if (n < 0) {
            break;
          }
          digest.update(buffer, 0, n);
          left -= n;
        }
      }
    }

    String result() {
      return digest == null ? null : HexFormat.of().formatHex(digest.digest());
    }
  }

  /** One file's progress: name, bar, percent, bytes, rate, ETA, redrawn at most ten times a second. */
  private static final class Bar {
    private final PrintStream out;
    private final String name;
    private final long total;
    private final long initial;
    private final long start = System.nanoTime();
    private long lastDraw;

    Bar(PrintStream out, String name, long total, long initial) {
      this.out = out;
      this.name = name.length() > 40 ? "…" + name.substring(name.length() - 39) : name;
      this.total = total;
      this.initial = initial;
    }

    void update(long done) {
      long now = System.nanoTime();
      if (out == null || (now - lastDraw < 100_000_000L && done < total)) {
        return;
      }
      lastDraw = now;
      double seconds = Math.max(1e-3, (now - start) / 1e9);
      double rate = (done - initial) / seconds;
      int filled = (int) (30 * done / Math.max(1, total));
      String eta = rate > 0 ? dev.candor.engine.cli.ProgressBar.clock((total - done) / rate) : "-";
      out.printf("\r%-40s [%s%s] %3d%%  %s / %s  %s/s  ETA %s ", name, "#".repeat(filled), ".".repeat(30 - filled),
          100 * done / Math.max(1, total), size(done), size(total), size((long) rate), eta);
      out.flush();
    }

    void done() {
      update(total);
      if (out != null) {
        out.println();
      }
    }

    static String size(long bytes) {
      if (bytes < 1 << 20) {
        return String.format("%.1f kB", bytes / 1e3);
      }
      return bytes < 1L << 30 ? String.format("%.1f MB", bytes / 1e6) : String.format("%.2f GB", bytes / 1e9);
    }
  }
}
