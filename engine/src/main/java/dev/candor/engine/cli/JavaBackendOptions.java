package dev.candor.engine.cli;

import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.cpu.WeightMemory;
import dev.candor.engine.model.WeightFormat;
import picocli.CommandLine.Option;

/** The Java backend's options, shared by {@code serve} and {@code generate} (a picocli mixin). */
final class JavaBackendOptions {
  @Option(names = "--weights", defaultValue = "native",
      description = "java backend: native (the checkpoint's own types, used in place), q8_0 (8-bit, quantized at"
          + " load), f32, f16 or bf16")
  String weights;

  @Option(names = "--threads",
      description = "java backend: threads for the matrix products (default: the cores, ${DEFAULT-VALUE})")
  int threads = JavaBackend.defaultThreads();

  @Option(names = "--no-mmap", description = "java backend: copy the weights into the process's own memory at load"
      + " instead of using the mapped checkpoint in place, as llama.cpp's --no-mmap (a copy per process, a slower"
      + " load; see the README's \"Mapped or copied weights\")")
  boolean noMmap;

  /** What was asked for, checked: an unknown weight format or a thread count below 1 is refused. */
  JavaBackend.Options options() {
    return new JavaBackend.Options(WeightFormat.parse(weights), noMmap ? WeightMemory.COPIED : WeightMemory.MAPPED,
        threads);
  }
}
