package dev.candor.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The driver bindings, as far as a machine without a GPU can check them. */
class CudaDriverTest {

  static boolean driverPresent() {
    try {
      SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Test
  void withoutAnNvidiaDriverTheErrorSaysSo() {
    Assumptions.assumeFalse(driverPresent(), "this machine has an NVIDIA driver");
    CudaException e = assertThrows(CudaException.class, CudaDriver::get);
    assertTrue(e.getMessage().startsWith("no NVIDIA driver: libcuda.so.1 cannot be loaded"), e.getMessage());
    // and the backend says the same when asked for a GPU
    assertThrows(CudaException.class, () -> DriverGpu.open(0));
  }

  /**
   * Every symbol bound is one the CUDA headers export under that exact name: cuda.h maps most calls to versioned
   * symbols (cuMemAlloc is cuMemAlloc_v2), and binding the unversioned name would get the legacy ABI or nothing.
   */
  @Test
  void everyBoundSymbolIsExportedUnderThatNameByCudaH() throws IOException {
    Path header = List.of(Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda")), Path.of("/usr"))
        .stream().map(p -> p.resolve("include/cuda.h")).filter(Files::exists).findFirst().orElse(null);
    Assumptions.assumeTrue(header != null, "no CUDA toolkit headers (cuda.h) on this machine");
    String text = Files.readString(header);
    // #define cuMemAlloc cuMemAlloc_v2, or #define cuLaunchKernel __CUDA_API_PTSZ(cuLaunchKernel)
    java.util.Map<String, String> renamed = new java.util.HashMap<>();
    Matcher define = Pattern.compile("(?m)^\\s*#define\\s+(cu\\w+)\\s+(?:__CUDA_API_PT\\w+\\()?(cu\\w+)\\)?\\s*$")
        .matcher(text);
    while (define.find()) {
      renamed.putIfAbsent(define.group(1), define.group(2));
    }
    Set<String> exported = new HashSet<>();
    Matcher declaration = Pattern.compile("CUresult\\s+CUDAAPI\\s+(cu\\w+)\\s*\\(").matcher(text);
    while (declaration.find()) {
      exported.add(renamed.getOrDefault(declaration.group(1), declaration.group(1)));
    }
    for (String symbol : CudaDriver.SYMBOLS.keySet()) {
      assertTrue(exported.contains(symbol), symbol + " is not a symbol cuda.h exports");
    }
    assertEquals("cuMemAlloc_v2", renamed.get("cuMemAlloc"), "the header parse itself");
  }

  static boolean nvccOnPath() {
    try {
      Process p = new ProcessBuilder("nvcc", "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** The build (bin/build-kernels) packed a cubin of every kernel for each architecture it targets. */
  @Test
  void theBuildPackedEveryKernelForEachArchitecture() throws IOException {
    if (nvccOnPath()) { // build-kernels lets a failed compile pass, for users: here it must not have failed
      assertTrue(DriverGpu.hasKernels(),
          "nvcc is on the PATH but the build packed no kernels: see build-kernels' output");
    }
    Assumptions.assumeTrue(DriverGpu.hasKernels(), "built without nvcc: no kernels to check");
    byte[] image;
    try (var in = DriverGpu.class.getResourceAsStream(DriverGpu.KERNELS)) {
      image = in.readAllBytes();
    }
    String text = new String(image, java.nio.charset.StandardCharsets.ISO_8859_1);
    for (String arch : List.of("sm_80", "sm_89", "sm_90")) {
      assertTrue(text.contains("-arch " + arch + " "), "no cubin for " + arch);
    }
    for (String kernel : CudaBackend.KERNELS) {
      int count = 0;
      for (int at = text.indexOf("\0" + kernel + "\0"); at >= 0; at = text.indexOf("\0" + kernel + "\0", at + 1)) {
        count++;
      }
      assertTrue(count >= 3, kernel + " is in " + count + " of the three cubins");
    }
  }

  /** Without cuBLAS the GEMM prefill is off, and the reasons name every library tried. */
  @Test
  void withoutCublasLoadingSaysWhatItTried() {
    java.util.List<String> why = new java.util.ArrayList<>();
    Cublas cublas = Cublas.load(why);
    Assumptions.assumeTrue(cublas == null, "this machine has cuBLAS");
    assertTrue(why.stream().anyMatch(w -> w.startsWith("libcublas.so.13:")), why.toString());
    assertTrue(why.stream().anyMatch(w -> w.startsWith("libcublas.so.12:")), why.toString());
  }
}
