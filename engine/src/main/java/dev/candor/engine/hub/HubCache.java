package dev.candor.engine.hub;

import dev.candor.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;

/**
 * The local Hugging Face cache, laid out as huggingface_hub lays it out, so that what transformers or
 * {@code hf download} fetched serves as it is and what {@code candor pull} fetches serves them:
 *
 * <pre>
 * HUB/models--ORG--NAME/blobs/ETAG               each file once, named by its sha256 (LFS) or git blob sha1
 *                       refs/REVISION            the commit a branch or tag pointed at, no newline
 *                       snapshots/COMMIT/FILE -> ../../blobs/ETAG
 * HUB/.locks/models--ORG--NAME/ETAG.lock
 * </pre>
 *
 * HUB is {@code HF_HUB_CACHE}, else {@code HUGGINGFACE_HUB_CACHE}, else {@code HF_HOME/hub}, where HF_HOME defaults to
 * {@code XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface} (huggingface_hub's constants.py).
 */
public record HubCache(Path root) {
  /** The cache the environment names (the map is System.getenv() in use, a fixed map in tests). */
  public static HubCache fromEnvironment(Map<String, String> env) {
    String hub = first(env, "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE");
    if (hub != null) {
      return new HubCache(expand(hub, env));
    }
    String home = env.get("HF_HOME");
    if (home == null || home.isEmpty()) {
      String xdg = env.get("XDG_CACHE_HOME");
      Path cache = xdg != null && !xdg.isEmpty() ? expand(xdg, env) : userHome(env).resolve(".cache");
      return new HubCache(cache.resolve("huggingface").resolve("hub"));
    }
    return new HubCache(expand(home, env).resolve("hub"));
  }

  private static String first(Map<String, String> env, String... names) {
    for (String n : names) {
      String v = env.get(n);
      if (v != null && !v.isEmpty()) {
        return v;
      }
    }
    return null;
  }

  private static Path userHome(Map<String, String> env) {
    String home = env.get("HOME");
    return Path.of(home != null && !home.isEmpty() ? home : System.getProperty("user.home"));
  }

  /** A leading ~ is the home directory, as os.path.expanduser makes it. */
  private static Path expand(String path, Map<String, String> env) {
    if (path.equals("~") || path.startsWith("~/")) {
      return userHome(env).resolve(path.length() > 2 ? path.substring(2) : "");
    }
    return Path.of(path);
  }

  public Path repoFolder(RepoId repo) {
    return root.resolve(repo.folderName());
  }

  /**
   * The snapshot directory of {@code repo} at its revision, if the cache holds it: a commit hash directly, a branch
   * or tag through refs/REVISION.
   */
  public Optional<Path> snapshot(RepoId repo) {
    Path folder = repoFolder(repo);
    String commit = repo.isCommit() ? repo.revision() : readRef(folder, repo.revision());
    if (commit == null) {
      return Optional.empty();
    }
    Path snapshot = folder.resolve("snapshots").resolve(commit);
    return Files.isDirectory(snapshot) ? Optional.of(snapshot) : Optional.empty();
  }

  private static String readRef(Path folder, String revision) {
    Path ref = folder.resolve("refs").resolve(revision);
    if (!ref.normalize().startsWith(folder.resolve("refs").normalize()) || !Files.isRegularFile(ref)) {
      return null;
    }
    try {
      String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
      return commit.matches("[0-9a-f]{40}") ? commit : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** Records that {@code revision} (a branch or tag) points at {@code commit}, atomically. */
  public void writeRef(RepoId repo, String commit) {
    if (repo.isCommit() || repo.revision().equals(commit)) {
      return;
    }
    Path ref = repoFolder(repo).resolve("refs").resolve(repo.revision());
    try {
      Files.createDirectories(ref.getParent());
      Path tmp = ref.resolveSibling(ref.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
      Files.writeString(tmp, commit, StandardCharsets.UTF_8);
      Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new CheckpointException(ref + ": cannot write the ref: " + e.getMessage(), e);
    }
  }

  public Path blob(RepoId repo, String etag) {
    return repoFolder(repo).resolve("blobs").resolve(etag);
  }

  /** Where a file of a snapshot lives; refuses a name that would leave the snapshot (a hub cannot write elsewhere). */
  public Path pointer(RepoId repo, String commit, String filename) {
    Path snapshot = repoFolder(repo).resolve("snapshots").resolve(commit);
    Path p = snapshot.resolve(filename).normalize();
    if (!Pull.isSafeName(filename) || !p.startsWith(snapshot.normalize())) {
      throw new CheckpointException("the hub listed a file named '" + filename + "', which is not a relative path"
          + " inside the repository; refused");
    }
    return p;
  }

  public Path lock(RepoId repo, String etag) {
    return root.resolve(".locks").resolve(repo.folderName()).resolve(etag + ".lock");
  }
}
