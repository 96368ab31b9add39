package dev.candor.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.candor.engine.checkpoint.Qwen2Config;

/**
 * Keys and values of every layer for one sequence, preallocated to its capacity. Appending writes in place;
 * truncating only moves {@link #length}, so rolling back rejected draft tokens costs nothing.
 */
final class KvCache implements AutoCloseable {
  private final NDManager manager;
  final NDArray[] keys; // per layer [1, numKeyValueHeads, capacity, headDim]
  final NDArray[] values; // per layer [1, numKeyValueHeads, capacity, headDim]
  final int capacity;
  int length;

  KvCache(Qwen2Config config, NDManager parent, int capacity) {
    this.manager = parent.newSubManager();
    this.capacity = capacity;
    Shape shape = new Shape(1, config.numKeyValueHeads(), capacity, config.headDim());
    keys = new NDArray[config.numHiddenLayers()];
    values = new NDArray[config.numHiddenLayers()];
    for (int l = 0; l < keys.length; l++) {
      keys[l] = manager.zeros(shape, DataType.FLOAT32);
      values[l] = manager.zeros(shape, DataType.FLOAT32);
    }
  }

  /** Writes k, v [1, numKeyValueHeads, n, headDim] at positions start..start+n-1 of layer {@code layer}. */
  void write(int layer, int start, NDArray k, NDArray v) {
    NDIndex at = new NDIndex().addAllDim(2).addSliceDim(start, start + k.getShape().get(2));
    keys[layer].set(at, k);
    values[layer].set(at, v);
  }

  /** The first {@code end} positions of layer {@code layer}: [1, numKeyValueHeads, end, headDim] views. */
  NDArray keys(int layer, int end) {
    return keys[layer].get(new NDIndex().addAllDim(2).addSliceDim(0, end));
  }

  NDArray values(int layer, int end) {
    return values[layer].get(new NDIndex().addAllDim(2).addSliceDim(0, end));
  }

  /** Keys and values of some positions of every layer, on the host: [layer][kvHeads * positions * headDim]. */
  record Block(float[][] keys, float[][] values, int positions, int kvHeads, int headDim)
      implements dev.candor.engine.model.KvBlock {
    @Override
    public long bytes() {
      return 2L * keys.length * keys[0].length * Float.BYTES;
    }
  }

  /** A host copy of positions [from, to) of every layer. */
  Block copyOut(int from, int to) {
    float[][] k = new float[keys.length][];
    float[][] v = new float[keys.length][];
    NDIndex at = new NDIndex().addAllDim(2).addSliceDim(from, to);
    for (int l = 0; l < keys.length; l++) {
      try (NDArray ks = keys[l].get(at); NDArray vs = values[l].get(at)) {
        k[l] = ks.toFloatArray();
        v[l] = vs.toFloatArray();
      }
    }
    return new Block(k, v, to - from, (int) keys[0].getShape().get(1), (int) keys[0].getShape().get(3));
  }

  /** Writes a block at positions length .. length + block.positions - 1 and grows the cache by it. */
  void append(Block block) {
    Shape shape = new Shape(1, block.kvHeads(), block.positions(), block.headDim());
    for (int l = 0; l < keys.length; l++) {
      try (NDArray k = manager.create(block.keys()[l], shape); NDArray v = manager.create(block.values()[l], shape)) {
        write(l, length, k, v);
      }
    }
    length += block.positions();
  }

  @Override
  public void close() {
    manager.close();
  }
}
