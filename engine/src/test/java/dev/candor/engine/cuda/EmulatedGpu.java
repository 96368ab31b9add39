package dev.candor.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@link Gpu} on the CPU: device memory is host memory, and kernels are candor.cu compiled for the host with
 * emu/cuda_emu.h, every CUDA thread a fiber (see emu/emu.cpp). Built with g++ on first use into target/emu/. Graph
 * capture records the launches and copies and replays them, as a CUDA graph does.
 */
final class EmulatedGpu implements Gpu {
  private static final Linker LINKER = Linker.nativeLinker();
  private static MethodHandle launch;
  private static MethodHandle error;

  private final Map<Long, Arena> allocations = new HashMap<>();
  private List<Runnable> recording;
  private int captures;

  private record EmuKernel(String name, MemorySegment cName) implements Kernel {}

  /** Null when this machine cannot build the emulator (no g++, or not x86-64), with the reason in {@link #why}. */
  static synchronized EmulatedGpu open() {
    if (launch == null) {
      Path library = build();
      SymbolLookup lookup = SymbolLookup.libraryLookup(library, Arena.global());
      launch = LINKER.downcallHandle(lookup.find("candor_emu_launch").orElseThrow(),
          FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
              JAVA_INT, ADDRESS));
      error = LINKER.downcallHandle(lookup.find("candor_emu_error").orElseThrow(), FunctionDescriptor.of(ADDRESS));
    }
    return new EmulatedGpu();
  }

  /** Why the emulator cannot run here, or null if it can. */
  static String why() {
    if (!System.getProperty("os.arch").equals("amd64")) {
      return "the kernel emulator switches fibers in x86-64 assembly; this is " + System.getProperty("os.arch");
    }
    try {
      Process p = new ProcessBuilder("g++", "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0 ? null : "g++ --version failed";
    } catch (IOException | InterruptedException e) {
      return "no g++ to build the kernel emulator: " + e.getMessage();
    }
  }

  /** Compiles emu.cpp (with candor.cu) unless the library is newer than every source. */
  private static Path build() {
    Path sources = cudaSources();
    return build(sources, sources.resolve("emu/emu.cpp"), "libcandor_emu.so");
  }

  /** Compiles {@code source} into target/emu/{@code name} with g++, unless it is newer than all of {@code sources}. */
  static Path build(Path sources, Path source, String name) {
    Path out = Path.of("target", "emu", name).toAbsolutePath();
    try {
      FileTime newest;
      try (Stream<Path> files = Files.walk(sources)) {
        newest = files.filter(Files::isRegularFile).map(EmulatedGpu::modified).max(FileTime::compareTo).orElseThrow();
      }
      if (Files.exists(out) && modified(out).compareTo(newest) > 0) {
        return out;
      }
      Files.createDirectories(out.getParent());
      Path tmp = out.resolveSibling(name + ".tmp");
      // warnings are shown, not fatal: another compiler's new warning must not fail the tests
      // -fno-strict-aliasing: the kernels read BF16 pairs as wider words through casts, as CUDA allows
      Process p = new ProcessBuilder("g++", "-O2", "-std=c++17", "-fno-strict-aliasing", "-shared", "-fPIC", "-Wall",
          "-Wno-unknown-pragmas", "-o", tmp.toString(), source.toString())
          .redirectErrorStream(true).start();
      String log = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("building " + name + " failed:\n" + log);
      }
      Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static FileTime modified(Path p) {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path cudaSources() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      for (Path candidate : List.of(p.resolve("src/main/cuda"), p.resolve("engine/src/main/cuda"))) {
        if (Files.exists(candidate.resolve("candor.cu"))) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException("engine/src/main/cuda not found");
  }

  /** Graphs captured so far. */
  int captures() {
    return captures;
  }

  @Override
  public String name() {
    return "kernel emulator (CPU)";
  }

  @Override
  public long alloc(long bytes) {
    Arena arena = Arena.ofShared();
    long address = arena.allocate(Math.max(bytes, 1), 256).address(); // allocate zeroes
    allocations.put(address, arena);
    return address;
  }

  @Override
  public void free(long address) {
    Arena arena = allocations.remove(address);
    if (arena == null) {
      throw new IllegalArgumentException("free of " + Long.toHexString(address) + ", which is not allocated");
    }
    arena.close();
  }

  private MemorySegment at(long address, long bytes) {
    return MemorySegment.ofAddress(address).reinterpret(bytes);
  }

  @Override
  public void upload(long dst, MemorySegment src) {
    check(recording == null, "upload during capture");
    MemorySegment.copy(src, 0, at(dst, src.byteSize()), 0, src.byteSize());
  }

  @Override
  public void download(MemorySegment dst, long src) {
    check(recording == null, "download during capture");
    MemorySegment.copy(at(src, dst.byteSize()), 0, dst, 0, dst.byteSize());
  }

  @Override
  public void copy(long dst, long src, long bytes) {
    run(() -> MemorySegment.copy(at(src, bytes), 0, at(dst, bytes), 0, bytes));
  }

  @Override
  public Kernel kernel(String name) {
    return new EmuKernel(name, Arena.global().allocateFrom(name));
  }

  /** Kernel launches run so far, directly or in graph replays. */
  long launches() {
    return launches;
  }

  private long launches;

  @Override
  public void launch(Kernel kernel, Grid grid, int threads, Object... args) {
    Object[] values = args.clone();
    run(() -> {
      launches++;
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment pointers = Gpu.kernelParams(arena, values);
        int result = (int) launch.invokeExact(((EmuKernel) kernel).cName(), grid.x(), grid.y(), grid.z(), threads, 1,
            1, 0, pointers);
        if (result != 0) {
          String message = ((MemorySegment) error.invokeExact()).reinterpret(1024).getString(0);
          throw new CudaException(kernel.name() + ": " + message);
        }
      } catch (CudaException | IllegalArgumentException e) {
        throw e;
      } catch (Throwable e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private void run(Runnable work) {
    if (recording != null) {
      recording.add(work);
    } else {
      work.run();
    }
  }

  private boolean gemm = true;
  private boolean brokenGemm;

  /** Whether this emulated GPU offers {@link #gemm} (tests turn it off to take the kernels-only path). */
  EmulatedGpu withGemm(boolean enabled) {
    gemm = enabled;
    return this;
  }

  /** A GEMM that transposes the wrong operand, as a wrong binding would: the backend must notice and not use it. */
  EmulatedGpu withBrokenGemm() {
    brokenGemm = true;
    return this;
  }

  @Override
  public boolean hasGemm() {
    return gemm;
  }

  /** cuBLAS's result, computed plainly: BF16 inputs, sums in double, FP32 out. */
  @Override
  public void gemm(long w, long x, long y, int rows, int in, int n, boolean accumulate) {
    check(gemm, "gemm on an emulated GPU without it");
    run(() -> {
      MemorySegment weights = at(w, 2L * rows * in);
      MemorySegment inputs = at(x, 2L * n * in);
      MemorySegment out = at(y, 4L * n * rows);
      for (int t = 0; t < n; t++) {
        for (int r = 0; r < rows; r++) {
          double sum = 0;
          for (int i = 0; i < in; i++) {
            long wi = brokenGemm ? (long) i * rows + r : (long) r * in + i;
            sum += (double) bf16(weights, wi) * bf16(inputs, (long) t * in + i);
          }
          long at = 4L * ((long) t * rows + r);
          float previous = accumulate ? out.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, at) : 0f;
          out.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, at, (float) (previous + sum));
        }
      }
    });
  }

  private static float bf16(MemorySegment s, long index) {
    return Float.intBitsToFloat((s.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 2 * index) & 0xffff) << 16);
  }

  @Override
  public Graph capture(Runnable work) {
    check(recording == null, "nested capture");
    captures++;
    List<Runnable> recorded = new ArrayList<>();
    recording = recorded;
    try {
      work.run();
    } finally {
      recording = null;
    }
    return new Graph() {
      @Override
      public void replay() {
        recorded.forEach(Runnable::run);
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public void synchronize() {}

  @Override
  public void close() {
    allocations.values().forEach(Arena::close);
    allocations.clear();
  }

  /** Device memory still allocated, in blocks. */
  int liveAllocations() {
    return allocations.size();
  }

  private static void check(boolean condition, String what) {
    if (!condition) {
      throw new IllegalStateException(what + " is not allowed: a CUDA graph cannot hold it");
    }
  }
}
