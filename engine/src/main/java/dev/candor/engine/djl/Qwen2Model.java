package dev.candor.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.model.Rope;
import java.util.List;

/**
 * The Qwen2 forward pass on DJL NDArrays, in the order of the math (Hugging Face {@code modeling_qwen2.py}; Qwen2 is
 * Llama with biases on the q/k/v projections; Qwen3, {@code modeling_qwen3.py}, is Llama with an RMSNorm on each head's
 * q and k before RoPE). The same code serves inference (one sequence or several laid end to end, each with its own
 * KV cache) and training (a batch of sequences, no cache, autograd on), so the trained models are exactly the models
 * the engine runs.
 *
 * <p>Every array made here belongs to the caller's scope (an {@code NDScope} or a per-step manager) and is freed with
 * it; nothing is written into the weights.
 */
public final class Qwen2Model {
  private final Qwen2Config config;
  private final Qwen2Weights weights;
  private final NDArray ropeCos; // [maxPositionEmbeddings, 1, headDim]: cos of each angle, twice (both halves)
  private final NDArray ropeSin; // [maxPositionEmbeddings, 1, headDim]
  private final NDArray rotateHalf; // [headDim, headDim]: x · rotateHalf = [−x2, x1]
  private final NDArray rmsNormEps; // scalar
  private final NDArray attentionScale; // scalar 1 / sqrt(headDim)

  public Qwen2Model(Qwen2Config config, Qwen2Weights weights, NDManager manager) {
    this.config = config;
    this.weights = weights;
    float[][] rope = Rope.ropeTables(config);
    int half = config.headDim() / 2;
    Shape table = new Shape(config.maxPositionEmbeddings(), 1, config.headDim());
    this.ropeCos = manager.create(bothHalves(rope[0], half), table);
    this.ropeSin = manager.create(bothHalves(rope[1], half), table);
    float[] rotation = new float[config.headDim() * config.headDim()];
    for (int i = 0; i < half; i++) {
      rotation[(half + i) * config.headDim() + i] = -1; // output i takes −x2[i]
      rotation[i * config.headDim() + half + i] = 1; // output half + i takes x1[i]
    }
    this.rotateHalf = manager.create(rotation, new Shape(config.headDim(), config.headDim()));
    this.rmsNormEps = manager.create((float) config.rmsNormEps());
    this.attentionScale = manager.create((float) (1.0 / Math.sqrt(config.headDim())));
  }

  public Qwen2Config config() {
    return config;
  }

  public Qwen2Weights weights() {
    return weights;
  }

  /**
   * One sequence's rows in a forward: rows [row, row + n) of the token axis, at positions start .. start + n - 1,
   * appended to and attending over {@code cache} (null: over these rows alone, as training does).
   */
  public record Segment(int row, int n, int start, KvCache cache) {
    int end() {
      return start + n;
    }
  }

  /**
   * Runs tokens through the decoder stack: one sequence, or a training batch of them without a cache.
   *
   * @param tokens [batch, n] int64 token ids at positions start .. start + n - 1
   * @param start position of the first token (the cache length; 0 without a cache)
   * @param cache the KV cache to append to and attend over, or null to attend over {@code tokens} alone (training)
   * @param taps Hugging Face hidden-state indices to capture; {@code tapOut[i]} receives [batch, n, hidden]
   * @return the final-normed hidden states [batch, n, hidden]
   */
  public NDArray forward(NDArray tokens, int start, KvCache cache, int[] taps, NDArray[] tapOut) {
    int n = (int) tokens.getShape().get(1);
    return forward(tokens, List.of(new Segment(0, n, start, cache)), taps, tapOut);
  }

  /**
   * Runs several sequences' new tokens, laid end to end, through the decoder stack in one pass: every norm and
   * projection is one product over all rows (the weights read once); only RoPE (each row at its own position), the
   * cache append and attention are per segment.
   *
   * @param tokens [batch, rows] int64 token ids; the segments tile the rows in order
   * @param segments each sequence's rows, positions and cache
   * @param taps Hugging Face hidden-state indices to capture; {@code tapOut[i]} receives [batch, rows, hidden]
   * @return the final-normed hidden states [batch, rows, hidden]
   */
  public NDArray forward(NDArray tokens, List<Segment> segments, int[] taps, NDArray[] tapOut) {
    NDManager manager = tokens.getManager();
    NDArray cos = ropeRows(ropeCos, segments); // [rows, 1, headDim]
    NDArray sin = ropeRows(ropeSin, segments);
    NDArray[] masks = new NDArray[segments.size()]; // each [n, start + n], or null when n == 1
    for (int s = 0; s < masks.length; s++) {
      Segment seg = segments.get(s);
      masks[s] = seg.n() == 1 ? null : causalMask(manager, seg.start(), seg.n());
    }

    // token embedding
    NDArray x = tokens.getNDArrayInternal().embedding(tokens, weights.embedTokens(), SparseFormat.DENSE).singletonOrThrow();
    capture(0, x, taps, tapOut);

    for (int l = 0; l < weights.layers().size(); l++) {
      x = layer(l, x, cos, sin, segments, masks);
      if (l + 1 < weights.layers().size()) {
        capture(l + 1, x, taps, tapOut);
      }
    }

    // final rmsnorm (Hugging Face's last hidden state is taken after it)
    x = rmsNorm(x, weights.norm());
    capture(weights.layers().size(), x, taps, tapOut);
    return x;
  }

  /** One decoder layer over all rows, x [batch, rows, hidden] → [batch, rows, hidden]. */
  private NDArray layer(int l, NDArray x, NDArray cos, NDArray sin, List<Segment> segments, NDArray[] masks) {
    Qwen2Tensors.Layer<NDArray> layer = weights.layers().get(l);
    long rows = x.getShape().get(1);

    // attention rmsnorm
    NDArray h = rmsNorm(x, layer.inputLayernorm());

    // q, k, v projections, with bias where the model has it (Qwen2): [batch, rows, heads, headDim]
    NDArray q = linear(h, layer.qProj(), layer.qProjBias()).reshape(-1, rows, config.numAttentionHeads(), config.headDim());
    NDArray k = linear(h, layer.kProj(), layer.kProjBias()).reshape(-1, rows, config.numKeyValueHeads(), config.headDim());
    NDArray v = linear(h, layer.vProj(), layer.vProjBias()).reshape(-1, rows, config.numKeyValueHeads(), config.headDim());

    // Qwen3: an RMSNorm over each head of q and k (the last axis, headDim)
    if (layer.qNorm() != null) {
      q = rmsNorm(q, layer.qNorm());
      k = rmsNorm(k, layer.kNorm());
    }

    // rotary position embedding on q and k, each row at its own sequence's position
    q = rope(q, cos, sin);
    k = rope(k, cos, sin);

    // each sequence appends to its kv cache and attends over everything it holds: [batch, rows, heads * headDim]
    NDArray attention = attendEach(l, q, k, v, segments, masks);

    // output projection and residual connection
    x = x.add(linear(attention, layer.oProj(), null));

    // mlp rmsnorm, SwiGLU: down(silu(gate(h)) * up(h)), residual connection
    h = rmsNorm(x, layer.postAttentionLayernorm());
    NDArray gate = linear(h, layer.gateProj(), null);
    NDArray up = linear(h, layer.upProj(), null);
    return x.add(linear(gate.mul(Activation.sigmoid(gate)).mul(up), layer.downProj(), null));
  }

  /**
   * Attention of layer l for every segment over its own cache, the outputs laid back end to end.
   *
   * @param q [batch, rows, heads, headDim], rotated
   * @param k [batch, rows, kvHeads, headDim], rotated
   * @param v [batch, rows, kvHeads, headDim]
   * @return [batch, rows, heads * headDim]
   */
  private NDArray attendEach(int l, NDArray q, NDArray k, NDArray v, List<Segment> segments, NDArray[] masks) {
    if (segments.size() == 1) {
      return attendOne(l, segments.getFirst(), q, k, v, masks[0]);
    }
    NDList parts = new NDList(segments.size());
    for (int s = 0; s < segments.size(); s++) {
      Segment seg = segments.get(s);
      NDIndex rows = new NDIndex().addAllDim().addSliceDim(seg.row(), seg.row() + seg.n());
      parts.add(attendOne(l, seg, q.get(rows), k.get(rows), v.get(rows), masks[s]));
    }
    return NDArrays.concat(parts, 1);
  }

  /** One segment's attention: q, k, v [batch, n, heads or kvHeads, headDim] → [batch, n, heads * headDim]. */
  private NDArray attendOne(int l, Segment seg, NDArray q, NDArray k, NDArray v, NDArray mask) {
    // heads first: [batch, heads, n, headDim]
    q = q.transpose(0, 2, 1, 3);
    k = k.transpose(0, 2, 1, 3);
    v = v.transpose(0, 2, 1, 3);
    NDArray keys = k;
    NDArray values = v;
    if (seg.cache() != null) {
      seg.cache().write(l, seg.start(), k, v);
      keys = seg.cache().keys(l, seg.end()); // [1, kvHeads, end, headDim]
      values = seg.cache().values(l, seg.end());
    }
    return attention(q, keys, values, mask, seg.n());
  }

  /** The rows of a RoPE table [maxPositions, 1, headDim] at every segment's positions: [rows, 1, headDim]. */
  private static NDArray ropeRows(NDArray table, List<Segment> segments) {
    if (segments.size() == 1) {
      return table.get(new NDIndex().addSliceDim(segments.getFirst().start(), segments.getFirst().end()));
    }
    NDList parts = new NDList(segments.size());
    for (Segment seg : segments) {
      parts.add(table.get(new NDIndex().addSliceDim(seg.start(), seg.end())));
    }
    return NDArrays.concat(parts, 0);
  }

  /** Next-token logits [.., vocab] of final-normed hidden states [.., hidden]. */
  public NDArray logits(NDArray hidden) {
    return linear(hidden, weights.lmHead(), null);
  }

  /**
   * Grouped-query attention. Query head h reads key/value head h / groups (Hugging Face's repeat_kv), done without
   * copying keys by folding the groups into the query rows.
   *
   * @param q [batch, heads, n, headDim], already rotated
   * @param keys [batch, kvHeads, t, headDim]
   * @param values [batch, kvHeads, t, headDim]
   * @param mask [n, t] additive causal mask, or null when n == 1
   * @return [batch, n, heads * headDim]
   */
  private NDArray attention(NDArray q, NDArray keys, NDArray values, NDArray mask, int n) {
    int kvHeads = config.numKeyValueHeads();
    int groups = config.numKeyValueGroups();
    long t = keys.getShape().get(2);
    NDArray grouped = q.mul(attentionScale).reshape(-1, kvHeads, groups * n, config.headDim());
    NDArray scores = grouped.matMul(keys.transpose(0, 1, 3, 2)); // [batch, kvHeads, groups * n, t]
    if (mask != null) {
      scores = scores.reshape(-1, kvHeads, groups, n, t).add(mask).reshape(-1, kvHeads, groups * n, t);
    }
    NDArray out = scores.softmax(-1).matMul(values); // [batch, kvHeads, groups * n, headDim]
    return out.reshape(-1, config.numAttentionHeads(), n, config.headDim())
        .transpose(0, 2, 1, 3)
        .reshape(-1, n, (long) config.numAttentionHeads() * config.headDim());
  }

  /** RMSNorm: x / sqrt(mean(x²) + eps) · weight, over the last axis. */
  private NDArray rmsNorm(NDArray x, NDArray weight) {
    NDArray meanSquare = x.square().mean(new int[] {-1}, true);
    return x.div(meanSquare.add(rmsNormEps).sqrt()).mul(weight);
  }

  /**
   * Rotary embedding, rotate-half form: with x = [x1, x2] split at headDim / 2,
   * rope(x) = x·cos + [−x2, x1]·sin. The half rotation is a product with a fixed ±1 permutation matrix (exact in
   * float), which costs one op where slicing and concatenating cost six.
   *
   * @param x [batch, n, heads, headDim]
   * @param cos [n, 1, headDim]
   * @param sin [n, 1, headDim]
   */
  private NDArray rope(NDArray x, NDArray cos, NDArray sin) {
    return x.mul(cos).add(x.matMul(rotateHalf).mul(sin));
  }

  /** [positions * half] → [positions * 2 * half]: each row's values written twice, for the two halves of a head. */
  private static float[] bothHalves(float[] table, int half) {
    int positions = table.length / half;
    float[] out = new float[positions * 2 * half];
    for (int p = 0; p < positions; p++) {
      System.arraycopy(table, p * half, out, p * 2 * half, half);
      System.arraycopy(table, p * half, out, p * 2 * half + half, half);
    }
    return out;
  }

  private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
    return Linear.linear(x, weight, bias).singletonOrThrow();
  }

  private static void capture(int index, NDArray x, int[] taps, NDArray[] tapOut) {
    for (int i = 0; i < taps.length; i++) {
      if (taps[i] == index) {
        tapOut[i] = x;
      }
    }
  }

  /** Additive mask [n, start + n]: query i (at position start + i) sees keys 0 .. start + i. */
  static NDArray causalMask(NDManager manager, int start, int n) {
    int t = start + n;
    float[] mask = new float[n * t];
    for (int i = 0; i < n; i++) {
      for (int j = start + i + 1; j < t; j++) {
        mask[i * t + j] = Float.NEGATIVE_INFINITY;
      }
    }
    return manager.create(mask, new Shape(n, t));
  }
}
