package dev.candor.engine.fuzz;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * What the fuzz targets share: the Qwen2.5 tokenizer and chat template, a small served model, a scratch directory,
 * and an allocation budget. Everything heavy is loaded once per JVM (a fuzzing run calls a target millions of times).
 *
 * <p>A target fails (and Jazzer reports a finding) on any exception it does not list as expected, on a broken
 * invariant (an {@link AssertionError}), and, through {@link #withinBudget}, on an input that makes the code under
 * test allocate far more than the input's size justifies.
 */
final class Fuzzing {
  private Fuzzing() {}

  /** Shape of the served model (Qwen2.5's full vocabulary, so every tokenizer id is a valid prompt id). */
  static final Qwen2Config MODEL = new Qwen2Config(16, 24, 1, 2, 1, 8, 1e-6, 10000, 151936, 1024, true, DType.F32);

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private static final class Qwen {
    static final Tokenizer TOKENIZER = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
    static final ChatTemplate TEMPLATE =
        ChatTemplate.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer_config.json"));
  }

  private static final class Served {
    static final LoadedModel MODEL = LoadedModel.load(TestCheckpoints.write("fuzz-served", Fuzzing.MODEL, 11, DType.BF16,
        0, TestCheckpoints.qwenTokenizer()), "cpu").withName("candor-fuzz");
  }

  /**
   * Where the file targets write their inputs, one file per execution: in memory (/dev/shm) where the machine has it,
   * since writing and mapping a file on a disk-backed /tmp cost several times the parsing it feeds; else java.io.tmpdir.
   */
  private static final class Scratch {
    static final Path DIR;

    static {
      try {
        Path shm = Path.of("/dev/shm");
        DIR = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "candor-fuzz-")
            : Files.createTempDirectory("candor-fuzz-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      DIR.toFile().deleteOnExit();
    }
  }

  static Tokenizer qwenTokenizer() {
    return Qwen.TOKENIZER;
  }

  static ChatTemplate qwenTemplate() {
    return Qwen.TEMPLATE;
  }

  /** A small random checkpoint with the Qwen2.5 tokenizer and chat template, loaded on the CPU. */
  static LoadedModel servedModel() {
    return Served.MODEL;
  }

  /** A file in this JVM's scratch directory (overwritten by every call with the same name), deleted at exit. */
  static Path scratchFile(String name, byte[] content) {
    Path file = Scratch.DIR.resolve(name);
    try {
      Files.write(file, content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    file.toFile().deleteOnExit();
    return file;
  }

  static Path scratchDir() {
    return Scratch.DIR;
  }

  /** Bytes this thread has allocated so far (JVM heap; native memory is not counted). */
  static long allocatedBytes() {
    return THREADS.getCurrentThreadAllocatedBytes();
  }

  /**
   * Runs {@code action} and fails if this thread allocated more than {@code limit} bytes in it. Garbage counts too, so
   * the bound also catches work far out of proportion to the input. Loading a class (and, in fuzzing mode, Jazzer
   * instrumenting it) allocates in the thread that first uses it, so an action over the limit is measured once more,
   * warm, before it counts as a finding; {@code action} must therefore be repeatable.
   */
  static <T> T withinBudget(String what, long limit, Supplier<T> action) {
    long start = allocatedBytes();
    T result = action.get();
    long used = allocatedBytes() - start;
    if (used > limit) {
      start = allocatedBytes();
      result = action.get();
      used = allocatedBytes() - start;
      if (used > limit) {
        throw new AssertionError(what + " allocated " + used + " bytes, over its budget of " + limit);
      }
    }
    return result;
  }

  static void withinBudget(String what, long limit, Runnable action) {
    withinBudget(what, limit, () -> {
      action.run();
      return null;
    });
  }

  static void check(boolean ok, String message) {
    if (!ok) {
      throw new AssertionError(message);
    }
  }

  /**
   * {@link #check(boolean, String)} with the message built only on failure: a per-token check whose message quotes
   * the whole input costs O(n) each time, O(n²) over the input, and would count against an allocation budget.
   */
  static void check(boolean ok, java.util.function.Supplier<String> message) {
    if (!ok) {
      throw new AssertionError(message.get());
    }
  }

  /** Little-endian 32-bit ints from {@code b}, four bytes each (a trailing partial int is dropped). */
  static int[] ints(byte[] b) {
    int[] out = new int[b.length / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = (b[4 * i] & 0xff) | (b[4 * i + 1] & 0xff) << 8 | (b[4 * i + 2] & 0xff) << 16 | (b[4 * i + 3] & 0xff) << 24;
    }
    return out;
  }
}
