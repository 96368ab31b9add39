package dev.candor.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The one cuBLAS call the backend makes, a BF16 GEMM with FP32 output and accumulation (cublasGemmEx), through FFM.
 * cuBLAS is found at {@code $CANDOR_CUBLAS} (a file), else as libcublas.so.13 or .so.12 on the library path; without
 * it, {@link #load} returns null and prefill runs on Candor's own kernels.
 */
final class Cublas {
  private static final int CUBLAS_OP_N = 0;
  private static final int CUBLAS_OP_T = 1;
  private static final int CUDA_R_32F = 0;
  private static final int CUDA_R_16BF = 14;
  private static final int CUBLAS_COMPUTE_32F = 68;
  private static final int CUBLAS_GEMM_DEFAULT = -1;

  private final MethodHandle setStream;
  private final MethodHandle gemmEx;
  private final MethodHandle destroy;
  private final MemorySegment handle;
  private final String library;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment one = arena.allocateFrom(JAVA_FLOAT, 1f);
  private final MemorySegment zero = arena.allocateFrom(JAVA_FLOAT, 0f);

  private Cublas(SymbolLookup lookup, String library) throws Throwable {
    Linker linker = Linker.nativeLinker();
    MethodHandle create = linker.downcallHandle(lookup.find("cublasCreate_v2").orElseThrow(),
        FunctionDescriptor.of(JAVA_INT, ADDRESS));
    setStream = linker.downcallHandle(lookup.find("cublasSetStream_v2").orElseThrow(),
        FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    destroy = linker.downcallHandle(lookup.find("cublasDestroy_v2").orElseThrow(),
        FunctionDescriptor.of(JAVA_INT, ADDRESS));
    gemmEx = linker.downcallHandle(lookup.find("cublasGemmEx").orElseThrow(),
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS,
            JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    MemorySegment out = arena.allocate(ADDRESS);
    check("cublasCreate_v2", (int) create.invokeExact(out));
    this.handle = out.get(ADDRESS, 0);
    this.library = library;
  }

  /** cuBLAS, with its handle on the current context, or null (with the reasons in {@code why}) when it cannot load. */
  static Cublas load(List<String> why) {
    List<String> candidates = new ArrayList<>();
    String explicit = System.getenv("CANDOR_CUBLAS");
    if (explicit != null && !explicit.isBlank()) {
      candidates.add(explicit);
    }
    candidates.add("libcublas.so.13");
    candidates.add("libcublas.so.12");
    return load(candidates, why);
  }

  /** The first of {@code candidates} (paths or library names) that loads. */
  static Cublas load(List<String> candidates, List<String> why) {
    for (String name : candidates) {
      try {
        SymbolLookup lookup = SymbolLookup.libraryLookup(name, Arena.global());
        return new Cublas(lookup, name);
      } catch (Throwable e) {
        why.add(name + ": " + e.getMessage());
      }
    }
    return null;
  }

  String library() {
    return library;
  }

  /**
   * y[t][r] (+)= Σ_i w[r][i] · x[t][i] on {@code stream}: w BF16 [rows, in], x BF16 [n, in], y FP32 [n, rows], all
   * row-major. In cuBLAS's column-major terms, C (rows × n, ldc rows) = Wᵀ-op of A (in × rows, lda in) times B
   * (in × n, ldb in).
   */
  void gemm(MemorySegment stream, long w, long x, long y, int rows, int in, int n, boolean accumulate) {
    MemorySegment beta = accumulate ? one : zero; // typed here: invokeExact would see a conditional as Object
    try {
      check("cublasSetStream_v2", (int) setStream.invokeExact(handle, stream));
      check("cublasGemmEx", (int) gemmEx.invokeExact(handle, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, in, one,
          MemorySegment.ofAddress(w), CUDA_R_16BF, in, MemorySegment.ofAddress(x), CUDA_R_16BF, in, beta,
          MemorySegment.ofAddress(y), CUDA_R_32F, rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    } catch (CudaException e) {
      throw e;
    } catch (Throwable e) {
      throw new CudaException("cuBLAS could not be called: " + e, e);
    }
  }

  void close() {
    try {
      int ignored = (int) destroy.invokeExact(handle);
    } catch (Throwable e) {
      // closing: nothing to do about it
    }
    arena.close();
  }

  private static void check(String call, int status) {
    if (status != 0) {
      throw new CudaException(call + " failed with cuBLAS status " + status);
    }
  }
}
