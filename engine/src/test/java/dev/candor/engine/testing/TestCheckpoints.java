package dev.candor.engine.testing;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.RandomCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Small random checkpoints for tests, written once per JVM under target/. */
public final class TestCheckpoints {
  private TestCheckpoints() {}

  /** Hugging Face's own test shape: deliberately odd sizes so no dimension can be confused with another. */
  public static Qwen2Config tiny(int vocab, boolean tied) {
    return new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, 10000.0, vocab, 512, tied, DType.F32);
  }

  /** The Qwen2.5 tokenizer shipped with the project (models/tokenizers/qwen2.5). */
  public static Path qwenTokenizer() {
    Path here = Path.of("").toAbsolutePath();
    for (Path p = here; p != null; p = p.getParent()) {
      Path candidate = p.resolve("models/tokenizers/qwen2.5");
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("models/tokenizers/qwen2.5 not found above " + here);
  }

  public static Path write(String name, Qwen2Config config, long seed, DType dtype, long maxShardBytes, Path tokenizer) {
    return write(name, config, seed, 0.2, dtype, maxShardBytes, tokenizer);
  }

  public static Path write(String name, Qwen2Config config, long seed, double std, DType dtype, long maxShardBytes,
      Path tokenizer) {
    Path dir = Path.of("target", "test-checkpoints", name).toAbsolutePath();
    try {
      if (!Files.exists(dir.resolve("config.json"))) {
        RandomCheckpoint.write(dir, config, seed, std, dtype, maxShardBytes, tokenizer, List.of());
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
