package dev.candor.engine.cpu;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.checkpoint.Tensor;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Rope;
import dev.candor.engine.model.Sequence;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * A {@link Backend} in plain Java with the Vector API: the Qwen2 forward pass as llama2.c writes it, on float arrays,
 * multi-threaded over output rows where a matrix is large enough to pay for it. On CPU a DJL op costs 3–13 µs of
 * dispatch however small the tensor, so a small model's decode step is all overhead there; here it is arithmetic (see
 * README, "Backends"). It computes exactly the same function as {@link DjlBackend}, checked against the same
 * plain-Java reference.
 */
public final class JavaBackend implements Backend {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  /** Matrices with at least this many weights are split over cores. */
  private static final long PARALLEL_WEIGHTS = 1 << 18;

  private final Qwen2Config c;
  private final float[] embedTokens; // [vocab, hidden]
  private final java.util.List<Qwen2Tensors.Layer<float[]>> layers; // row-major [out, in] as in the checkpoint
  private final float[] norm; // [hidden]
  private final float[] lmHead; // [vocab, hidden]; the same array as embedTokens when tied
  private final float[] ropeCos; // [maxPositions, headDim / 2]
  private final float[] ropeSin; // [maxPositions, headDim / 2]

  private JavaBackend(Qwen2Config config, float[] embedTokens, java.util.List<Qwen2Tensors.Layer<float[]>> layers,
      float[] norm, float[] lmHead) {
    this.c = config;
    this.embedTokens = embedTokens;
    this.layers = layers;
    this.norm = norm;
    this.lmHead = lmHead;
    float[][] rope = Rope.ropeTables(config);
    this.ropeCos = rope[0];
    this.ropeSin = rope[1];
  }

  /** Loads every tensor as float32, checking shapes against config.json. The checkpoint can be closed afterwards. */
  public static JavaBackend load(Checkpoint checkpoint) {
    Qwen2Config c = checkpoint.config();
    java.util.List<Qwen2Tensors.Layer<float[]>> layers = new java.util.ArrayList<>();
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      layers.add(Qwen2Tensors.layer(checkpoint.weights(), c, l).map(Tensor::toFloatArray));
    }
    java.util.function.Function<String, float[]> get =
        name -> Qwen2Tensors.get(checkpoint.weights(), c, name).toFloatArray();
    float[] embed = get.apply(Qwen2Tensors.EMBED_TOKENS);
    float[] head = c.tieWordEmbeddings() ? embed : get.apply(Qwen2Tensors.LM_HEAD);
    return new JavaBackend(c, embed, java.util.List.copyOf(layers), get.apply(Qwen2Tensors.NORM), head);
  }

  @Override
  public Qwen2Config config() {
    return c;
  }

  @Override
  public String description() {
    return "java-vector cpu float32 (" + SPECIES.length() + " lanes, " + Runtime.getRuntime().availableProcessors()
        + " cores)";
  }

  @Override
  public Sequence newSequence(int capacity) {
    if (capacity <= 0 || capacity > c.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("sequence capacity " + capacity + " outside 1.." + c.maxPositionEmbeddings());
    }
    return new JavaSequence(capacity);
  }

  @Override
  public void close() {}

  /** Tokens a forward runs through the layers at a time; a longer input (a prompt) is taken in chunks of this. */
  static final int CHUNK = 64;

  /** One sequence: its KV cache and scratch buffers, allocated once, when the sequence is made. */
  private final class JavaSequence implements Sequence {
    private final int capacity;
    private final float[][] keys; // per layer [capacity, kvHeads * headDim]
    private final float[][] values; // per layer [capacity, kvHeads * headDim]
    // scratch for a chunk of up to CHUNK tokens
    private final float[][] x; // [chunk, hidden]: the residual stream
    private final float[][] h; // [chunk, hidden]: its normed copy
    private final float[][] q; // [chunk, heads * headDim]
    private final float[][] k; // [chunk, kvHeads * headDim]
    private final float[][] v; // [chunk, kvHeads * headDim]
    private final float[][] attention; // [chunk, heads * headDim]
    private final float[][] projected; // [chunk, hidden]
    private final float[][] gate; // [chunk, intermediate]
    private final float[][] up; // [chunk, intermediate]
    private final float[] scores; // [capacity]
    private int length;

    JavaSequence(int capacity) {
      this.capacity = capacity;
      int kvDim = c.numKeyValueHeads() * c.headDim();
      int qDim = c.numAttentionHeads() * c.headDim();
      keys = new float[c.numHiddenLayers()][capacity * kvDim];
      values = new float[c.numHiddenLayers()][capacity * kvDim];
      int chunk = Math.min(CHUNK, capacity);
      x = new float[chunk][c.hiddenSize()];
      h = new float[chunk][c.hiddenSize()];
      q = new float[chunk][qDim];
      k = new float[chunk][kvDim];
      v = new float[chunk][kvDim];
      attention = new float[chunk][qDim];
      projected = new float[chunk][c.hiddenSize()];
      gate = new float[chunk][c.intermediateSize()];
      up = new float[chunk][c.intermediateSize()];
      scores = new float[capacity];
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
    public Forward forward(int[] tokens, int numLogits, int... taps) {
      Sequence.checkForward(c, length, capacity, tokens, numLogits, taps);
      int n = tokens.length;
      float[][][] tapOut = new float[taps.length][n][];
      float[][] logits = new float[numLogits][];
      for (int from = 0; from < n; from += x.length) {
        int to = Math.min(n, from + x.length);
        forwardChunk(java.util.Arrays.copyOfRange(tokens, from, to), from, taps, tapOut);
        // logits of the chunk's positions among the last numLogits
        int first = Math.max(from, n - numLogits);
        if (first < to) {
          float[][] rows = new float[to - first][c.vocabSize()];
          matmul(rows, java.util.Arrays.copyOfRange(x, first - from, to - from), lmHead, null);
          System.arraycopy(rows, 0, logits, first - (n - numLogits), rows.length);
        }
        length += to - from;
      }
      return new Forward(logits, tapOut);
    }

    /**
     * Runs tokens (at most a chunk) at positions length.. through every layer; leaves the final-normed hidden states
     * in x and the taps of input positions offset.. in tapOut. Does not move length.
     */
    private void forwardChunk(int[] tokens, int offset, int[] taps, float[][][] tapOut) {
      int n = tokens.length;
      int hidden = c.hiddenSize();
      int hd = c.headDim();
      int heads = c.numAttentionHeads();
      int kvHeads = c.numKeyValueHeads();
      int groups = c.numKeyValueGroups();
      int kvDim = kvHeads * hd;
      int start = length;
      // the scratch rows this chunk uses
      float[][] x = java.util.Arrays.copyOf(this.x, n);
      float[][] h = java.util.Arrays.copyOf(this.h, n);
      float[][] q = java.util.Arrays.copyOf(this.q, n);
      float[][] k = java.util.Arrays.copyOf(this.k, n);
      float[][] v = java.util.Arrays.copyOf(this.v, n);
      float[][] attention = java.util.Arrays.copyOf(this.attention, n);
      float[][] projected = java.util.Arrays.copyOf(this.projected, n);
      float[][] gate = java.util.Arrays.copyOf(this.gate, n);
      float[][] up = java.util.Arrays.copyOf(this.up, n);

      // token embedding: x [n, hidden]
      for (int t = 0; t < n; t++) {
        System.arraycopy(embedTokens, tokens[t] * hidden, x[t], 0, hidden);
      }
      capture(0, x, offset, taps, tapOut);

      for (int l = 0; l < layers.size(); l++) {
        Qwen2Tensors.Layer<float[]> layer = layers.get(l);

        // attention rmsnorm
        for (int t = 0; t < n; t++) {
          rmsNorm(h[t], x[t], layer.inputLayernorm());
        }

        // q, k, v projections, with bias
        matmul(q, h, layer.qProj(), layer.qProjBias());
        matmul(k, h, layer.kProj(), layer.kProjBias());
        matmul(v, h, layer.vProj(), layer.vProjBias());

        // rotary position embedding on q and k, then append k and v to the cache
        for (int t = 0; t < n; t++) {
          int pos = start + t;
          rope(q[t], heads, pos);
          rope(k[t], kvHeads, pos);
          System.arraycopy(k[t], 0, keys[l], pos * kvDim, kvDim);
          System.arraycopy(v[t], 0, values[l], pos * kvDim, kvDim);
        }

        // grouped-query attention: query head h reads key/value head h / groups, positions 0..pos
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int t = 0; t < n; t++) {
          int visible = start + t + 1;
          java.util.Arrays.fill(attention[t], 0f);
          for (int head = 0; head < heads; head++) {
            int kvOffset = (head / groups) * hd;
            float max = Float.NEGATIVE_INFINITY;
            for (int p = 0; p < visible; p++) {
              scores[p] = dot(q[t], head * hd, keys[l], p * kvDim + kvOffset, hd) * scale;
              max = Math.max(max, scores[p]);
            }
            float sum = 0;
            for (int p = 0; p < visible; p++) {
              scores[p] = (float) Math.exp(scores[p] - max);
              sum += scores[p];
            }
            float inverse = 1 / sum;
            for (int p = 0; p < visible; p++) {
              axpy(attention[t], head * hd, scores[p] * inverse, values[l], p * kvDim + kvOffset, hd);
            }
          }
        }

        // output projection and residual connection
        matmul(projected, attention, layer.oProj(), null);
        for (int t = 0; t < n; t++) {
          add(x[t], projected[t]);
        }

        // mlp rmsnorm, SwiGLU: down(silu(gate(h)) * up(h)), residual connection
        for (int t = 0; t < n; t++) {
          rmsNorm(h[t], x[t], layer.postAttentionLayernorm());
        }
        matmul(gate, h, layer.gateProj(), null);
        matmul(up, h, layer.upProj(), null);
        for (int t = 0; t < n; t++) {
          float[] g = gate[t];
          for (int i = 0; i < g.length; i++) {
            g[i] = (float) (g[i] / (1 + Math.exp(-g[i]))) * up[t][i];
          }
        }
        matmul(projected, gate, layer.downProj(), null);
        for (int t = 0; t < n; t++) {
          add(x[t], projected[t]);
        }
        if (l + 1 < layers.size()) {
          capture(l + 1, x, offset, taps, tapOut);
        }
      }

      // final rmsnorm (Hugging Face's last hidden state is taken after it)
      for (int t = 0; t < n; t++) {
        rmsNorm(x[t], x[t], norm);
      }
      capture(layers.size(), x, offset, taps, tapOut);
    }

    private void capture(int index, float[][] x, int offset, int[] taps, float[][][] tapOut) {
      for (int i = 0; i < taps.length; i++) {
        if (taps[i] == index) {
          for (int t = 0; t < x.length; t++) {
            tapOut[i][offset + t] = x[t].clone();
          }
        }
      }
    }

    /** Rotate-half RoPE on each head of v [heads * headDim], at position pos. */
    private void rope(float[] v, int count, int pos) {
      int hd = c.headDim();
      int half = hd / 2;
      for (int head = 0; head < count; head++) {
        int base = head * hd;
        for (int i = 0; i < half; i++) {
          float cos = ropeCos[pos * half + i];
          float sin = ropeSin[pos * half + i];
          float x1 = v[base + i];
          float x2 = v[base + half + i];
          v[base + i] = x1 * cos - x2 * sin;
          v[base + half + i] = x2 * cos + x1 * sin;
        }
      }
    }
  }

  /** out = x / sqrt(mean(x²) + eps) · weight (out may be x). */
  private void rmsNorm(float[] out, float[] x, float[] weight) {
    double sumSquares = 0;
    for (float v : x) {
      sumSquares += (double) v * v;
    }
    float scale = (float) (1 / Math.sqrt(sumSquares / x.length + c.rmsNormEps()));
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] * scale * weight[i];
    }
  }

  /**
   * out[t] = W · x[t] + bias for every token t, W [rows, in] row-major. Each row of W is read once for all tokens
   * (verification and prefill reuse it from cache); large matrices are split over cores by rows.
   */
  static void matmul(float[][] out, float[][] x, float[] weight, float[] bias) {
    int in = x[0].length;
    int rows = weight.length / in;
    if ((long) rows * in < PARALLEL_WEIGHTS) {
      matmulRows(out, x, weight, bias, in, 0, rows);
      return;
    }
    int chunks = Math.min(rows, Runtime.getRuntime().availableProcessors() * 4);
    IntStream.range(0, chunks).parallel().forEach(chunk -> {
      int from = (int) ((long) rows * chunk / chunks);
      int to = (int) ((long) rows * (chunk + 1) / chunks);
      matmulRows(out, x, weight, bias, in, from, to);
    });
  }

  private static void matmulRows(float[][] out, float[][] x, float[] weight, float[] bias, int in, int from, int to) {
    for (int r = from; r < to; r++) {
      int offset = r * in;
      float b = bias == null ? 0 : bias[r];
      int t = 0;
      for (; t + 4 <= x.length; t += 4) { // prefill and verification: four tokens per pass over the row
        dot4(weight, offset, x[t], x[t + 1], x[t + 2], x[t + 3], in, out, t, r, b);
      }
      for (; t < x.length; t++) {
        out[t][r] = dot(weight, offset, x[t], 0, in) + b;
      }
    }
  }

  /**
   * out[t + j][r] = dot(a, aOff, b_j, 0, n) + bias for j < 4: each weight vector is loaded once for four tokens, and
   * the four independent accumulators keep the FMA units busy. Every result is bit-identical to {@link #dot}'s (the
   * same operations in the same order), so a k-token verify step computes exactly what k single steps would.
   */
  private static void dot4(float[] a, int aOff, float[] b0, float[] b1, float[] b2, float[] b3, int n, float[][] out,
      int t, int r, float bias) {
    int i = 0;
    int bound = SPECIES.loopBound(n);
    FloatVector acc0 = FloatVector.zero(SPECIES);
    FloatVector acc1 = FloatVector.zero(SPECIES);
    FloatVector acc2 = FloatVector.zero(SPECIES);
    FloatVector acc3 = FloatVector.zero(SPECIES);
    for (; i < bound; i += SPECIES.length()) {
      FloatVector w = FloatVector.fromArray(SPECIES, a, aOff + i);
      acc0 = w.fma(FloatVector.fromArray(SPECIES, b0, i), acc0);
      acc1 = w.fma(FloatVector.fromArray(SPECIES, b1, i), acc1);
      acc2 = w.fma(FloatVector.fromArray(SPECIES, b2, i), acc2);
      acc3 = w.fma(FloatVector.fromArray(SPECIES, b3, i), acc3);
    }
    float s0 = sum(acc0);
    float s1 = sum(acc1);
    float s2 = sum(acc2);
    float s3 = sum(acc3);
    for (; i < n; i++) {
      s0 += a[aOff + i] * b0[i];
      s1 += a[aOff + i] * b1[i];
      s2 += a[aOff + i] * b2[i];
      s3 += a[aOff + i] * b3[i];
    }
    out[t][r] = s0 + bias;
    out[t + 1][r] = s1 + bias;
    out[t + 2][r] = s2 + bias;
    out[t + 3][r] = s3 + bias;
  }

  /** Σ a[aOff + i] · b[bOff + i] for i < n, with SIMD fused multiply-adds. */
  static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
    int i = 0;
    int bound = SPECIES.loopBound(n);
    FloatVector acc = FloatVector.zero(SPECIES);
    for (; i < bound; i += SPECIES.length()) {
      acc = FloatVector.fromArray(SPECIES, a, aOff + i).fma(FloatVector.fromArray(SPECIES, b, bOff + i), acc);
    }
    float sum = sum(acc);
    for (; i < n; i++) {
      sum += a[aOff + i] * b[bOff + i];
    }
    return sum;
  }

  /**
   * The lanes of {@code v} added in a fixed order (a tree of lane-wise additions). Not {@code reduceLanes(ADD)}: the Vector API leaves the order of a
   * float reduction to the implementation, and HotSpot's compiled code adds in another order than the interpreter's,
   * so the same forward pass gave results differing in the 7th digit before and after the JIT compiled it (and a
   * greedy choice between two near-tied tokens could differ between the first request and the next). Measured on a
   * 128-wide row (AVX2, one JVM, 2026-11-23): 129 of 200 dot products changed bits once compiled with reduceLanes, none
   * with this; it costs about 5 ns a row (26 against 21), a few percent of a decode step.
   */
  private static float sum(FloatVector v) {
    for (VectorShuffle<Float> fold : FOLDS) {
      v = v.add(v.rearrange(fold));
    }
    return v.lane(0);
  }

  /** Lane i with lane i ^ step, for step = lanes / 2, ..., 1: a fixed tree of lane-wise additions. */
  @SuppressWarnings("unchecked")
  private static final VectorShuffle<Float>[] FOLDS = java.util.stream.IntStream
      .iterate(SPECIES.length() / 2, step -> step >= 1, step -> step / 2)
      .mapToObj(step -> VectorShuffle.fromOp(SPECIES, i -> i ^ step)).toArray(VectorShuffle[]::new);

  /** y[yOff + i] += alpha · x[xOff + i] for i < n. */
  static void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
    int i = 0;
    int bound = SPECIES.loopBound(n);
    FloatVector a = FloatVector.broadcast(SPECIES, alpha);
    for (; i < bound; i += SPECIES.length()) {
      FloatVector.fromArray(SPECIES, x, xOff + i).fma(a, FloatVector.fromArray(SPECIES, y, yOff + i))
          .intoArray(y, yOff + i);
    }
    for (; i < n; i++) {
      y[yOff + i] += alpha * x[xOff + i];
    }
  }

  private static void add(float[] x, float[] delta) {
    for (int i = 0; i < x.length; i++) {
      x[i] += delta[i];
    }
  }
}
