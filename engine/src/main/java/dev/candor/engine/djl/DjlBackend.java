package dev.candor.engine.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.KvBlock;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitSummary;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The {@link Backend} on DJL's PyTorch engine: CPU (tested in CI) or CUDA where a CUDA libtorch is present. Weights
 * and the KV cache are float32 (on CPU, PyTorch's float16 matmul is ~22x slower than float32; BF16 cannot enter DJL
 * at all). Each forward runs inside an {@link NDScope}: every intermediate array is freed when the step ends. A
 * forward over several sequences ({@link #forward(List)}) reads the weights once for all their rows.
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

  /**
   * One pass over the layers for every entry: all entries' new tokens laid end to end as rows, every norm and
   * projection one product over all of them (the weights read once), RoPE, the cache append and attention per
   * sequence ({@link Qwen2Model#forward(NDArray, List, int[], NDArray[])}); lm_head only over the rows the entries
   * ask for. Every entry is checked before anything runs, so a bad one changes no cache. A sequence's own forward is
   * a batch of one. Within float32 rounding (a product over more rows may sum in another order), each entry gets
   * what it gets alone: DjlBatchedForwardTest measures and bounds the difference.
   */
  @Override
  public List<Forward> forward(List<BatchEntry> batch) {
    check(batch);
    if (batch.isEmpty()) {
      return List.of();
    }
    try (NDScope scope = new NDScope()) {
      List<Qwen2Model.Segment> segments = new ArrayList<>(batch.size());
      int rows = 0;
      for (BatchEntry entry : batch) {
        KvCache cache = ((DjlSequence) entry.sequence()).cache;
        segments.add(new Qwen2Model.Segment(rows, entry.tokens().length, cache.length, cache));
        rows += entry.tokens().length;
      }
      int[] taps = tapUnion(batch);
      NDArray[] tapOut = new NDArray[taps.length];
      NDArray ids = manager.create(tokenRows(batch, rows), new Shape(1, rows));
      NDArray hidden = model.forward(ids, segments, taps, tapOut); // [1, rows, hidden]
      float[][][] logits = logitRows(hidden, batch, segments);
      float[][] tapValues = new float[taps.length][]; // [tap][rows * hidden]
      for (int i = 0; i < taps.length; i++) {
        tapValues[i] = tapOut[i].toFloatArray();
      }
      List<Forward> out = new ArrayList<>(batch.size());
      for (int e = 0; e < batch.size(); e++) {
        BatchEntry entry = batch.get(e);
        float[][][] entryTaps = entryTaps(entry, segments.get(e).row(), taps, tapValues);
        out.add(entry.summaries() ? new Forward(null, entryTaps, summaries(logits[e])) : new Forward(logits[e], entryTaps));
        segments.get(e).cache().length += entry.tokens().length;
      }
      return out;
    }
  }

  /** The checks of {@link Sequence#checkForward} for every entry, and that each is a distinct open sequence of ours. */
  private void check(List<BatchEntry> batch) {
    Set<Sequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (BatchEntry entry : batch) {
      if (!(entry.sequence() instanceof DjlSequence s) || s.backend() != this) {
        throw new IllegalArgumentException("a batch entry's sequence belongs to another backend");
      }
      if (s.closed) {
        throw new IllegalStateException("sequence is closed");
      }
      if (!seen.add(s)) {
        throw new IllegalArgumentException("a sequence appears twice in one batch");
      }
      Sequence.checkForward(config, s.cache.length, s.cache.capacity, entry.tokens(), entry.numRows(), entry.taps());
    }
  }

  /**
   * Logits of the last numRows rows of every entry, through one lm_head product over just those rows.
   *
   * @param hidden [1, rows, hidden] final-normed
   * @return per entry [numRows][vocab]
   */
  private float[][][] logitRows(NDArray hidden, List<BatchEntry> batch, List<Qwen2Model.Segment> segments) {
    NDList wanted = new NDList();
    for (int e = 0; e < batch.size(); e++) {
      Qwen2Model.Segment seg = segments.get(e);
      int numRows = batch.get(e).numRows();
      if (numRows > 0) {
        wanted.add(hidden.get(new NDIndex("0, {}:{}", seg.row() + seg.n() - numRows, seg.row() + seg.n())));
      }
    }
    float[] flat = wanted.isEmpty() ? new float[0] // [sum of numRows * vocab]
        : model.logits(wanted.size() == 1 ? wanted.singletonOrThrow() : NDArrays.concat(wanted, 0)).toFloatArray();
    int vocab = config.vocabSize();
    float[][][] out = new float[batch.size()][][];
    int at = 0;
    for (int e = 0; e < batch.size(); e++) {
      out[e] = new float[batch.get(e).numRows()][];
      for (int r = 0; r < out[e].length; r++, at++) {
        out[e][r] = Arrays.copyOfRange(flat, at * vocab, (at + 1) * vocab);
      }
    }
    return out;
  }

  /** One entry's taps [its taps][n][hidden], cut from the whole batch's [tap][rows * hidden] at its rows. */
  private float[][][] entryTaps(BatchEntry entry, int row, int[] union, float[][] tapValues) {
    int h = config.hiddenSize();
    int n = entry.tokens().length;
    float[][][] out = new float[entry.taps().length][n][];
    for (int i = 0; i < out.length; i++) {
      float[] flat = tapValues[indexOf(union, entry.taps()[i])];
      for (int p = 0; p < n; p++) {
        out[i][p] = Arrays.copyOfRange(flat, (row + p) * h, (row + p + 1) * h);
      }
    }
    return out;
  }

  /** Every hidden-state index some entry asks for, once each. */
  private static int[] tapUnion(List<BatchEntry> batch) {
    return batch.stream().flatMapToInt(e -> Arrays.stream(e.taps())).distinct().toArray();
  }

  private static int indexOf(int[] values, int value) {
    for (int i = 0; i < values.length; i++) {
      if (values[i] == value) {
        return i;
      }
    }
    throw new IllegalStateException("tap " + value + " not captured");
  }

  /** As {@link Sequence#forwardSummaries} gives them: each row's summary of its logits. */
  private static LogitSummary[] summaries(float[][] logits) {
    LogitSummary[] out = new LogitSummary[logits.length];
    for (int r = 0; r < logits.length; r++) {
      out[r] = LogitSummary.of(logits[r]);
    }
    return out;
  }

  /** [rows] the entries' new tokens, end to end, as int64. */
  private static long[] tokenRows(List<BatchEntry> batch, int rows) {
    long[] out = new long[rows];
    int at = 0;
    for (BatchEntry entry : batch) {
      for (int t : entry.tokens()) {
        out[at++] = t;
      }
    }
    return out;
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
      return DjlBackend.this.forward(List.of(new BatchEntry(this, tokens, numLogits, false, taps))).getFirst();
    }

    DjlBackend backend() {
      return DjlBackend.this;
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
}
