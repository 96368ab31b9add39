package dev.candor.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What {@link CudaBackend} needs of a GPU: memory, copies, kernel launches on one stream, and capturing that stream's
 * work into a graph to replay. {@link DriverGpu} implements it on the CUDA driver API; the tests' emulator implements
 * it on a CPU, running the same kernels (candor.cu), so the backend's logic is tested without a GPU.
 *
 * <p>Addresses are device pointers as longs. Launches and device copies are queued on the stream in order; uploads
 * and downloads are ordered with them, and a download returns when its data is on the host.
 */
public interface Gpu extends AutoCloseable {

  /** A kernel of candor.cu, by its extern "C" name. */
  interface Kernel {
    String name();
  }

  /** Work recorded by {@link #capture}, replayed as one launch. */
  interface Graph extends AutoCloseable {
    void replay();

    @Override
    void close();
  }

  /** A grid of blocks. */
  record Grid(int x, int y, int z) {
    public static Grid of(int x) {
      return new Grid(x, 1, 1);
    }
  }

  /**
   * A launch's arguments as the driver takes them (cuLaunchKernel's kernelParams): an array of pointers, each to one
   * argument's value, allocated in {@code arena}. Long for pointers, Integer for int, Float for float.
   */
  static MemorySegment kernelParams(Arena arena, Object... args) {
    MemorySegment values = arena.allocate(8L * Math.max(1, args.length), 8);
    MemorySegment pointers = arena.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
    for (int i = 0; i < args.length; i++) {
      MemorySegment slot = values.asSlice(8L * i, 8);
      switch (args[i]) {
        case Long l -> slot.set(ValueLayout.JAVA_LONG, 0, l);
        case Integer n -> slot.set(ValueLayout.JAVA_INT, 0, n);
        case Float f -> slot.set(ValueLayout.JAVA_FLOAT, 0, f);
        default -> throw new IllegalArgumentException("kernel argument of type " + args[i].getClass());
      }
      pointers.setAtIndex(ValueLayout.ADDRESS, i, slot);
    }
    return pointers;
  }

  /** What the GPU is, for logs and the backend's description. */
  String name();

  /** {@code bytes} of zeroed device memory, 256-byte aligned. */
  long alloc(long bytes);

  void free(long address);

  /** Host to device, queued behind the stream's work; {@code src} may be reused when this returns. */
  void upload(long dst, MemorySegment src);

  /** Device to host, after the stream's work; the data is in {@code dst} when this returns. */
  void download(MemorySegment dst, long src);

  /** Device to device, queued. */
  void copy(long dst, long src, long bytes);

  Kernel kernel(String name);

  /**
   * Queues {@code kernel} over {@code grid} with {@code threads} threads per block. Arguments, in the kernel's order:
   * Long for pointers, Integer for int, Float for float.
   */
  void launch(Kernel kernel, Grid grid, int threads, Object... args);

  /** True when {@link #gemm} is there (cuBLAS on a GPU); the backend then prefills long prompts through it. */
  boolean hasGemm();

  /**
   * y[t][r] (+)= Σ_i w[r][i] · x[t][i], queued: w BF16 [rows, in], x BF16 [n, in], y FP32 [n, rows], row-major, FP32
   * accumulation; with {@code accumulate}, y keeps its values and the product is added.
   */
  void gemm(long w, long x, long y, int rows, int in, int n, boolean accumulate);

  /** Runs {@code work} (launches and device copies only) into a graph instead of executing it. */
  Graph capture(Runnable work);

  /** Waits for the stream's work. */
  void synchronize();

  @Override
  void close();
}
