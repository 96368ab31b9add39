package dev.candor.bench;

import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.WeightFormat;
import dev.candor.models.Shapes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Whether a case fits this machine before it starts: its weights in memory (with the JVM beside them) and, for a
 * checkpoint not yet written, its files on disk (the BF16 checkpoint and the peer's GGUF). A Qwen2.5-7B needs about
 * 15 GB of memory and 30 GB of disk; a case that does not fit is skipped with the reason, never half run.
 */
final class Resources {
  private Resources() {}

  private static final long GB = 1L << 30;

  /** Null when the case fits, else why not. */
  static String whyNot(EndToEnd.Case c) {
    if (c.isDefault()) {
      return null;
    }
    Qwen2Config config = Shapes.get(c.model());
    WeightFormat format = WeightFormat.parse(c.format());
    long weights = (long) (config.parameterCount() * format.bytesPerWeight);
    long memory = (long) (weights * 1.1) + 2 * GB;
    long available = availableMemory();
    if (available > 0 && memory > available) {
      return String.format(Locale.ROOT, "needs about %.1f GB of memory, %.1f GB available", memory / (double) GB,
          available / (double) GB);
    }
    try {
      Path cache = Files.createDirectories(BenchCheckpoints.cacheDir());
      long disk = (long) (config.parameterCount() * format.bytesPerWeight) + 2 * GB; // the peer's GGUF
      if (!Files.exists(cache.resolve(c.model() + "-seed0").resolve("config.json"))) {
        disk += 2 * config.parameterCount(); // the BF16 checkpoint
      }
      long free = Files.getFileStore(cache).getUsableSpace();
      if (disk > free) {
        return String.format(Locale.ROOT, "needs about %.1f GB of disk in %s, %.1f GB free", disk / (double) GB, cache,
            free / (double) GB);
      }
    } catch (IOException e) {
      return "cannot check the disk: " + e.getMessage();
    }
    return null;
  }

  /** MemAvailable from /proc/meminfo, or -1 off Linux. */
  static long availableMemory() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemAvailable:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }
}
