package dev.candor.bench;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.RandomCheckpoint;
import dev.candor.models.Shapes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Checkpoints the benchmarks need, generated once and cached outside the repository (they are large: the
 * Qwen2.5-0.5B shape is 1 GB in BF16): {@code $CANDOR_BENCH_CACHE}, else {@code ~/.cache/candor/bench}.
 */
public final class BenchCheckpoints {
  private BenchCheckpoints() {}

  public static Path cacheDir() {
    String configured = System.getenv("CANDOR_BENCH_CACHE");
    return configured != null ? Path.of(configured) : Path.of(System.getProperty("user.home"), ".cache", "candor", "bench");
  }

  /** The repository root (for the tokenizer), found from the working directory. */
  public static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/tokenizers/qwen2.5"))) {
        return p;
      }
    }
    throw new IllegalStateException("run the benchmarks from inside the Candor repository");
  }

  /** The tokenizer a named shape ships with: Qwen3's for a Qwen3 shape, else Qwen2.5's. */
  public static Path tokenizer(String shape) {
    boolean qwen3 = Shapes.get(shape).architecture() == Qwen2Config.Architecture.QWEN3;
    return repoRoot().resolve(qwen3 ? "models/tokenizers/qwen3" : "models/tokenizers/qwen2.5");
  }

  /** A random checkpoint of a named shape, saved in BF16 as Qwen ships its weights, with its family's tokenizer. */
  public static Path get(String shape, long seed) {
    Qwen2Config config = Shapes.get(shape);
    Path dir = cacheDir().resolve(shape + "-seed" + seed);
    if (Files.exists(dir.resolve("config.json")) && Files.exists(dir.resolve("tokenizer.json"))) {
      return dir;
    }
    try {
      Path tmp = Files.createDirectories(cacheDir()).resolve(dir.getFileName() + ".tmp");
      DType dtype = config.vocabSize() >= 151936 && config.hiddenSize() >= 256 ? DType.BF16 : DType.F32;
      RandomCheckpoint.write(tmp, config, seed, 0.02, dtype, 0, tokenizer(shape), List.of(151645, 151643));
      Files.move(tmp, dir);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
