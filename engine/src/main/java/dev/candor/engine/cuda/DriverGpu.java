package dev.candor.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Gpu} on the CUDA driver API: the device's primary context, one non-blocking stream, and the kernels of
 * candor.cu from the fatbin that the build compiled with nvcc (sm_80, sm_89, sm_90 and PTX for newer GPUs) and packed
 * into the jar. Not thread-safe: one thread at a time, as the backend uses it; any thread may be that thread.
 */
public final class DriverGpu implements Gpu {
  /** Where the build puts the kernels (see bin/build-kernels). */
  public static final String KERNELS = "/dev/candor/engine/cuda/candor.fatbin";

  private final CudaDriver cuda;
  private final int device;
  private final MemorySegment context;
  private final MemorySegment stream;
  private final MemorySegment module;
  private final Map<String, DriverKernel> kernels = new HashMap<>();
  private final String name;
  private boolean closed;

  private record DriverKernel(String name, MemorySegment function) implements Kernel {}

  private DriverGpu(CudaDriver cuda, int device) {
    this.cuda = cuda;
    this.device = device;
    byte[] image = kernelImage(); // before anything is held: no kernels, nothing to give back
    this.context = cuda.handleOut("cuDevicePrimaryCtxRetain", device);
    MemorySegment created = null;
    try (Arena arena = Arena.ofConfined()) {
      cuda.call("cuCtxSetCurrent", context);
      created = cuda.handleOut("cuStreamCreate", CudaDriver.CU_STREAM_NON_BLOCKING);
      MemorySegment bytes = arena.allocate(image.length + 1L, 64);
      MemorySegment.copy(MemorySegment.ofArray(image), 0, bytes, 0, image.length);
      // fails with CUDA_ERROR_NO_BINARY_FOR_GPU on a GPU older than sm_80
      this.module = cuda.handleOut("cuModuleLoadData", bytes);
    } catch (RuntimeException e) {
      if (created != null) {
        cuda.call("cuStreamDestroy_v2", created);
      }
      cuda.call("cuDevicePrimaryCtxRelease_v2", device);
      throw e;
    }
    this.stream = created;
    int major = cuda.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    int minor = cuda.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    this.name = cuda.deviceName(device) + " (sm_" + major + minor + ", driver "
        + cuda.driverVersion() / 1000 + "." + cuda.driverVersion() % 1000 / 10 + ")";
  }

  /** GPU {@code ordinal}, with a clear error when there is no driver, no such GPU, or no kernels in this build. */
  public static DriverGpu open(int ordinal) {
    CudaDriver cuda = CudaDriver.get();
    int count = cuda.deviceCount();
    if (ordinal < 0 || ordinal >= count) {
      throw new CudaException("no CUDA GPU " + ordinal + ": the driver sees " + count);
    }
    return new DriverGpu(cuda, cuda.intOut("cuDeviceGet", ordinal));
  }

  /** True when the build packed compiled kernels into the jar (nvcc was there). */
  public static boolean hasKernels() {
    return DriverGpu.class.getResource(KERNELS) != null;
  }

  private static byte[] kernelImage() {
    try (InputStream in = DriverGpu.class.getResourceAsStream(KERNELS)) {
      if (in == null) {
        throw new CudaException("this build of Candor has no CUDA kernels (" + KERNELS + "): nvcc was not on PATH when"
            + " it was built. Install the CUDA toolkit and rebuild (make build) to use the cuda backend");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new CudaException("cannot read the CUDA kernels: " + e.getMessage(), e);
    }
  }

  private void current() {
    cuda.call("cuCtxSetCurrent", context);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long alloc(long bytes) {
    current();
    long address = cuda.longOut("cuMemAlloc_v2", Math.max(bytes, 1));
    cuda.call("cuMemsetD8Async", address, (byte) 0, bytes, stream);
    return address;
  }

  @Override
  public void free(long address) {
    current();
    cuda.call("cuMemFree_v2", address);
  }

  @Override
  public void upload(long dst, MemorySegment src) {
    current();
    if (!src.isNative()) { // a Java array: the driver needs native memory
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment staged = arena.allocate(src.byteSize(), 64);
        staged.copyFrom(src);
        cuda.call("cuMemcpyHtoDAsync_v2", dst, staged, src.byteSize(), stream);
        cuda.call("cuStreamSynchronize", stream);
      }
      return;
    }
    cuda.call("cuMemcpyHtoDAsync_v2", dst, src, src.byteSize(), stream);
  }

  @Override
  public void download(MemorySegment dst, long src) {
    current();
    if (!dst.isNative()) { // a Java array: the driver needs native memory
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment staged = arena.allocate(dst.byteSize(), 64);
        cuda.call("cuMemcpyDtoHAsync_v2", staged, src, dst.byteSize(), stream);
        cuda.call("cuStreamSynchronize", stream);
        dst.copyFrom(staged);
      }
      return;
    }
    cuda.call("cuMemcpyDtoHAsync_v2", dst, src, dst.byteSize(), stream);
    cuda.call("cuStreamSynchronize", stream);
  }

  @Override
  public void copy(long dst, long src, long bytes) {
    cuda.call("cuMemcpyDtoDAsync_v2", dst, src, bytes, stream);
  }

  @Override
  public Kernel kernel(String kernelName) {
    return kernels.computeIfAbsent(kernelName, n -> {
      current();
      try (Arena arena = Arena.ofConfined()) {
        return new DriverKernel(n, cuda.handleOut("cuModuleGetFunction", module, arena.allocateFrom(n)));
      }
    });
  }

  @Override
  public void launch(Kernel kernel, Grid grid, int threads, Object... args) {
    try (Arena arena = Arena.ofConfined()) {
      cuda.call("cuLaunchKernel", ((DriverKernel) kernel).function(), grid.x(), grid.y(), grid.z(), threads, 1, 1, 0,
          stream, Gpu.kernelParams(arena, args), MemorySegment.NULL);
    }
  }

  private Cublas cublas;
  private boolean cublasTried;

  /** cuBLAS, loaded on first use; null (said once on stderr) when it cannot be. */
  private Cublas cublas() {
    if (!cublasTried) {
      cublasTried = true;
      current();
      List<String> why = new ArrayList<>();
      cublas = Cublas.load(why);
      if (cublas == null) {
        System.getLogger(DriverGpu.class.getName()).log(System.Logger.Level.WARNING,
            "no cuBLAS (" + String.join("; ", why) + "): long prompts are prefilled in chunks of 8 by Candor's"
                + " kernels; set CANDOR_CUBLAS to libcublas.so's path to use it");
      }
    }
    return cublas;
  }

  /** The cuBLAS library in use, or null. */
  public String gemmLibrary() {
    return cublas() == null ? null : cublas.library();
  }

  @Override
  public boolean hasGemm() {
    return cublas() != null;
  }

  @Override
  public void gemm(long w, long x, long y, int rows, int in, int n, boolean accumulate) {
    Cublas library = cublas();
    if (library == null) {
      throw new CudaException("no cuBLAS on this machine");
    }
    library.gemm(stream, w, x, y, rows, in, n, accumulate);
  }

  @Override
  public Graph capture(Runnable work) {
    current();
    cuda.call("cuStreamBeginCapture_v2", stream, CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    RuntimeException failure = null;
    try {
      work.run();
    } catch (RuntimeException e) {
      failure = e;
    }
    MemorySegment graph; // capture must end, failed or not, or the stream stays in capture mode
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      cuda.call("cuStreamEndCapture", stream, out);
      graph = out.get(ADDRESS, 0);
    }
    if (failure != null) {
      if (!graph.equals(MemorySegment.NULL)) {
        cuda.call("cuGraphDestroy", graph);
      }
      throw failure;
    }
    MemorySegment exec;
    try {
      exec = cuda.handleOut("cuGraphInstantiateWithFlags", graph, 0L);
    } finally {
      cuda.call("cuGraphDestroy", graph);
    }
    return new Graph() {
      private boolean closed;

      @Override
      public void replay() {
        cuda.call("cuGraphLaunch", exec, stream);
      }

      @Override
      public void close() {
        if (!closed) {
          closed = true;
          current();
          cuda.call("cuGraphExecDestroy", exec);
        }
      }
    };
  }

  @Override
  public void synchronize() {
    current();
    cuda.call("cuStreamSynchronize", stream);
  }

  /** Milliseconds {@code work} takes on the stream, between two events (work is queued, then waited for). */
  public float time(Runnable work) {
    current();
    MemorySegment start = cuda.handleOut("cuEventCreate", 0);
    MemorySegment end = cuda.handleOut("cuEventCreate", 0);
    try {
      cuda.call("cuEventRecord", start, stream);
      work.run();
      cuda.call("cuEventRecord", end, stream);
      cuda.call("cuEventSynchronize", end);
      return cuda.floatOut("cuEventElapsedTime_v2", start, end);
    } finally {
      cuda.call("cuEventDestroy_v2", start);
      cuda.call("cuEventDestroy_v2", end);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    current();
    cuda.call("cuStreamSynchronize", stream);
    if (cublas != null) {
      cublas.close();
    }
    cuda.call("cuModuleUnload", module);
    cuda.call("cuStreamDestroy_v2", stream);
    cuda.call("cuDevicePrimaryCtxRelease_v2", device);
  }
}
