package dev.candor.engine.cuda;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.checkpoint.Tensor;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Rope;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitSummary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A {@link Backend} on a {@link Gpu}, with the kernels of candor.cu: weights and KV cache in BF16 (Qwen's dtype; an
 * F32 or F16 checkpoint is rounded to BF16 on upload), FP32 activations and accumulation. Q, K and V are one fused
 * matrix, as are gate and up; the residual additions are fused into the o and down projections. A forward pass of up
 * to {@link #MAX_TOKENS} tokens is captured once per shape (tokens, logit rows, taps, summaries or logits) into a
 * graph, then replayed: a decode step is one graph launch, with the token and position uploaded before it and the
 * row's {@link LogitSummary} (or its logits) downloaded after. Longer inputs (prefill) run in chunks of
 * {@link #MAX_TOKENS}. Closed sequences lend their memory and graphs to the next (see {@link #newSequence}). Several
 * sequences' rows go through one pass in {@link #forward(List)} (see {@link CudaBatch}); the pass itself, graphs
 * included, is {@link Workspace}'s.
 */
public final class CudaBackend implements Backend {
  /** Tokens per forward chunk: the widest gemv kernel (gemv8). Verification of k + 1 <= 8 tokens is one chunk. */
  public static final int MAX_TOKENS = 8;
  private static final int ATTN_CHUNK = 256; // candor.cu's ATTN_CHUNK
  /**
   * Attention blocks per (head, token) at most: enough, with the heads, to fill a GPU's multiprocessors at long
   * contexts; each block takes every splits-th chunk, so the grid stays fixed as the sequence grows.
   */
  static final int ATTENTION_SPLITS = 16;
  /** Positions a GEMM prefill chunk takes (when the GPU has cuBLAS): weights are read once per chunk. */
  static final int PREFILL_TOKENS = 256;
  private static final int GEMV_WARPS = 4; // per block; gemv1 takes one row per warp, gemv8 four
  /** The kernels of candor.cu this backend launches. */
  public static final List<String> KERNELS =
      List.of("embed", "rmsnorm", "gemv1", "gemv8", "qkv1", "qkv8", "attention", "attention_combine", "gate_up1",
          "gate_up8", "logits_summary", "to_bf16", "qkv_finish", "swiglu_bf16");
  private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.nativeOrder());

  /**
   * One decoder layer on the GPU: BF16 matrices, FP32 vectors; qkvBias (Qwen2) and qkNorm ([q_norm | k_norm], Qwen3)
   * are 0 where the model has none.
   */
  record Layer(long inputNorm, long qkv, long qkvBias, long qkNorm, long o, long postNorm, long gateUp,
      long down) {}

  // package-private: the workspace (Workspace) records the pass from these
  final Gpu gpu;
  private final boolean ownsGpu;
  final Qwen2Config c;
  // the shape, as the kernels take it
  final int hidden, heads, kvHeads, hd, qDim, kvDim, inter;
  final float eps, scale;
  final Layer[] layers;
  final long embedTokens;
  final long norm;
  final long lmHead;
  final long ropeCos;
  final long ropeSin;
  private final List<Long> allocations = new ArrayList<>();
  final Gpu.Kernel embed, rmsnorm, gemv1, gemv8, qkv1, qkv8, attention, combine, gateUp1, gateUp8, summary;
  final Gpu.Kernel toBf16, qkvFinish, swigluBf16;
  private final int attentionSplits;
  private final int prefillTokens;
  private final boolean gemmPrefill; // the GPU has a GEMM and it agreed with the kernels at load
  private CudaBatch batch; // the batched forward's workspace, made on the first batch
  private boolean closed;

  private CudaBackend(Gpu gpu, boolean ownsGpu, Checkpoint checkpoint, int attentionSplits, int prefillTokens) {
    this.gpu = gpu;
    this.ownsGpu = ownsGpu;
    this.attentionSplits = attentionSplits;
    this.prefillTokens = prefillTokens;
    this.c = checkpoint.config();
    check(c);
    hidden = c.hiddenSize();
    heads = c.numAttentionHeads();
    kvHeads = c.numKeyValueHeads();
    hd = c.headDim();
    qDim = heads * hd;
    kvDim = kvHeads * hd;
    inter = c.intermediateSize();
    eps = (float) c.rmsNormEps();
    scale = (float) (1.0 / Math.sqrt(hd));
    embed = gpu.kernel("embed");
    rmsnorm = gpu.kernel("rmsnorm");
    gemv1 = gpu.kernel("gemv1");
    gemv8 = gpu.kernel("gemv8");
    qkv1 = gpu.kernel("qkv1");
    qkv8 = gpu.kernel("qkv8");
    attention = gpu.kernel("attention");
    combine = gpu.kernel("attention_combine");
    gateUp1 = gpu.kernel("gate_up1");
    gateUp8 = gpu.kernel("gate_up8");
    summary = gpu.kernel("logits_summary");
    toBf16 = gpu.kernel("to_bf16");
    qkvFinish = gpu.kernel("qkv_finish");
    swigluBf16 = gpu.kernel("swiglu_bf16");
    try {
      var weights = checkpoint.weights();
      layers = new Layer[c.numHiddenLayers()];
      for (int l = 0; l < layers.length; l++) {
        Qwen2Tensors.Layer<Tensor> t = Qwen2Tensors.layer(weights, c, l);
        layers[l] = new Layer(
            f32(t.inputLayernorm()),
            bf16(t.qProj(), t.kProj(), t.vProj()),
            c.attentionBias() ? f32(t.qProjBias(), t.kProjBias(), t.vProjBias()) : 0L,
            c.qkNorm() ? f32(t.qNorm(), t.kNorm()) : 0L,
            bf16(t.oProj()),
            f32(t.postAttentionLayernorm()),
            bf16(t.gateProj(), t.upProj()),
            bf16(t.downProj()));
      }
      embedTokens = bf16(Qwen2Tensors.get(weights, c, Qwen2Tensors.EMBED_TOKENS));
      lmHead = c.tieWordEmbeddings() ? embedTokens : bf16(Qwen2Tensors.get(weights, c, Qwen2Tensors.LM_HEAD));
      norm = f32(Qwen2Tensors.get(weights, c, Qwen2Tensors.NORM));
      float[][] rope = Rope.ropeTables(c);
      ropeCos = f32(rope[0]);
      ropeSin = f32(rope[1]);
      gemmPrefill = gpu.hasGemm() && gemmAgreesWithTheKernels();
      gpu.synchronize();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * Trust, but check: a GEMM of random BF16 values through the GPU's library against gemv8 on the same values. A
   * library that disagrees (a wrong binding, a broken install) is not used, and the log says so.
   */
  private boolean gemmAgreesWithTheKernels() {
    int rows = 24, in = 72, n = 5;
    java.util.SplittableRandom random = new java.util.SplittableRandom(1);
    short[] w = new short[rows * in];
    short[] xb = new short[n * in];
    float[] xf = new float[n * in];
    for (int i = 0; i < w.length; i++) {
      w[i] = DType.floatToBf16((float) random.nextGaussian());
    }
    for (int i = 0; i < xb.length; i++) {
      xb[i] = DType.floatToBf16((float) random.nextGaussian());
      xf[i] = DType.bf16ToFloat(xb[i]);
    }
    long dw = gpu.alloc(2L * w.length), dxb = gpu.alloc(2L * xb.length), dxf = gpu.alloc(4L * xf.length);
    long dy = gpu.alloc(4L * n * rows), dz = gpu.alloc(4L * n * rows);
    try {
      gpu.upload(dw, MemorySegment.ofArray(w));
      gpu.upload(dxb, MemorySegment.ofArray(xb));
      gpu.upload(dxf, MemorySegment.ofArray(xf));
      gpu.gemm(dw, dxb, dy, rows, in, n, false);
      gpu.launch(gemv8, Gpu.Grid.of((rows + 15) / 16), 32 * GEMV_WARPS, dw, 0L, dxf, dz, rows, in, n, 0);
      float[] y = new float[n * rows], z = new float[n * rows];
      gpu.download(MemorySegment.ofArray(y), dy);
      gpu.download(MemorySegment.ofArray(z), dz);
      double worst = 0;
      for (int i = 0; i < y.length; i++) {
        worst = Math.max(worst, Math.abs(y[i] - z[i]) / Math.max(1, Math.abs(z[i])));
      }
      if (worst > 1e-3) {
        System.getLogger(CudaBackend.class.getName()).log(System.Logger.Level.WARNING, "the GPU's GEMM disagrees"
            + " with Candor's kernels (relative error " + worst + "): prefill uses the kernels only");
        return false;
      }
      return true;
    } catch (CudaException e) {
      System.getLogger(CudaBackend.class.getName()).log(System.Logger.Level.WARNING, "the GPU's GEMM failed ("
          + e.getMessage() + "): prefill uses the kernels only");
      return false;
    } finally {
      for (long a : new long[] {dw, dxb, dxf, dy, dz}) {
        gpu.free(a);
      }
    }
  }

  /** Whether long prompts are prefilled through the GPU's GEMM (cuBLAS), after the check at load. */
  public boolean gemmPrefill() {
    return gemmPrefill;
  }

  /** Uploads a checkpoint's weights to {@code gpu}. The checkpoint can be closed afterwards; the gpu cannot. */
  public static CudaBackend load(Checkpoint checkpoint, Gpu gpu) {
    return new CudaBackend(gpu, false, checkpoint, ATTENTION_SPLITS, PREFILL_TOKENS);
  }

  /**
   * With at most {@code attentionSplits} attention blocks per head and token (tests: 1 makes a block loop) and GEMM
   * prefill chunks of {@code prefillTokens} (tests: small, so a short prompt takes several).
   */
  static CudaBackend load(Checkpoint checkpoint, Gpu gpu, int attentionSplits, int prefillTokens) {
    return new CudaBackend(gpu, false, checkpoint, attentionSplits, prefillTokens);
  }

  /** Opens CUDA GPU {@code ordinal} for this backend alone (closed with it) and uploads the weights. */
  public static CudaBackend load(Checkpoint checkpoint, int ordinal) {
    check(checkpoint.config());
    DriverGpu gpu = DriverGpu.open(ordinal);
    try {
      return new CudaBackend(gpu, true, checkpoint, ATTENTION_SPLITS, PREFILL_TOKENS);
    } catch (RuntimeException e) {
      gpu.close();
      throw e;
    }
  }

  /** The shapes the kernels handle; anything else is refused at load with the reason. */
  static void check(Qwen2Config c) {
    if (c.headDim() % 32 != 0 || c.headDim() > 256) {
      throw new IllegalArgumentException("the cuda backend needs head_dim a multiple of 32 up to 256, got "
          + c.headDim());
    }
  }

  @Override
  public Qwen2Config config() {
    return c;
  }

  @Override
  public String description() {
    return "cuda " + gpu.name() + " bfloat16";
  }

  /**
   * A sequence of {@code capacity} positions. Its device memory and captured graphs come from a closed sequence of
   * at least that capacity when there is one (the smallest), so a request after the first allocates nothing and
   * captures nothing: the graphs hold the buffers' addresses, which stay the same.
   */
  @Override
  public Sequence newSequence(int capacity) {
    if (capacity <= 0 || capacity > c.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("sequence capacity " + capacity + " outside 1.." + c.maxPositionEmbeddings());
    }
    CudaSequence memory = takeIdle(capacity);
    return new PooledSequence(memory != null ? memory : new CudaSequence(capacity), capacity);
  }

  /** Closed sequences kept for reuse, most recent first. */
  private static final int IDLE_SEQUENCES = 2;
  private final java.util.ArrayDeque<CudaSequence> idle = new java.util.ArrayDeque<>();

  private synchronized CudaSequence takeIdle(int capacity) {
    CudaSequence best = null;
    for (CudaSequence s : idle) {
      if (s.capacity() >= capacity && (best == null || s.capacity() < best.capacity())) {
        best = s;
      }
    }
    if (best != null) {
      idle.remove(best);
    }
    return best;
  }

  private synchronized void giveBack(CudaSequence memory) {
    if (closed) {
      memory.close();
      return;
    }
    memory.truncate(0);
    idle.addFirst(memory);
    if (idle.size() > IDLE_SEQUENCES) {
      idle.removeLast().close();
    }
  }

  /** What a caller holds: a sequence's memory, lent until close, with the capacity the caller asked for. */
  final class PooledSequence implements Sequence {
    private final int capacity;
    private CudaSequence memory; // null once closed

    PooledSequence(CudaSequence memory, int capacity) {
      this.memory = memory;
      this.capacity = capacity;
    }

    CudaBackend backend() {
      return CudaBackend.this;
    }

    CudaSequence memory() {
      if (memory == null) {
        throw new IllegalStateException("sequence is closed");
      }
      return memory;
    }

    @Override
    public int length() {
      return memory().length();
    }

    @Override
    public int capacity() {
      return capacity;
    }

    @Override
    public Forward forward(int[] tokens, int numLogits, int... taps) {
      Sequence.checkForward(c, memory().length(), capacity, tokens, numLogits, taps);
      return memory().forward(tokens, numLogits, taps);
    }

    @Override
    public Forward forwardSummaries(int[] tokens, int numRows, int... taps) {
      Sequence.checkForward(c, memory().length(), capacity, tokens, numRows, taps);
      return memory().forwardSummaries(tokens, numRows, taps);
    }

    @Override
    public void truncate(int length) {
      memory().truncate(length);
    }

    @Override
    public boolean copiesKv() {
      return true;
    }

    @Override
    public dev.candor.engine.model.KvBlock copyOut(int from, int to) {
      return memory().copyOut(from, to);
    }

    @Override
    public void append(dev.candor.engine.model.KvBlock block) {
      if (block.positions() > capacity - memory().length()) {
        throw new IllegalArgumentException("sequence of " + (memory().length() + block.positions())
            + " positions exceeds its capacity " + capacity);
      }
      memory().append(block);
    }

    @Override
    public void close() {
      if (memory != null) {
        CudaSequence m = memory;
        memory = null;
        giveBack(m);
      }
    }
  }

  /**
   * Milliseconds of device time per forward, from {@code replays} back-to-back replays of {@code sequence}'s last
   * forward's graph (same tokens, same positions: its cache entries are rewritten with the same values): the step
   * without the host's part (upload, launch, download). For benchmarks; the sequence is left as it was.
   */
  public double replayMillis(Sequence sequence, int replays) {
    if (!(sequence instanceof PooledSequence pooled) || pooled.backend() != this) {
      throw new IllegalArgumentException("not a sequence of this backend");
    }
    return pooled.memory().replayMillis(replays);
  }

  /** Bytes of weights one decode step reads: every matrix but the embedding rows it does not gather. */
  public long bytesReadPerToken() {
    long h = hidden;
    long vectors = 2 * h + (c.attentionBias() ? qDim + 2L * kvDim : 0) + (c.qkNorm() ? 2L * hd : 0);
    long perLayer = 2 * ((qDim + 2L * kvDim) * h + h * qDim + 3L * inter * h) + 4 * vectors;
    return c.numHiddenLayers() * perLayer + 2L * c.vocabSize() * h + 4 * h;
  }

  /**
   * The entries' rows through one pass of the kernels per {@link #MAX_TOKENS} rows, every weight read once for all of
   * them, each row over its own sequence's cache at its own position ({@link CudaBatch}); a batch of one runs alone.
   * Each result equals what its entry computes alone (CudaBatchedForwardTest: bit for bit on the emulator). A batch
   * with a sequence of another backend, a sequence twice or an entry its sequence cannot take is refused before
   * anything runs.
   */
  @Override
  public List<Forward> forward(List<dev.candor.engine.model.BatchEntry> entries) {
    CudaBatch b;
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("backend is closed");
      }
      if (batch == null) {
        batch = new CudaBatch(this, splitsFor(c.maxPositionEmbeddings()));
      }
      b = batch;
    }
    return b.forward(entries);
  }

  /** Attention blocks per (head, row) for a sequence of {@code capacity} positions. */
  int splitsFor(int capacity) {
    return Math.min(attentionSplits, (capacity + ATTN_CHUNK - 1) / ATTN_CHUNK);
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      idle.forEach(CudaSequence::close);
      idle.clear();
      if (batch != null) {
        batch.close();
      }
    }
    for (long address : allocations) {
      gpu.free(address);
    }
    allocations.clear();
    if (ownsGpu) {
      gpu.close();
    }
  }

  private long alloc(long bytes) {
    long address = gpu.alloc(bytes);
    allocations.add(address);
    return address;
  }

  /** Tensors concatenated along their first dimension, as BF16. */
  private long bf16(Tensor... parts) {
    long count = 0;
    for (Tensor t : parts) {
      count += t.numel();
    }
    long address = alloc(count * 2);
    long offset = 0;
    for (Tensor t : parts) {
      upload(address + offset * 2, t);
      offset += t.numel();
    }
    return address;
  }

  private static final long UPLOAD_CHUNK = 1 << 22; // elements converted per host buffer

  private void upload(long dst, Tensor t) {
    if (t.dtype() == DType.BF16) {
      gpu.upload(dst, t.data()); // the checkpoint's bytes as they are: memory-mapped, no copy on the host
      return;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(Math.min(t.numel(), UPLOAD_CHUNK) * 2, 64);
      for (long from = 0; from < t.numel(); from += UPLOAD_CHUNK) {
        long n = Math.min(UPLOAD_CHUNK, t.numel() - from);
        for (long i = 0; i < n; i++) {
          buffer.setAtIndex(I16, i, DType.floatToBf16(t.dtype().get(t.data(), from + i)));
        }
        gpu.upload(dst + from * 2, buffer.asSlice(0, n * 2));
        gpu.synchronize(); // the buffer is reused
      }
    }
  }

  /** Vectors concatenated, as FP32. */
  private long f32(Tensor... parts) {
    List<float[]> arrays = new ArrayList<>();
    for (Tensor t : parts) {
      arrays.add(t.toFloatArray());
    }
    int total = arrays.stream().mapToInt(a -> a.length).sum();
    float[] all = new float[total];
    int offset = 0;
    for (float[] a : arrays) {
      System.arraycopy(a, 0, all, offset, a.length);
      offset += a.length;
    }
    return f32(all);
  }

  private long f32(float[] values) {
    long address = alloc(values.length * 4L);
    gpu.upload(address, MemorySegment.ofArray(values));
    return address;
  }

  /** A {@link CudaSequence}'s cache at some positions, on the host: per layer, keys and values [n, kvDim] BF16 bits. */
  private record KvCopy(CudaBackend backend, int positions, short[][] keys, short[][] values)
      implements dev.candor.engine.model.KvBlock {
    @Override
    public long bytes() {
      return 2L * keys.length * keys[0].length * Short.BYTES;
    }
  }

  /**
   * One sequence's memory: its BF16 KV cache, a {@link Workspace} (FP32 scratch for {@link #MAX_TOKENS} rows, the
   * rows' metadata, the graphs captured on them), and the GEMM prefill's buffers. Callers hold it through a
   * {@link PooledSequence}; closing this frees it. The batched forward ({@link CudaBatch}) reads its cache pointers,
   * length and splits, and runs its rows in a workspace of its own.
   */
  final class CudaSequence implements Sequence {
    private static final int MAX_GRAPHS = 16;

    private final int capacity;
    private final int splits; // attention blocks per (head, token)
    private final long[] keys, values; // per layer [capacity, kvHeads * headDim] BF16
    private final Workspace work; // its rows are all this sequence's: the cache table is written once
    private long[] prefill; // the GEMM prefill's buffers, allocated on first use: x, h, bf16 scratch, qkv, attn,
                            // gate_up, partial
    private int length;
    private boolean closed;

    CudaSequence(int capacity) {
      this.capacity = capacity;
      this.splits = splitsFor(capacity);
      int layers = c.numHiddenLayers();
      long kvBytes = 2L * capacity * kvDim;
      keys = new long[layers];
      values = new long[layers];
      work = new Workspace(CudaBackend.this, Math.max(MAX_TOKENS, prefillTokens), splits, MAX_GRAPHS);
      try {
        for (int l = 0; l < layers; l++) {
          keys[l] = work.own(kvBytes);
          values[l] = work.own(kvBytes);
          for (int t = 0; t < work.rowsCapacity; t++) {
            work.setCache(l, t, keys[l], values[l]);
          }
        }
        work.upload(0, true);
      } catch (RuntimeException e) {
        close();
        throw e;
      }
    }

    @Override
    public int length() {
      return length;
    }

    @Override
    public int capacity() {
      return capacity;
    }

    int splits() {
      return splits;
    }

    long keys(int layer) {
      return keys[layer];
    }

    long values(int layer) {
      return values[layer];
    }

    /** After a batched pass wrote {@code m} more positions of this cache. */
    void advance(int m) {
      length += m;
    }

    @Override
    public void truncate(int newLength) {
      Sequence.checkTruncate(length, newLength);
      length = newLength;
    }

    @Override
    public Forward forward(int[] tokens, int numLogits, int... tapIndices) {
      return run(tokens, numLogits, false, tapIndices);
    }

    @Override
    public boolean copiesKv() {
      return true;
    }

    /**
     * Positions [from, to) of every layer's BF16 keys and values, copied to the host: a block must outlive the
     * sequence and the {@link dev.candor.engine.model.KvBlock} contract has no close that would free device memory,
     * so the prefix cache's budget is host memory here as on the CPU backends. One contiguous range a layer and
     * tensor (the cache is [position, kvHeads * headDim]).
     */
    @Override
    public dev.candor.engine.model.KvBlock copyOut(int from, int to) {
      if (from < 0 || to > length || from >= to) {
        throw new IllegalArgumentException("positions [" + from + ", " + to + ") outside the cache's 0.." + length);
      }
      int n = to - from;
      short[][] blockKeys = new short[keys.length][n * kvDim];
      short[][] blockValues = new short[keys.length][n * kvDim];
      for (int l = 0; l < keys.length; l++) {
        gpu.download(MemorySegment.ofArray(blockKeys[l]), keys[l] + 2L * from * kvDim);
        gpu.download(MemorySegment.ofArray(blockValues[l]), values[l] + 2L * from * kvDim);
      }
      return new KvCopy(CudaBackend.this, n, blockKeys, blockValues);
    }

    /** Uploads a block's positions at length .. length + n - 1 of every layer's cache. */
    @Override
    public void append(dev.candor.engine.model.KvBlock block) {
      if (!(block instanceof KvCopy b) || b.backend() != CudaBackend.this) {
        throw new IllegalArgumentException("a KV block of another backend or model");
      }
      if (length + b.positions() > capacity) {
        throw new IllegalArgumentException("sequence of " + (length + b.positions()) + " positions exceeds its"
            + " capacity " + capacity);
      }
      for (int l = 0; l < keys.length; l++) {
        gpu.upload(keys[l] + 2L * length * kvDim, MemorySegment.ofArray(b.keys()[l]));
        gpu.upload(values[l] + 2L * length * kvDim, MemorySegment.ofArray(b.values()[l]));
      }
      length += b.positions();
    }

    /** The rows are summarised on the GPU (logits_summary): 44 floats a row cross to the host, not the vocabulary. */
    @Override
    public Forward forwardSummaries(int[] tokens, int numRows, int... tapIndices) {
      return run(tokens, numRows, true, tapIndices);
    }

    private Forward run(int[] tokens, int numLogits, boolean summarise, int... tapIndices) {
      if (closed) {
        throw new IllegalStateException("sequence is closed");
      }
      Sequence.checkForward(c, length, capacity, tokens, numLogits, tapIndices);
      int n = tokens.length;
      List<Integer> tapList = Arrays.stream(tapIndices).sorted().distinct().boxed().toList();
      float[][] logitRows = summarise ? null : new float[numLogits][];
      LogitSummary[] summaryRows = summarise ? new LogitSummary[numLogits] : null;
      float[][][] tapOut = new float[tapIndices.length][n][];
      int firstLogit = n - numLogits;
      for (int from = gemmPrefix(tokens, numLogits, tapIndices.length); from < n; from += MAX_TOKENS) {
        int m = Math.min(MAX_TOKENS, n - from);
        // logits wanted from this chunk: the positions among the last numLogits of the whole input
        int chunkLogits = Math.max(0, from + m - Math.max(from, firstLogit));
        for (int t = 0; t < m; t++) {
          work.setRow(t, tokens[from + t], length + t, splits);
        }
        work.upload(m, false);
        work.replay(new Workspace.Shape(m, ((1 << chunkLogits) - 1) << (m - chunkLogits), tapList, summarise));
        if (chunkLogits > 0 && summarise) {
          work.downloadSummaries(chunkLogits);
          for (int r = 0; r < chunkLogits; r++) {
            summaryRows[from + m - chunkLogits + r - firstLogit] = work.summary(r);
          }
        } else if (chunkLogits > 0) {
          work.downloadLogits(chunkLogits);
          for (int r = 0; r < chunkLogits; r++) {
            logitRows[from + m - chunkLogits + r - firstLogit] = work.logitsRow(r);
          }
        }
        for (int i = 0; i < tapIndices.length; i++) {
          System.arraycopy(work.tapRows(tapIndices[i], m), 0, tapOut[i], from, m);
        }
        if (chunkLogits == 0 && tapIndices.length == 0) {
          gpu.synchronize();
        }
        length += m;
      }
      return new Forward(logitRows, tapOut, summaryRows);
    }

    /**
     * The leading stretch of {@code tokens} that wants neither logits nor taps (a prompt) through the GEMM, chunk by
     * chunk, when the GPU has one and the stretch is longer than a kernel chunk; returns where the kernels take over.
     */
    int gemmPrefix(int[] tokens, int numLogits, int numTaps) {
      int firstLogit = tokens.length - numLogits;
      int from = 0;
      while (gemmPrefill && numTaps == 0 && firstLogit - from > MAX_TOKENS) {
        int m = Math.min(prefillTokens, firstLogit - from);
        prefillThroughGemm(tokens, from, m);
        from += m;
      }
      return from;
    }

    /**
     * Positions from .. from + m - 1 of {@code tokens} through the GPU's GEMM (weights read once for all m), launched
     * directly (no graph: the chunk sizes vary); their activations are rounded to BF16 for the GEMMs.
     */
    private void prefillThroughGemm(int[] tokens, int from, int m) {
      if (prefill == null) {
        long p = prefillTokens;
        prefill = new long[] {work.own(4 * p * hidden), work.own(4 * p * hidden),
            work.own(2 * p * Math.max(Math.max(hidden, qDim), inter)), work.own(4 * p * (qDim + 2L * kvDim)),
            work.own(4 * p * qDim), work.own(4 * p * 2L * inter), work.own(4 * p * heads * (long) splits * (hd + 2))};
      }
      long px = prefill[0], ph = prefill[1], pb = prefill[2], pqkv = prefill[3], pattn = prefill[4];
      long pgu = prefill[5], ppartial = prefill[6];
      for (int t = 0; t < m; t++) {
        work.setRow(t, tokens[from + t], length + t, splits);
      }
      work.upload(m, false);
      long rows = work.rows();
      gpu.launch(embed, Gpu.Grid.of(m), 128, embedTokens, rows, px, hidden);
      for (int l = 0; l < layers.length; l++) {
        Layer layer = layers[l];
        gpu.launch(rmsnorm, Gpu.Grid.of(m), 256, px, layer.inputNorm(), ph, hidden, eps);
        bf16(ph, pb, (long) m * hidden);
        gpu.gemm(layer.qkv(), pb, pqkv, qDim + 2 * kvDim, hidden, m, false);
        gpu.launch(qkvFinish, Gpu.Grid.of(m), 128, pqkv, layer.qkvBias(), layer.qkNorm(), work.caches(l), ropeCos,
            ropeSin, rows, heads, kvHeads, hd, eps);
        gpu.launch(attention, new Gpu.Grid(heads, m, splits), 128, pqkv, work.caches(l), ppartial, rows, heads,
            kvHeads, hd, splits, scale);
        gpu.launch(combine, new Gpu.Grid(heads, m, 1), 128, ppartial, pattn, rows, heads, hd, splits);
        bf16(pattn, pb, (long) m * qDim);
        gpu.gemm(layer.o(), pb, px, hidden, qDim, m, true);
        gpu.launch(rmsnorm, Gpu.Grid.of(m), 256, px, layer.postNorm(), ph, hidden, eps);
        bf16(ph, pb, (long) m * hidden);
        gpu.gemm(layer.gateUp(), pb, pgu, 2 * inter, hidden, m, false);
        gpu.launch(swigluBf16, Gpu.Grid.of((m * inter + 255) / 256), 256, pgu, pb, inter, m);
        gpu.gemm(layer.down(), pb, px, hidden, inter, m, true);
      }
      gpu.synchronize();
      length += m;
    }

    private void bf16(long in, long out, long count) {
      gpu.launch(toBf16, Gpu.Grid.of((int) Math.min(4096, (count + 255) / 256)), 256, in, out, count);
    }

    double replayMillis(int replays) {
      return work.replayMillis(replays);
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      work.close();
    }
  }
}
