package dev.candor.engine.cpu;

import java.util.Locale;

/**
 * Where the Java backend keeps a matrix that it uses in the checkpoint's own format (the ones it converts, q8_0 for
 * one, are always in memory of their own).
 */
public enum WeightMemory {
  /**
   * The checkpoint's memory-mapped pages, in place: nothing is copied, the page cache holds the file once for every
   * process that maps it, and loading takes the time to read the header.
   */
  MAPPED,
  /**
   * Copied once at load into the process's own memory (llama.cpp's {@code --no-mmap}): the copy is the process's
   * alone, and the file's pages are given back. On the virtual machines the benchmarks ran on, a mapped file's pages
   * streamed erratically where the process's own memory did not (README, "Mapped or copied weights").
   */
  COPIED;

  /** The name reports and the benchmark's command lines use: mapped, copied. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The memory a {@link #label} names. */
  public static WeightMemory parse(String label) {
    for (WeightMemory m : values()) {
      if (m.label().equals(label)) {
        return m;
      }
    }
    throw new IllegalArgumentException("weight memory must be mapped or copied, got '" + label + "'");
  }
}
