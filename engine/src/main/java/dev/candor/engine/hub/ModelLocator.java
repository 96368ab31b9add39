package dev.candor.engine.hub;

import dev.candor.engine.checkpoint.CheckpointException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where {@code --model X} is: a checkpoint directory if X is one, else, if X reads as a Hugging Face repo id
 * ({@code Qwen/Qwen2.5-7B-Instruct}, optionally {@code @revision}), its snapshot in the local Hugging Face cache
 * ({@link HubCache}), so checkpoints that transformers, {@code hf download} or {@code candor pull} fetched serve
 * as they are. Nothing is downloaded here.
 */
public final class ModelLocator {
  private ModelLocator() {}

  /** A resolved model: its directory and the name to serve it under (the repo id, or the directory's name). */
  public record Location(Path directory, String name) {}

  public static Location locate(String model, Map<String, String> env) {
    Optional<Path> local = asPath(model).filter(Files::isDirectory);
    if (local.isPresent()) {
      Path dir = local.get().toAbsolutePath().normalize();
      return new Location(dir, dir.getFileName() == null ? dir.toString() : dir.getFileName().toString());
    }
    if (!RepoId.looksLikeOne(model)) {
      Path dir = asPath(model).orElseThrow(() -> new CheckpointException(model + ": not a directory and not a"
          + " Hugging Face repo id")).toAbsolutePath().normalize();
      return new Location(dir, dir.getFileName() == null ? dir.toString() : dir.getFileName().toString());
    }
    RepoId repo = RepoId.parse(model);
    HubCache cache = HubCache.fromEnvironment(env);
    Path snapshot = cache.snapshot(repo).orElseThrow(() -> new CheckpointException(model + ": not a checkpoint"
        + " directory, and the Hugging Face cache (" + cache.root() + ") has no " + repo + "; 'candor pull " + model
        + "' downloads it"));
    return new Location(snapshot, repo.id());
  }

  private static Optional<Path> asPath(String model) {
    try {
      return Optional.of(Path.of(model));
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }
}
