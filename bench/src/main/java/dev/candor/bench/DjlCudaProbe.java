package dev.candor.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Tries DJL's own CUDA path: the PyTorch engine on GPU 0, one matrix product, the result back on the host. Prints
 * what happened either way (bench/gpu/run.sh records it): which PyTorch library DJL found, or why it failed.
 */
public final class DjlCudaProbe {
  public static void main(String[] args) {
    try {
      Engine engine = Engine.getEngine("PyTorch");
      System.out.println("engine: " + engine.getEngineName() + " " + engine.getVersion() + ", GPUs: "
          + engine.getGpuCount());
      try (NDManager manager = NDManager.newBaseManager(Device.gpu(0))) {
        NDArray a = manager.randomNormal(new ai.djl.ndarray.types.Shape(1024, 1024));
        float sum = a.matMul(a).sum().getFloat();
        System.out.println("djl-cuda: works (1024x1024 matmul on " + a.getDevice() + ", sum " + sum + ")");
      }
    } catch (Throwable e) {
      System.out.println("djl-cuda: fails: " + e);
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        System.out.println("  caused by " + c);
      }
    }
  }
}
