package dev.candor.engine.cpu;

import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.KvBlock;
import dev.candor.engine.model.Sequence;
import java.util.Arrays;

/**
 * One sequence on the {@link JavaBackend}: its KV cache and the run state of a forward pass (llama2.c's RunState),
 * allocated once when the sequence is made; a forward allocates only what it returns. The forward pass reads top to
 * bottom in the order of the math, one step a method.
 */
final class JavaSequence implements Sequence {
  private final JavaBackend backend;
  private final Qwen2Config c;
  private final int capacity;
  private final int hidden, heads, kvHeads, hd, qDim, kvDim, inter;
  // the KV cache, per layer; keys transposed so attention reads positions contiguously (see Attention)
  private final float[][] keys; // [layers][kvHeads, headDim, capacity]
  private final float[][] values; // [layers][kvHeads, capacity, headDim]
  // run state for a chunk of up to CHUNK tokens
  private final float[] x; // [chunk, hidden]: the residual stream
  private final float[] h; // [chunk, hidden]: its normed copy, the input of a projection
  private final float[] q; // [chunk, heads * headDim]
  private final float[] k; // [chunk, kvHeads * headDim]
  private final float[] v; // [chunk, kvHeads * headDim]
  private final float[] att; // [chunk, heads * headDim]: attention output
  private final float[] gate; // [chunk, intermediate]; SwiGLU's output afterwards
  private final float[] up; // [chunk, intermediate]
  private int length;

  JavaSequence(JavaBackend backend, int capacity) {
    this.backend = backend;
    this.c = backend.c();
    this.capacity = capacity;
    hidden = c.hiddenSize();
    heads = c.numAttentionHeads();
    kvHeads = c.numKeyValueHeads();
    hd = c.headDim();
    qDim = heads * hd;
    kvDim = kvHeads * hd;
    inter = c.intermediateSize();
    keys = new float[c.numHiddenLayers()][kvDim * capacity];
    values = new float[c.numHiddenLayers()][kvDim * capacity];
    int chunk = Math.min(JavaBackend.CHUNK, capacity);
    x = new float[chunk * hidden];
    h = new float[chunk * hidden];
    q = new float[chunk * qDim];
    k = new float[chunk * kvDim];
    v = new float[chunk * kvDim];
    att = new float[chunk * qDim];
    gate = new float[chunk * inter];
    up = new float[chunk * inter];
  }

  @Override
  public int length() {
    return length;
  }

  @Override
  public int capacity() {
    return capacity;
  }

  @Override
  public void truncate(int newLength) {
    Sequence.checkTruncate(length, newLength);
    length = newLength;
  }

  @Override
  public void close() {}

  @Override
  public boolean copiesKv() {
    return true;
  }

  /** Positions [from, to) of every layer's cache, in the cache's own layout with the positions packed. */
  @Override
  public KvBlock copyOut(int from, int to) {
    if (from < 0 || to > length || from >= to) {
      throw new IllegalArgumentException("positions [" + from + ", " + to + ") outside the cache's 0.." + length);
    }
    int n = to - from;
    float[][] blockKeys = new float[keys.length][kvDim * n];
    float[][] blockValues = new float[keys.length][kvDim * n];
    for (int l = 0; l < keys.length; l++) {
      for (int row = 0; row < kvDim; row++) { // keys: [kvHead * headDim + d][position]
        System.arraycopy(keys[l], row * capacity + from, blockKeys[l], row * n, n);
      }
      for (int g = 0; g < kvHeads; g++) { // values: [kvHead][position][headDim]
        System.arraycopy(values[l], (g * capacity + from) * hd, blockValues[l], g * n * hd, n * hd);
      }
    }
    return new Block(backend, n, blockKeys, blockValues);
  }

  @Override
  public void append(KvBlock block) {
    if (!(block instanceof Block b) || b.backend != backend) {
      throw new IllegalArgumentException("a KV block of another backend or model");
    }
    int n = b.positions;
    if (length + n > capacity) {
      throw new IllegalArgumentException("sequence of " + (length + n) + " positions exceeds its capacity " + capacity);
    }
    for (int l = 0; l < keys.length; l++) {
      for (int row = 0; row < kvDim; row++) {
        System.arraycopy(b.keys[l], row * n, keys[l], row * capacity + length, n);
      }
      for (int g = 0; g < kvHeads; g++) {
        System.arraycopy(b.values[l], g * n * hd, values[l], (g * capacity + length) * hd, n * hd);
      }
    }
    length += n;
  }

  /** A copy of some positions of a {@link JavaSequence}'s cache: per layer, keys [kvDim][n] and values [kvHeads][n][hd]. */
  private record Block(JavaBackend backend, int positions, float[][] keys, float[][] values) implements KvBlock {
    @Override
    public long bytes() {
      return 2L * keys.length * keys[0].length * Float.BYTES;
    }
  }

  @Override
  public Forward forward(int[] tokens, int numLogits, int... taps) {
    Sequence.checkForward(c, length, capacity, tokens, numLogits, taps);
    int n = tokens.length;
    float[][][] tapOut = new float[taps.length][n][];
    float[][] logits = new float[numLogits][];
    int chunk = x.length / hidden;
    synchronized (backend) { // one forward at a time per backend: the threads' scratch is the backend's
      for (int from = 0; from < n; from += chunk) {
        int to = Math.min(n, from + chunk);
        layers(Arrays.copyOfRange(tokens, from, to), from, taps, tapOut);
        // logits of the chunk's positions among the last numLogits
        int first = Math.max(from, n - numLogits);
        if (first < to) {
          logits(first - from, to - first, logits, first - (n - numLogits));
        }
        length += to - from;
      }
    }
    return new Forward(logits, tapOut);
  }

  /**
   * Runs one chunk of tokens (at positions length ..) through the model: x holds the final-normed hidden states after
   * it, the cache holds the chunk's keys and values, and tapOut the taps of input positions offset ...
   */
  private void layers(int[] tokens, int offset, int[] taps, float[][][] tapOut) {
    int n = tokens.length;
    CpuWeights w = backend.weights();

    // token embedding: x [n, hidden]
    for (int t = 0; t < n; t++) {
      w.embedTokens().row(tokens[t], x, t * hidden);
    }
    capture(0, n, offset, taps, tapOut);

    for (int l = 0; l < w.layers().size(); l++) {
      CpuWeights.Layer layer = w.layers().get(l);
      attention(layer, l, n);
      mlp(layer, n);
      if (l + 1 < w.layers().size()) {
        capture(l + 1, n, offset, taps, tapOut);
      }
    }

    // final rmsnorm (Hugging Face's last hidden state is taken after it)
    backend.rmsNorm(x, x, n, w.norm());
    capture(w.layers().size(), n, offset, taps, tapOut);
  }

  /** The attention half of a decoder layer, residual connection included. */
  private void attention(CpuWeights.Layer layer, int l, int n) {
    Gemm gemm = backend.gemm();

    // attention rmsnorm
    backend.rmsNorm(h, x, n, layer.inputLayernorm());

    // q, k, v projections, with bias where the model has it (Qwen2), in one parallel region
    gemm.run(h, n, new Gemm.Product(layer.qProj(), layer.qProjBias(), q, false),
        new Gemm.Product(layer.kProj(), layer.kProjBias(), k, false),
        new Gemm.Product(layer.vProj(), layer.vProjBias(), v, false));

    // Qwen3: an RMSNorm on each head of q and k ([n * heads, headDim] rows), before the rotation
    if (layer.qNorm() != null) {
      backend.rmsNorm(q, q, n * heads, layer.qNorm());
      backend.rmsNorm(k, k, n * kvHeads, layer.kNorm());
    }

    // rotary position embedding on q and k, then k and v into the cache
    for (int t = 0; t < n; t++) {
      int pos = length + t;
      backend.rope(q, t * qDim, heads, pos);
      backend.rope(k, t * kvDim, kvHeads, pos);
      store(l, t, pos);
    }

    // grouped-query attention over positions 0 .. pos, in tiles
    backend.attention().run(q, n, length, keys[l], values[l], capacity, att);

    // output projection, added to the residual stream
    gemm.run(att, n, new Gemm.Product(layer.oProj(), null, x, true));
  }

  /** Token t's key and value, at position pos of layer l's cache (keys transposed: [kvHead, d, position]). */
  private void store(int l, int t, int pos) {
    for (int g = 0; g < kvHeads; g++) {
      for (int d = 0; d < hd; d++) {
        keys[l][(g * hd + d) * capacity + pos] = k[t * kvDim + g * hd + d];
      }
      System.arraycopy(v, t * kvDim + g * hd, values[l], (g * capacity + pos) * hd, hd);
    }
  }

  /** The MLP half: rmsnorm, SwiGLU down(silu(gate(h)) · up(h)), residual connection. */
  private void mlp(CpuWeights.Layer layer, int n) {
    Gemm gemm = backend.gemm();

    // mlp rmsnorm
    backend.rmsNorm(h, x, n, layer.postAttentionLayernorm());

    // gate and up projections in one parallel region, then silu(gate) · up into gate
    gemm.run(h, n, new Gemm.Product(layer.gateProj(), null, gate, false),
        new Gemm.Product(layer.upProj(), null, up, false));
    Vectors.swiglu(gate, up, gate, 0, n * inter);

    // down projection, added to the residual stream
    gemm.run(gate, n, new Gemm.Product(layer.downProj(), null, x, true));
  }

  /** Logits of rows [first, first + count) of x into logits[into ..]. */
  private void logits(int first, int count, float[][] logits, int into) {
    Matrix head = backend.weights().lmHead();
    float[] rows = count == 1 ? new float[head.rows] : new float[count * head.rows];
    float[] input = first == 0 ? x : Arrays.copyOfRange(x, first * hidden, (first + count) * hidden);
    backend.gemm().run(input, count, new Gemm.Product(head, null, rows, false));
    for (int r = 0; r < count; r++) {
      logits[into + r] = count == 1 ? rows : Arrays.copyOfRange(rows, r * head.rows, (r + 1) * head.rows);
    }
  }

  private void capture(int index, int n, int offset, int[] taps, float[][][] tapOut) {
    for (int i = 0; i < taps.length; i++) {
      if (taps[i] == index) {
        for (int t = 0; t < n; t++) {
          tapOut[i][offset + t] = Arrays.copyOfRange(x, t * hidden, (t + 1) * hidden);
        }
      }
    }
  }
}
