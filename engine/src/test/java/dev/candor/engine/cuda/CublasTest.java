package dev.candor.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.candor.engine.checkpoint.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Candor's cuBLAS binding against a stand-in library with cuBLAS's documented semantics (src/test/cuda/fake_cublas.cpp,
 * host memory): the FFM signatures are exercised, and the GEMM's transposes and leading dimensions must give the
 * row-major product the backend relies on.
 */
class CublasTest {
  @Test
  void theGemmComputesTheRowMajorProductTheBackendUses() {
    String why = EmulatedGpu.why();
    Assumptions.assumeTrue(why == null, why);
    Path sources = EmulatedGpu.cudaSources().resolveSibling("../test/cuda").normalize();
    Path library = EmulatedGpu.build(sources, sources.resolve("fake_cublas.cpp"), "libfake_cublas.so");
    List<String> reasons = new ArrayList<>();
    Cublas cublas = Cublas.load(List.of(library.toString()), reasons);
    assertNotNull(cublas, reasons.toString());
    int rows = 7, in = 12, n = 3;
    SplittableRandom random = new SplittableRandom(4);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment w = arena.allocate(2L * rows * in, 16);
      MemorySegment x = arena.allocate(2L * n * in, 16);
      MemorySegment y = arena.allocate(4L * n * rows, 16);
      float[][] wf = new float[rows][in];
      float[][] xf = new float[n][in];
      for (int r = 0; r < rows; r++) {
        for (int i = 0; i < in; i++) {
          short bits = DType.floatToBf16((float) random.nextGaussian());
          w.setAtIndex(ValueLayout.JAVA_SHORT, (long) r * in + i, bits);
          wf[r][i] = DType.bf16ToFloat(bits);
        }
      }
      for (int t = 0; t < n; t++) {
        for (int i = 0; i < in; i++) {
          short bits = DType.floatToBf16((float) random.nextGaussian());
          x.setAtIndex(ValueLayout.JAVA_SHORT, (long) t * in + i, bits);
          xf[t][i] = DType.bf16ToFloat(bits);
        }
      }
      for (int t = 0; t < n; t++) {
        for (int r = 0; r < rows; r++) {
          y.setAtIndex(ValueLayout.JAVA_FLOAT, (long) t * rows + r, 100f * t + r); // what accumulate adds to
        }
      }
      cublas.gemm(MemorySegment.NULL, w.address(), x.address(), y.address(), rows, in, n, true);
      for (int t = 0; t < n; t++) {
        for (int r = 0; r < rows; r++) {
          double expected = 100.0 * t + r;
          for (int i = 0; i < in; i++) {
            expected += (double) wf[r][i] * xf[t][i];
          }
          assertEquals(expected, y.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * rows + r), 1e-4,
              "y[" + t + "][" + r + "]");
        }
      }
      cublas.gemm(MemorySegment.NULL, w.address(), x.address(), y.address(), rows, in, n, false);
      double first = 0;
      for (int i = 0; i < in; i++) {
        first += (double) wf[0][i] * xf[0][i];
      }
      assertEquals(first, y.getAtIndex(ValueLayout.JAVA_FLOAT, 0), 1e-4, "without accumulate, y is overwritten");
    } finally {
      cublas.close();
    }
  }
}
