package dev.candor.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.checkpoint.Tensor;
import dev.candor.engine.checkpoint.Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The weights of a Qwen2ForCausalLM as DJL NDArrays, named after their checkpoint keys. Linear weights keep Hugging
 * Face's [out, in] layout: {@code Linear.linear} computes x · Wᵀ + b without a copy.
 *
 * @param embedTokens [vocab, hidden]
 * @param layers the decoder layers, in order (shapes in {@link Qwen2Tensors.Layer})
 * @param norm [hidden], the final RMSNorm
 * @param lmHead [vocab, hidden]; the same array as embedTokens when tie_word_embeddings
 */
public record Qwen2Weights(NDArray embedTokens, List<Qwen2Tensors.Layer<NDArray>> layers, NDArray norm,
    NDArray lmHead) {

  /** Builds the weights from a function that returns the array for a checkpoint key. */
  public static Qwen2Weights build(Qwen2Config config, Function<String, NDArray> array) {
    List<Qwen2Tensors.Layer<NDArray>> layers = new ArrayList<>();
    for (int l = 0; l < config.numHiddenLayers(); l++) {
      layers.add(Qwen2Tensors.layer(config, l).map(spec -> array.apply(spec.name())));
    }
    NDArray embedTokens = array.apply(Qwen2Tensors.EMBED_TOKENS);
    NDArray lmHead = config.tieWordEmbeddings() ? embedTokens : array.apply(Qwen2Tensors.LM_HEAD);
    return new Qwen2Weights(embedTokens, List.copyOf(layers), array.apply(Qwen2Tensors.NORM), lmHead);
  }

  /**
   * Loads every tensor, checking its shape against config.json, converted to float32 into memory owned by
   * {@code arena} (PyTorch on CPU wraps that memory without a second copy). The arena must outlive the arrays.
   */
  public static Qwen2Weights load(Weights weights, Qwen2Config config, NDManager manager, Arena arena) {
    return build(config, name -> toNDArray(Qwen2Tensors.get(weights, config, name), manager, arena));
  }

  /** Every distinct parameter array, lm_head counted once when tied. */
  public List<NDArray> parameters() {
    List<NDArray> all = new ArrayList<>();
    all.add(embedTokens);
    for (Qwen2Tensors.Layer<NDArray> layer : layers) {
      all.addAll(layer.all());
    }
    all.add(norm);
    if (lmHead != embedTokens) {
      all.add(lmHead);
    }
    return all;
  }

  /** Bytes of float32 weights one decode step reads (everything but the embedding rows it does not gather). */
  public long bytesReadPerToken() {
    long total = 0;
    for (NDArray a : parameters()) {
      if (a != embedTokens || lmHead == embedTokens) {
        total += a.getShape().size() * 4;
      }
    }
    return total;
  }

  private static final long MAX_CHUNK_BYTES = 1L << 30;

  static NDArray toNDArray(Tensor tensor, NDManager manager, Arena arena) {
    long[] shape = tensor.shape();
    long numel = tensor.numel();
    long rowElems = shape.length == 0 ? 1 : numel / Math.max(1, shape[0]);
    long rows = shape.length == 0 ? 1 : shape[0];
    long rowsPerChunk = Math.max(1, MAX_CHUNK_BYTES / Math.max(1, rowElems * 4));
    if (rows <= rowsPerChunk || shape.length == 0) {
      return chunk(tensor, 0, numel, new Shape(shape), manager, arena);
    }
    // A ByteBuffer holds at most 2 GB: build a very large matrix from row blocks.
    NDList parts = new NDList();
    for (long r = 0; r < rows; r += rowsPerChunk) {
      long n = Math.min(rowsPerChunk, rows - r);
      long[] partShape = shape.clone();
      partShape[0] = n;
      parts.add(chunk(tensor, r * rowElems, n * rowElems, new Shape(partShape), manager, arena));
    }
    NDArray whole = NDArrays.concat(parts, 0);
    parts.close();
    return whole;
  }

  private static NDArray chunk(Tensor tensor, long from, long count, Shape shape, NDManager manager, Arena arena) {
    MemorySegment f32 = arena.allocate(count * 4, 64);
    ValueLayout.OfFloat layout = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.nativeOrder());
    float[] buffer = new float[(int) Math.min(count, 1 << 20)];
    for (long i = 0; i < count; i += buffer.length) {
      int n = (int) Math.min(buffer.length, count - i);
      tensor.copyTo(from + i, buffer, 0, n);
      MemorySegment.copy(buffer, 0, f32, layout, i * 4, n);
    }
    return manager.create(f32.asByteBuffer().order(ByteOrder.nativeOrder()), shape, DataType.FLOAT32);
  }
}
