package dev.candor.engine.hub;

import dev.candor.engine.checkpoint.CheckpointException;
import java.util.regex.Pattern;

/**
 * A Hugging Face model repository and revision, as a user writes it: {@code Qwen/Qwen2.5-7B-Instruct}, optionally
 * {@code @revision} (a branch, a tag or a 40-hex commit; {@code main} when absent). Validated by huggingface_hub's
 * rules (validate_repo_id): one optional namespace, letters, digits, '-', '_' and '.', at most 96 characters a part,
 * no part starting or ending with '-' or '.', no "--" or "..", not ending in ".git".
 *
 * @param id the repo id, "namespace/name" or "name"
 * @param revision a branch, tag or commit hash
 */
public record RepoId(String id, String revision) {
  public static final String DEFAULT_REVISION = "main";
  private static final Pattern PART = Pattern.compile("[A-Za-z0-9_](?:[A-Za-z0-9_.\\-]{0,94}[A-Za-z0-9_])?");
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  public RepoId {
    String problem = problem(id);
    if (problem != null) {
      throw new CheckpointException("'" + id + "' is not a Hugging Face repo id: " + problem);
    }
    if (revision == null || revision.isBlank() || revision.contains("..") || revision.startsWith("/")
        || revision.contains("\\") || revision.chars().anyMatch(c -> c < 0x20)) {
      throw new CheckpointException("'" + revision + "' is not a revision (a branch, a tag or a commit hash)");
    }
  }

  /** {@code "org/name"} or {@code "org/name@revision"}. */
  public static RepoId parse(String text) {
    int at = text.indexOf('@');
    return at < 0 ? new RepoId(text, DEFAULT_REVISION) : new RepoId(text.substring(0, at), text.substring(at + 1));
  }

  /** Whether {@code text} reads as a repo id (with or without a revision), so it can be looked up in the cache. */
  public static boolean looksLikeOne(String text) {
    int at = text.indexOf('@');
    return problem(at < 0 ? text : text.substring(0, at)) == null;
  }

  /** Why {@code id} is not a repo id, or null. */
  private static String problem(String id) {
    if (id == null || id.isEmpty()) {
      return "it is empty";
    }
    String[] parts = id.split("/", -1);
    if (parts.length > 2) {
      return "it has more than one '/' (namespace/name)";
    }
    for (String part : parts) {
      if (!PART.matcher(part).matches()) {
        return "use letters, digits, '-', '_' and '.', at most 96 characters, not starting or ending with '-' or '.'";
      }
    }
    if (id.contains("--") || id.contains("..")) {
      return "it cannot contain '--' or '..'";
    }
    return id.endsWith(".git") ? "it cannot end in '.git'" : null;
  }

  /** Whether the revision is a full commit hash (nothing to resolve). */
  public boolean isCommit() {
    return COMMIT.matcher(revision).matches();
  }

  /** huggingface_hub's cache folder name: {@code models--ORG--NAME}. */
  public String folderName() {
    return "models--" + id.replace("/", "--");
  }

  @Override
  public String toString() {
    return revision.equals(DEFAULT_REVISION) ? id : id + "@" + revision;
  }
}
