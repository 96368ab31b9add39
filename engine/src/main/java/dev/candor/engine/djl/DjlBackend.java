package dev.candor.engine.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.KvBlock;
import dev.candor.engine.model.Sequence;
import java.lang.foreign.Arena;

/**
 * The {@link Backend} on DJL's PyTorch engine: CPU (tested in CI) or CUDA where a CUDA libtorch is present. Weights
 * and the KV cache are float32 (on CPU, PyTorch's float16 matmul is ~22x slower than float32; BF16 cannot enter DJL
 * at all). Each forward runs inside an {@link NDScope}: every intermediate array is freed when the step ends.
 */
public final class DjlBackend implements Backend {
  private final Qwen2Config config;
  private final Device device;
  private final NDManager manager;
  private final Arena weightMemory;
  private final Qwen2Model model;

  private DjlBackend(Qwen2Config config, Device device, NDManager manager, Arena weightMemory, Qwen2Model model) {
    this.config = config;
    this.device = device;
    this.manager = manager;
    this.weightMemory = weightMemory;
    this.model = model;
  }

  /** Loads a checkpoint onto {@code device} ("cpu", "gpu", "gpu:1"). The checkpoint can be closed afterwards. */
  public static DjlBackend load(Checkpoint checkpoint, String device) {
    Device d = Device.fromName(device);
    NDManager manager = NDManager.newBaseManager(d, "PyTorch");
    Arena memory = Arena.ofShared();
    try {
      Qwen2Weights weights = Qwen2Weights.load(checkpoint.weights(), checkpoint.config(), manager, memory);
      if (d.isGpu()) {
        // Weights were staged in host memory; on a GPU PyTorch has copied them, so the staging can go.
        memory.close();
        memory = null;
      }
      return new DjlBackend(checkpoint.config(), d, manager, memory, new Qwen2Model(checkpoint.config(), weights, manager));
    } catch (RuntimeException | Error e) {
      manager.close();
      if (memory != null) {
        memory.close();
      }
      throw e;
    }
  }

  @Override
  public Qwen2Config config() {
    return config;
  }

  public Qwen2Model model() {
    return model;
  }

  @Override
  public String description() {
    return "djl-pytorch " + device.getDeviceType() + (device.isGpu() ? ":" + device.getDeviceId() : "") + " float32";
  }

  @Override
  public Sequence newSequence(int capacity) {
    if (capacity <= 0 || capacity > config.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("sequence capacity " + capacity + " outside 1.." + config.maxPositionEmbeddings());
    }
    return new DjlSequence(new KvCache(config, manager, capacity));
  }

  /** Bytes of weights one decode step must read. */
  public long weightBytesPerToken() {
    return model.weights().bytesReadPerToken();
  }

  @Override
  public void close() {
    manager.close();
    if (weightMemory != null) {
      weightMemory.close();
    }
  }

  private final class DjlSequence implements Sequence {
    private final KvCache cache;
    private boolean closed;

    DjlSequence(KvCache cache) {
      this.cache = cache;
    }

    @Override
    public int length() {
      return cache.length;
    }

    @Override
    public int capacity() {
      return cache.capacity;
    }

    @Override
    public Forward forward(int[] tokens, int numLogits, int... taps) {
      if (closed) {
        throw new IllegalStateException("sequence is closed");
      }
      Sequence.checkForward(config, cache.length, cache.capacity, tokens, numLogits, taps);
      int n = tokens.length;
      try (NDScope scope = new NDScope()) {
        NDArray ids = manager.create(toLongs(tokens), new Shape(1, n));
        NDArray[] tapOut = new NDArray[taps.length];
        NDArray hidden = model.forward(ids, cache.length, cache, taps, tapOut); // [1, n, hidden]
        float[][] logits = new float[numLogits][];
        if (numLogits > 0) {
          NDArray last = hidden.get(new NDIndex("0, {}:", n - numLogits)); // [numLogits, hidden]
          float[] flat = model.logits(last).toFloatArray(); // [numLogits * vocab]
          for (int r = 0; r < numLogits; r++) {
            logits[r] = java.util.Arrays.copyOfRange(flat, r * config.vocabSize(), (r + 1) * config.vocabSize());
          }
        }
        float[][][] tapValues = new float[taps.length][][];
        for (int i = 0; i < taps.length; i++) {
          float[] flat = tapOut[i].toFloatArray();
          int h = config.hiddenSize();
          tapValues[i] = new float[n][];
          for (int p = 0; p < n; p++) {
            tapValues[i][p] = java.util.Arrays.copyOfRange(flat, p * h, (p + 1) * h);
          }
        }
        cache.length += n;
        return new Forward(logits, tapValues);
      }
    }

    @Override
    public void truncate(int length) {
      Sequence.checkTruncate(cache.length, length);
      cache.length = length;
    }

    @Override
    public boolean copiesKv() {
      return true;
    }

    @Override
    public KvBlock copyOut(int from, int to) {
      if (from < 0 || to > cache.length || from >= to) {
        throw new IllegalArgumentException("positions [" + from + ", " + to + ") outside the cache's 0.." + cache.length);
      }
      return cache.copyOut(from, to);
    }

    @Override
    public void append(KvBlock block) {
      if (!(block instanceof KvCache.Block b)) {
        throw new IllegalArgumentException("a KV block of another backend");
      }
      if (cache.length + b.positions() > cache.capacity) {
        throw new IllegalArgumentException("sequence of " + (cache.length + b.positions())
            + " positions exceeds its capacity " + cache.capacity);
      }
      cache.append(b);
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        cache.close();
      }
    }
  }

  private static long[] toLongs(int[] tokens) {
    long[] out = new long[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      out[i] = tokens[i];
    }
    return out;
  }
}
