package dev.candor.engine.testing;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import dev.candor.engine.model.Backend;
import dev.candor.engine.djl.DjlBackend;
import java.lang.reflect.Field;
import java.util.Map;

/** Counts the native arrays a backend holds, for tests that check nothing outlives a decode step or a request. */
public final class NativeArrays {
  private NativeArrays() {}

  /** Arrays attached to a DJL backend's manager and its sub-managers; 0 for a backend that has none (Java). */
  public static int live(Backend backend) throws ReflectiveOperationException {
    if (!(backend instanceof DjlBackend)) {
      return 0;
    }
    Field manager = DjlBackend.class.getDeclaredField("manager");
    manager.setAccessible(true);
    return live((NDManager) manager.get(backend));
  }

  /** Arrays attached to a manager and all its sub-managers (DJL keeps them in a protected map). */
  public static int live(NDManager manager) throws ReflectiveOperationException {
    Field resources = BaseNDManager.class.getDeclaredField("resources");
    resources.setAccessible(true);
    int count = 0;
    for (Object r : ((Map<?, ?>) resources.get(manager)).values()) {
      count += r instanceof NDManager child ? live(child) : 1;
    }
    return count;
  }
}
