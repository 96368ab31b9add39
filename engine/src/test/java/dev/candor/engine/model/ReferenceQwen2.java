package dev.candor.engine.model;

import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.checkpoint.Tensor;
import dev.candor.engine.checkpoint.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * The oracle: a slow, obviously correct Qwen2 forward pass in plain Java, one position at a time, accumulating in
 * double. It shares nothing with the engine but the checkpoint reader; every fast path is checked against it. Qwen3
 * (modeling_qwen3.py) differs by an RMSNorm on each head's q and k before RoPE and no q/k/v biases; Llama and Mistral
 * by the biases alone.
 */
public final class ReferenceQwen2 {
  private final Qwen2Config c;
  private final boolean bf16Cache;
  private final float[] embed; // [vocab * hidden]
  private final float[] lmHead; // [vocab * hidden]
  private final float[] norm; // [hidden]
  private final float[][] inNorm, wq, bq, wk, bk, wv, bv, wo, qNorm, kNorm, postNorm, wGate, wUp,
      wDown; // per layer; qNorm, kNorm [headDim] (null unless Qwen3), biases null unless Qwen2
  private final float[][] cos, sin; // [position][headDim / 2]
  // cache: per layer, per position, [kvHeads * headDim]
  private final List<List<double[]>> keys = new ArrayList<>();
  private final List<List<double[]>> values = new ArrayList<>();

  ReferenceQwen2(Weights w, Qwen2Config c) {
    this(w, c, false);
  }

  /**
   * With {@code bf16Cache}, keys and values are rounded to bfloat16 as they enter the cache, as the CUDA backend
   * stores them; everything else stays in double.
   */
  public ReferenceQwen2(Weights w, Qwen2Config c, boolean bf16Cache) {
    this.c = c;
    this.bf16Cache = bf16Cache;
    embed = get(w, Qwen2Tensors.EMBED_TOKENS);
    lmHead = c.tieWordEmbeddings() ? embed : get(w, Qwen2Tensors.LM_HEAD);
    norm = get(w, Qwen2Tensors.NORM);
    int layers = c.numHiddenLayers();
    inNorm = new float[layers][];
    wq = new float[layers][];
    bq = new float[layers][];
    wk = new float[layers][];
    bk = new float[layers][];
    wv = new float[layers][];
    bv = new float[layers][];
    wo = new float[layers][];
    qNorm = new float[layers][];
    kNorm = new float[layers][];
    postNorm = new float[layers][];
    wGate = new float[layers][];
    wUp = new float[layers][];
    wDown = new float[layers][];
    for (int l = 0; l < layers; l++) {
      Qwen2Tensors.Layer<float[]> layer = Qwen2Tensors.layer(w, c, l).map(Tensor::toFloatArray);
      inNorm[l] = layer.inputLayernorm();
      wq[l] = layer.qProj();
      bq[l] = layer.qProjBias();
      wk[l] = layer.kProj();
      bk[l] = layer.kProjBias();
      wv[l] = layer.vProj();
      bv[l] = layer.vProjBias();
      wo[l] = layer.oProj();
      qNorm[l] = layer.qNorm();
      kNorm[l] = layer.kNorm();
      postNorm[l] = layer.postAttentionLayernorm();
      wGate[l] = layer.gateProj();
      wUp[l] = layer.upProj();
      wDown[l] = layer.downProj();
      keys.add(new ArrayList<>());
      values.add(new ArrayList<>());
    }
    int half = c.headDim() / 2;
    int positions = Math.min(c.maxPositionEmbeddings(), 1024);
    cos = new float[positions][half];
    sin = new float[positions][half];
    // Hugging Face: inv_freq in float32 (RopeParameters: default or YaRN); angle = position * inv_freq in float32;
    // cos and sin times the attention factor
    float[] inverseFrequencies = c.ropeParameters().inverseFrequencies(c.headDim());
    float scale = (float) c.ropeParameters().attentionScaling();
    for (int i = 0; i < half; i++) {
      for (int p = 0; p < positions; p++) {
        float angle = p * inverseFrequencies[i];
        cos[p][i] = (float) Math.cos(angle) * scale;
        sin[p][i] = (float) Math.sin(angle) * scale;
      }
    }
  }

  private static void roundToBf16(double[] v) {
    for (int i = 0; i < v.length; i++) {
      v[i] = dev.candor.engine.checkpoint.DType.bf16ToFloat(dev.candor.engine.checkpoint.DType.floatToBf16((float) v[i]));
    }
  }

  private static float[] get(Weights w, String name) {
    return w.get(name).toFloatArray();
  }

  int length() {
    return keys.getFirst().size();
  }

  void truncate(int length) {
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      keys.get(l).subList(length, keys.get(l).size()).clear();
      values.get(l).subList(length, values.get(l).size()).clear();
    }
  }

  /** Appends one token; returns its hidden states [numHiddenLayers + 1][hidden] and logits in the last row. */
  public double[][] step(int token) {
    return step(token, false);
  }

  /**
   * As {@link #step(int)}; with {@code bf16Inputs}, the inputs of the projections (the normed hidden state, the
   * attention output, the SwiGLU output) are rounded to bfloat16, as the CUDA backend's GEMM prefill rounds them.
   */
  public double[][] step(int token, boolean bf16Inputs) {
    int hidden = c.hiddenSize();
    int hd = c.headDim();
    int heads = c.numAttentionHeads();
    int kvHeads = c.numKeyValueHeads();
    int pos = length();
    double[][] out = new double[c.numHiddenLayers() + 2][];
    double[] x = new double[hidden];
    for (int i = 0; i < hidden; i++) {
      x[i] = embed[token * hidden + i];
    }
    out[0] = x.clone();
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      double[] h = rmsNorm(x, inNorm[l]);
      if (bf16Inputs) {
        roundToBf16(h);
      }
      double[] q = matvec(wq[l], bq[l], h, heads * hd);
      double[] k = matvec(wk[l], bk[l], h, kvHeads * hd);
      double[] v = matvec(wv[l], bv[l], h, kvHeads * hd);
      if (qNorm[l] != null) {
        normEachHead(q, heads, qNorm[l]);
        normEachHead(k, kvHeads, kNorm[l]);
      }
      rotate(q, heads, pos);
      rotate(k, kvHeads, pos);
      if (bf16Cache) {
        roundToBf16(k);
        roundToBf16(v);
      }
      keys.get(l).add(k);
      values.get(l).add(v);
      double[] att = new double[heads * hd];
      for (int head = 0; head < heads; head++) {
        int kvHead = head / (heads / kvHeads);
        double[] scores = new double[pos + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t <= pos; t++) {
          double s = 0;
          for (int d = 0; d < hd; d++) {
            s += q[head * hd + d] * keys.get(l).get(t)[kvHead * hd + d];
          }
          scores[t] = s / Math.sqrt(hd);
          max = Math.max(max, scores[t]);
        }
        double sum = 0;
        for (int t = 0; t <= pos; t++) {
          scores[t] = Math.exp(scores[t] - max);
          sum += scores[t];
        }
        for (int t = 0; t <= pos; t++) {
          for (int d = 0; d < hd; d++) {
            att[head * hd + d] += scores[t] / sum * values.get(l).get(t)[kvHead * hd + d];
          }
        }
      }
      if (bf16Inputs) {
        roundToBf16(att);
      }
      double[] o = matvec(wo[l], null, att, hidden);
      for (int i = 0; i < hidden; i++) {
        x[i] += o[i];
      }
      h = rmsNorm(x, postNorm[l]);
      if (bf16Inputs) {
        roundToBf16(h);
      }
      double[] gate = matvec(wGate[l], null, h, c.intermediateSize());
      double[] up = matvec(wUp[l], null, h, c.intermediateSize());
      for (int i = 0; i < gate.length; i++) {
        gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
      }
      if (bf16Inputs) {
        roundToBf16(gate);
      }
      double[] down = matvec(wDown[l], null, gate, hidden);
      for (int i = 0; i < hidden; i++) {
        x[i] += down[i];
      }
      out[l + 1] = x.clone();
    }
    double[] last = rmsNorm(x, norm);
    out[c.numHiddenLayers()] = last;
    out[c.numHiddenLayers() + 1] = matvec(lmHead, null, last, c.vocabSize());
    return out;
  }

  private double[] rmsNorm(double[] x, float[] weight) {
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    double scale = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] * scale * weight[i];
    }
    return out;
  }

  /** Qwen3's q_norm / k_norm: an RMSNorm of weight [headDim] over each of the heads of v [heads * headDim]. */
  private void normEachHead(double[] v, int heads, float[] weight) {
    int hd = c.headDim();
    for (int head = 0; head < heads; head++) {
      double[] normed = rmsNorm(java.util.Arrays.copyOfRange(v, head * hd, (head + 1) * hd), weight);
      System.arraycopy(normed, 0, v, head * hd, hd);
    }
  }

  /** y = W x + b with W [rows, x.length] row-major. */
  private static double[] matvec(float[] w, float[] b, double[] x, int rows) {
    double[] y = new double[rows];
    for (int r = 0; r < rows; r++) {
      double s = b == null ? 0 : b[r];
      for (int i = 0; i < x.length; i++) {
        s += w[r * x.length + i] * x[i];
      }
      y[r] = s;
    }
    return y;
  }

  /** Rotate-half RoPE on each head of v [heads * headDim] at position pos. */
  private void rotate(double[] v, int heads, int pos) {
    int hd = c.headDim();
    int half = hd / 2;
    for (int head = 0; head < heads; head++) {
      int base = head * hd;
      for (int i = 0; i < half; i++) {
        double x1 = v[base + i];
        double x2 = v[base + half + i];
        v[base + i] = x1 * cos[pos][i] - x2 * sin[pos][i];
        v[base + half + i] = x2 * cos[pos][i] + x1 * sin[pos][i];
      }
    }
  }
}
