package dev.candor.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The CUDA driver API ({@code libcuda.so.1}, which comes with the NVIDIA driver) through Java's FFM API: no JNI glue,
 * nothing to compile, loaded when first used. Each method is the C function of the same name (the ABI version the
 * driver exports, e.g. {@code cuMemAlloc_v2} for {@code cuMemAlloc}) and throws {@link CudaException} with CUDA's
 * error name and text when it does not return CUDA_SUCCESS.
 *
 * <p>Handles (contexts, streams, modules, functions, graphs, events) are opaque pointers, held as MemorySegments;
 * device pointers are longs.
 */
public final class CudaDriver {
  public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
  public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
  public static final int CU_STREAM_NON_BLOCKING = 1;
  public static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

  /** Every symbol bound, by its C name: the test checks them against cuda.h. */
  static final Map<String, FunctionDescriptor> SYMBOLS = new LinkedHashMap<>();

  private static final Linker LINKER = Linker.nativeLinker();
  private static final FunctionDescriptor RESULT = FunctionDescriptor.of(JAVA_INT);

  static {
    bind("cuInit", JAVA_INT);
    bind("cuDriverGetVersion", ADDRESS);
    bind("cuDeviceGetCount", ADDRESS);
    bind("cuDeviceGet", ADDRESS, JAVA_INT);
    bind("cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
    bind("cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
    bind("cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
    bind("cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
    bind("cuDevicePrimaryCtxRelease_v2", JAVA_INT);
    bind("cuCtxSetCurrent", ADDRESS);
    bind("cuCtxSynchronize");
    bind("cuMemAlloc_v2", ADDRESS, JAVA_LONG);
    bind("cuMemFree_v2", JAVA_LONG);
    bind("cuMemsetD8Async", JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS);
    bind("cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
    bind("cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
    bind("cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
    bind("cuStreamCreate", ADDRESS, JAVA_INT);
    bind("cuStreamSynchronize", ADDRESS);
    bind("cuStreamDestroy_v2", ADDRESS);
    bind("cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
    bind("cuStreamEndCapture", ADDRESS, ADDRESS);
    bind("cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
    bind("cuGraphLaunch", ADDRESS, ADDRESS);
    bind("cuGraphDestroy", ADDRESS);
    bind("cuGraphExecDestroy", ADDRESS);
    bind("cuModuleLoadData", ADDRESS, ADDRESS);
    bind("cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
    bind("cuModuleUnload", ADDRESS);
    bind("cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
        ADDRESS, ADDRESS);
    bind("cuEventCreate", ADDRESS, JAVA_INT);
    bind("cuEventRecord", ADDRESS, ADDRESS);
    bind("cuEventSynchronize", ADDRESS);
    bind("cuEventElapsedTime_v2", ADDRESS, ADDRESS, ADDRESS);
    bind("cuEventDestroy_v2", ADDRESS);
    bind("cuGetErrorName", JAVA_INT, ADDRESS);
    bind("cuGetErrorString", JAVA_INT, ADDRESS);
  }

  private static void bind(String name, java.lang.foreign.MemoryLayout... args) {
    SYMBOLS.put(name, RESULT.appendArgumentLayouts(args));
  }

  private static volatile CudaDriver instance;

  private final Map<String, MethodHandle> handles = new LinkedHashMap<>();

  private CudaDriver(SymbolLookup library) {
    for (var entry : SYMBOLS.entrySet()) {
      Optional<MemorySegment> address = library.find(entry.getKey());
      if (address.isEmpty()) {
        throw new CudaException("the NVIDIA driver's libcuda.so.1 has no " + entry.getKey()
            + ": Candor's CUDA backend needs a CUDA 12 or newer driver");
      }
      handles.put(entry.getKey(), LINKER.downcallHandle(address.get(), entry.getValue()));
    }
  }

  /**
   * The driver, loaded and initialised once per process. Fails with a clear message when there is no NVIDIA driver
   * (no libcuda.so.1), or it finds no GPU.
   */
  public static CudaDriver get() {
    CudaDriver driver = instance;
    if (driver == null) {
      synchronized (CudaDriver.class) {
        if (instance == null) {
          SymbolLookup library;
          try {
            library = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
          } catch (IllegalArgumentException e) {
            throw new CudaException("no NVIDIA driver: libcuda.so.1 cannot be loaded (" + e.getMessage()
                + "); the cuda backend needs an NVIDIA GPU and its driver", e);
          }
          CudaDriver loaded = new CudaDriver(library);
          loaded.call("cuInit", 0);
          instance = loaded;
        }
        driver = instance;
      }
    }
    return driver;
  }

  /** Calls C function {@code name}; a result other than CUDA_SUCCESS becomes a CudaException. */
  void call(String name, Object... args) {
    int result;
    try {
      result = (int) handles.get(name).invokeWithArguments(args);
    } catch (Throwable e) {
      throw new CudaException(name + " could not be called: " + e, e);
    }
    if (result != 0) {
      throw new CudaException(name + " failed: " + describe(result));
    }
  }

  /** "CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", from the driver itself. */
  String describe(int result) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment text = arena.allocate(ADDRESS);
      String name = "error " + result;
      if ((int) handles.get("cuGetErrorName").invokeExact(result, text) == 0) {
        name = text.get(ADDRESS, 0).reinterpret(256).getString(0) + " (" + result + ")";
      }
      if ((int) handles.get("cuGetErrorString").invokeExact(result, text) == 0) {
        name += ": " + text.get(ADDRESS, 0).reinterpret(1024).getString(0);
      }
      return name;
    } catch (Throwable e) {
      return "error " + result;
    }
  }

  // The calls that return a value through a pointer, their first argument.

  private <T> T out(java.lang.foreign.MemoryLayout layout, java.util.function.Function<MemorySegment, T> read,
      String name, Object... args) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(layout);
      call(name, prepend(out, args));
      return read.apply(out);
    }
  }

  int intOut(String name, Object... args) {
    return out(JAVA_INT, s -> s.get(JAVA_INT, 0), name, args);
  }

  long longOut(String name, Object... args) {
    return out(JAVA_LONG, s -> s.get(JAVA_LONG, 0), name, args);
  }

  MemorySegment handleOut(String name, Object... args) {
    return out(ADDRESS, s -> s.get(ADDRESS, 0), name, args);
  }

  float floatOut(String name, Object... args) {
    return out(JAVA_FLOAT, s -> s.get(JAVA_FLOAT, 0), name, args);
  }

  private static Object[] prepend(Object first, Object[] rest) {
    Object[] all = new Object[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  public int driverVersion() {
    return intOut("cuDriverGetVersion");
  }

  public int deviceCount() {
    return intOut("cuDeviceGetCount");
  }

  public String deviceName(int device) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment name = arena.allocate(256);
      call("cuDeviceGetName", name, 256, device);
      return name.getString(0);
    }
  }

  public int attribute(int device, int attribute) {
    return intOut("cuDeviceGetAttribute", attribute, device);
  }
}
