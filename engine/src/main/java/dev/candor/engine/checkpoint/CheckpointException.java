package dev.candor.engine.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint that cannot be loaded: one clear message naming the file (and the tensor, where there is one).
 * Loading never crashes the JVM on bad input; every failure ends up here.
 */
public final class CheckpointException extends RuntimeException {
  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }

  static CheckpointException at(Path file, String message) {
    return new CheckpointException(file + ": " + message);
  }

  static CheckpointException at(Path file, String tensor, String message) {
    return new CheckpointException(file + ": tensor '" + tensor + "': " + message);
  }
}
