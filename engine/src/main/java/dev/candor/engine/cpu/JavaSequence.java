package dev.candor.engine.cpu;

import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.KvBlock;
import dev.candor.engine.model.Sequence;
import java.util.List;

/**
 * One sequence on the {@link JavaBackend}: its KV cache, allocated once when the sequence is made, and the steps of a
 * forward pass that touch it (storing a row's key and value, attending over the cache). The pass itself, the same for
 * one sequence and for a batch of them, is {@link ForwardPass}; a forward of this sequence alone is a batch of one.
 */
final class JavaSequence implements Sequence {
  private final JavaBackend backend;
  private final Qwen2Config c;
  private final int capacity;
  private final int kvHeads, hd, kvDim;
  // the KV cache, per layer; keys transposed so attention reads positions contiguously (see Attention)
  private final float[][] keys; // [layers][kvHeads, headDim, capacity]
  private final float[][] values; // [layers][kvHeads, capacity, headDim]
  private int length;

  JavaSequence(JavaBackend backend, int capacity) {
    this.backend = backend;
    this.c = backend.c();
    this.capacity = capacity;
    kvHeads = c.numKeyValueHeads();
    hd = c.headDim();
    kvDim = kvHeads * hd;
    keys = new float[c.numHiddenLayers()][kvDim * capacity];
    values = new float[c.numHiddenLayers()][kvDim * capacity];
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
    return backend.forward(List.of(new BatchEntry(this, tokens, numLogits, false, taps))).getFirst();
  }

  JavaBackend backend() {
    return backend;
  }

  /** The positions of a forward's rows are final: the cache now holds {@code n} more. */
  void advance(int n) {
    length += n;
  }

  /**
   * Row t's key and value (of k, v [rows, kvHeads * headDim]) at position pos of layer l's cache (keys transposed:
   * [kvHead, d, position]).
   */
  void store(int l, float[] k, float[] v, int t, int pos) {
    for (int g = 0; g < kvHeads; g++) {
      for (int d = 0; d < hd; d++) {
        keys[l][(g * hd + d) * capacity + pos] = k[t * kvDim + g * hd + d];
      }
      System.arraycopy(v, t * kvDim + g * hd, values[l], (g * capacity + pos) * hd, hd);
    }
  }

  /**
   * Grouped-query attention of q's rows [row, row + n) ([rows, heads * headDim], rotated), at positions length() ..,
   * over layer l's cache up to each row's own position, into the same rows of out.
   */
  void attend(int l, float[] q, int row, int n, float[] out) {
    backend.attention().run(q, row, n, length, keys[l], values[l], capacity, out);
  }
}
