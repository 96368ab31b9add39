package dev.candor.engine.cuda;

import dev.candor.engine.sampling.LogitSummary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Device scratch for one forward pass of up to {@link CudaBackend#MAX_TOKENS} rows through {@link CudaBackend}'s
 * kernels, the rows' metadata (candor.cu's {@code Row} and {@code RowCache}: each row's token, position, attention
 * splits and its sequence's cache for every layer), and the graphs captured on them, one per {@link Shape}. A
 * sequence owns one whose rows are all its own; the batched forward ({@link CudaBatch}) owns one whose rows belong to
 * several sequences. The pass is the same code either way: that is what makes a batch compute what its entries
 * compute alone. A graph holds this workspace's addresses, so it replays here alone; what changes between replays
 * (tokens, positions, caches) is uploaded to the metadata before.
 */
final class Workspace implements AutoCloseable {
  /** candor.cu's Row: token, position, splits, unused (four ints). */
  private static final int ROW_BYTES = 16;
  /** candor.cu's RowCache: the keys' and the values' device pointers. */
  private static final int CACHE_BYTES = 16;
  private static final int SUMMARY_FLOATS = 4 + 2 * LogitSummary.TOP; // candor.cu's SUMMARY_FLOATS
  private static final int GEMV_WARPS = 4; // per block; gemv1 takes one row per warp, gemv8 four
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.nativeOrder());
  private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.nativeOrder());
  private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.nativeOrder());

  /**
   * What a captured graph depends on: its rows, which of them get logits (bit r: row r), the hidden states copied out
   * (by Hugging Face index, sorted), and whether the logit rows are summarised on the device.
   */
  record Shape(int rows, int logitMask, List<Integer> taps, boolean summarise) {
    int logitRows() {
      return Integer.bitCount(logitMask);
    }
  }

  private final CudaBackend b;
  private final Gpu gpu;
  private final int hidden;
  private final int layers;
  private final int maxGraphs;
  /** Rows the metadata holds: MAX_TOKENS, or a GEMM prefill chunk's positions for a sequence's workspace. */
  final int rowsCapacity;
  /** Attention blocks per (head, row) in the grid and in {@link #partial}'s layout; a row uses its own count. */
  final int splits;
  private final long meta; // Row[rowsCapacity], then RowCache[layers][rowsCapacity]
  // scratch, t = MAX_TOKENS rows
  private final long x, h; // [t, hidden]: the residual stream, the normed input of a projection
  private final long qkv; // [t, q | k | v]
  private final long attn; // [t, heads * headDim]
  private final long act; // [t, intermediate]
  private final long partial; // [t, heads, splits, headDim + 2]
  private final long gathered; // [t, hidden]: the rows wanting logits, when they are not one run
  private final long logits; // [t, vocab]
  private final long summaries; // [t, SUMMARY_FLOATS]
  private final long taps; // [layers + 1, t, hidden]
  private final List<Long> owned = new ArrayList<>();
  private final Arena host = Arena.ofShared(); // a sequence may be closed by another thread
  private final MemorySegment metaHost, logitsHost, tapHost, summaryHost;
  private final Map<Shape, Gpu.Graph> graphs = new LinkedHashMap<>(16, 0.75f, true);
  private Shape lastShape;

  Workspace(CudaBackend backend, int rowsCapacity, int splits, int maxGraphs) {
    this.b = backend;
    this.gpu = backend.gpu;
    this.hidden = backend.hidden;
    this.layers = backend.layers.length;
    this.rowsCapacity = rowsCapacity;
    this.splits = splits;
    this.maxGraphs = maxGraphs;
    long t = CudaBackend.MAX_TOKENS;
    long metaBytes = (long) rowsCapacity * (ROW_BYTES + CACHE_BYTES * layers);
    metaHost = host.allocate(metaBytes, 8);
    logitsHost = host.allocate(4L * t * b.c.vocabSize(), 64);
    tapHost = host.allocate(4L * t * hidden, 64);
    summaryHost = host.allocate(4L * t * SUMMARY_FLOATS, 64);
    try {
      meta = own(metaBytes);
      x = own(4 * t * hidden);
      h = own(4 * t * hidden);
      qkv = own(4 * t * (b.qDim + 2L * b.kvDim));
      attn = own(4 * t * b.qDim);
      act = own(4 * t * b.inter);
      partial = own(4 * t * b.heads * (long) splits * (b.hd + 2));
      gathered = own(4 * t * hidden);
      logits = own(4 * t * b.c.vocabSize());
      summaries = own(4 * t * SUMMARY_FLOATS);
      taps = own(4 * t * hidden * (layers + 1L));
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  long own(long bytes) {
    long address = gpu.alloc(bytes);
    owned.add(address);
    return address;
  }

  /** The device address of Row[rowsCapacity]. */
  long rows() {
    return meta;
  }

  /** The device address of layer {@code layer}'s RowCache[rowsCapacity]. */
  long caches(int layer) {
    return meta + (long) rowsCapacity * (ROW_BYTES + (long) CACHE_BYTES * layer);
  }

  /** Row t's token, position in its sequence, and its sequence's attention splits, on the host until uploaded. */
  void setRow(int t, int token, int position, int rowSplits) {
    long at = (long) ROW_BYTES * t;
    metaHost.set(I32, at, token);
    metaHost.set(I32, at + 4, position);
    metaHost.set(I32, at + 8, rowSplits);
  }

  /** Row t's sequence's cache for {@code layer}, on the host until uploaded. */
  void setCache(int layer, int t, long keys, long values) {
    long at = caches(layer) - meta + (long) CACHE_BYTES * t;
    metaHost.set(U64, at, keys);
    metaHost.set(U64, at + 8, values);
  }

  /** Uploads rows 0..n-1, and with {@code caches} the whole cache table after them (one copy). */
  void upload(int n, boolean caches) {
    long bytes = caches ? metaHost.byteSize() : (long) ROW_BYTES * n;
    gpu.upload(meta, metaHost.asSlice(0, bytes));
  }

  /** Runs the pass of {@code shape} on the uploaded rows: its graph, captured on first use. */
  void replay(Shape shape) {
    graph(shape).replay();
    lastShape = shape;
  }

  /** Logit row r (of the pass's logit rows, in row order) to the host; {@link #downloadLogits} first. */
  float[] logitsRow(int r) {
    int vocab = b.c.vocabSize();
    float[] row = new float[vocab];
    MemorySegment.copy(logitsHost, F32, 4L * r * vocab, row, 0, vocab);
    return row;
  }

  void downloadLogits(int count) {
    gpu.download(logitsHost.asSlice(0, 4L * count * b.c.vocabSize()), logits);
  }

  void downloadSummaries(int count) {
    gpu.download(summaryHost.asSlice(0, 4L * count * SUMMARY_FLOATS), summaries);
  }

  /** Row r of logits_summary's output; {@link #downloadSummaries} first. */
  LogitSummary summary(int r) {
    long base = 4L * r * SUMMARY_FLOATS;
    int vocab = b.c.vocabSize();
    int top = Math.min(LogitSummary.TOP, vocab);
    int[] tokens = new int[top];
    float[] values = new float[top];
    for (int i = 0; i < top; i++) {
      tokens[i] = summaryHost.get(I32, base + 4L * (4 + i));
      values[i] = summaryHost.get(F32, base + 4L * (4 + LogitSummary.TOP + i));
    }
    return new LogitSummary(vocab, summaryHost.get(I32, base + 12), summaryHost.get(F32, base + 4),
        summaryHost.get(F32, base + 8), tokens, values);
  }

  /** Hidden state {@code index} of the pass's rows 0..m-1: [m, hidden]. */
  float[][] tapRows(int index, int m) {
    gpu.download(tapHost.asSlice(0, 4L * m * hidden), taps + 4L * CudaBackend.MAX_TOKENS * hidden * index);
    float[][] rows = new float[m][hidden];
    for (int t = 0; t < m; t++) {
      MemorySegment.copy(tapHost, F32, 4L * t * hidden, rows[t], 0, hidden);
    }
    return rows;
  }

  /** Milliseconds per replay of the last pass's graph, {@code replays} back to back (see CudaBackend.replayMillis). */
  double replayMillis(int replays) {
    Gpu.Graph graph = lastShape == null ? null : graphs.get(lastShape);
    if (graph == null) {
      throw new IllegalStateException("no forward to replay yet");
    }
    graph.replay(); // warm
    if (gpu instanceof DriverGpu driver) {
      return driver.time(() -> {
        for (int i = 0; i < replays; i++) {
          graph.replay();
        }
      }) / replays;
    }
    gpu.synchronize();
    long t0 = System.nanoTime();
    for (int i = 0; i < replays; i++) {
      graph.replay();
    }
    gpu.synchronize();
    return (System.nanoTime() - t0) / 1e6 / replays;
  }

  private Gpu.Graph graph(Shape shape) {
    Gpu.Graph graph = graphs.get(shape);
    if (graph == null) {
      if (graphs.size() >= maxGraphs) { // the least recently used goes
        var eldest = graphs.entrySet().iterator().next();
        eldest.getValue().close();
        graphs.remove(eldest.getKey());
      }
      boolean[] tapped = new boolean[layers + 1];
      for (int tap : shape.taps()) {
        tapped[tap] = true;
      }
      // once outside the capture first: with lazy module loading (CUDA's default), a kernel's first launch loads
      // it, which a capture does not allow. The pass is idempotent (the replay rewrites the same cache entries).
      record(shape, tapped);
      graph = gpu.capture(() -> record(shape, tapped));
      graphs.put(shape, graph);
    }
    return graph;
  }

  /** Queues one forward pass of the uploaded rows: the work a graph holds. */
  private void record(Shape shape, boolean[] tapped) {
    int m = shape.rows();
    gpu.launch(b.embed, Gpu.Grid.of(m), 128, b.embedTokens, rows(), x, hidden);
    tap(0, m, x, tapped);
    for (int l = 0; l < layers; l++) {
      CudaBackend.Layer layer = b.layers[l];
      gpu.launch(b.rmsnorm, Gpu.Grid.of(m), 256, x, layer.inputNorm(), h, hidden, b.eps);
      if (layer.qkNorm() == 0) {
        // q, k, v with their bias, RoPE on q and k, k and v into each row's cache: one kernel
        gpu.launch(m == 1 ? b.qkv1 : b.qkv8, Gpu.Grid.of(blocks((b.qDim + 2 * b.kvDim) / 2, m)), 32 * GEMV_WARPS,
            layer.qkv(), layer.qkvBias(), h, qkv, caches(l), b.ropeCos, b.ropeSin, rows(), hidden, m, b.heads,
            b.kvHeads, b.hd);
      } else {
        // Qwen3: q, k, v, then each head of q and k normed (it needs the whole head), RoPE, k and v into the cache
        gemv(layer.qkv(), h, qkv, b.qDim + 2 * b.kvDim, hidden, m, false);
        gpu.launch(b.qkvFinish, Gpu.Grid.of(m), 128, qkv, layer.qkvBias(), layer.qkNorm(), caches(l), b.ropeCos,
            b.ropeSin, rows(), b.heads, b.kvHeads, b.hd, b.eps);
      }
      gpu.launch(b.attention, new Gpu.Grid(b.heads, m, splits), 128, qkv, caches(l), partial, rows(), b.heads,
          b.kvHeads, b.hd, splits, b.scale);
      gpu.launch(b.combine, new Gpu.Grid(b.heads, m, 1), 128, partial, attn, rows(), b.heads, b.hd, splits);
      gemv(layer.o(), attn, x, hidden, b.qDim, m, true);
      gpu.launch(b.rmsnorm, Gpu.Grid.of(m), 256, x, layer.postNorm(), h, hidden, b.eps);
      // silu(gate) * up, each gate row with its up row in one warp
      gpu.launch(m == 1 ? b.gateUp1 : b.gateUp8, Gpu.Grid.of(blocks(b.inter, m)), 32 * GEMV_WARPS, layer.gateUp(), h,
          act, b.inter, hidden, m);
      gemv(layer.down(), act, x, hidden, b.inter, m, true);
      if (l + 1 < layers) {
        tap(l + 1, m, x, tapped);
      }
    }
    gpu.launch(b.rmsnorm, Gpu.Grid.of(m), 256, x, b.norm, h, hidden, b.eps);
    tap(layers, m, h, tapped);
    int count = shape.logitRows();
    if (count > 0) {
      gemv(b.lmHead, logitInput(shape.logitMask()), logits, b.c.vocabSize(), hidden, count, false);
      if (shape.summarise()) {
        gpu.launch(b.summary, Gpu.Grid.of(count), 1024, logits, b.c.vocabSize(), summaries);
      }
    }
  }

  /**
   * The normed rows that want logits, contiguous [count, hidden]: in place when they are one run (a sequence's last
   * rows, or every row of a decode batch), else copied run by run into {@link #gathered}.
   */
  private long logitInput(int mask) {
    int first = Integer.numberOfTrailingZeros(mask);
    int shifted = mask >>> first;
    if ((shifted & (shifted + 1)) == 0) {
      return h + 4L * first * hidden;
    }
    int out = 0;
    for (int r = first; r < Integer.SIZE; ) {
      if ((mask >>> r & 1) == 0) {
        r++;
        continue;
      }
      int end = r;
      while (end < Integer.SIZE && (mask >>> end & 1) == 1) {
        end++;
      }
      gpu.copy(gathered + 4L * out * hidden, h + 4L * r * hidden, 4L * (end - r) * hidden);
      out += end - r;
      r = end;
    }
    return gathered;
  }

  private void tap(int index, int m, long source, boolean[] tapped) {
    if (tapped[index]) {
      gpu.copy(taps + 4L * CudaBackend.MAX_TOKENS * hidden * index, source, 4L * m * hidden);
    }
  }

  /** Blocks for {@code pairs} row pairs (qkv, gate_up): a warp takes one pair for one token, two for eight. */
  private static int blocks(int pairs, int m) {
    int perBlock = GEMV_WARPS * (m == 1 ? 1 : 2);
    return (pairs + perBlock - 1) / perBlock;
  }

  private void gemv(long weight, long in, long out, int rows, int inDim, int m, boolean accumulate) {
    int rowsPerBlock = GEMV_WARPS * (m == 1 ? 1 : 4);
    gpu.launch(m == 1 ? b.gemv1 : b.gemv8, Gpu.Grid.of((rows + rowsPerBlock - 1) / rowsPerBlock), 32 * GEMV_WARPS,
        weight, 0L, in, out, rows, inDim, m, accumulate ? 1 : 0);
  }

  @Override
  public void close() {
    graphs.values().forEach(Gpu.Graph::close);
    graphs.clear();
    for (long address : owned) {
      gpu.free(address);
    }
    owned.clear();
    host.close();
  }
}
