package dev.candor.engine.grammar;

import java.util.Arrays;

/**
 * The set of token ids allowed at one position, over a model's whole vocabulary (logit rows may be longer than the
 * tokenizer: Qwen pads 151,665 ids to 151,936). Stored as a sorted id list when that is smaller than a bitset (most
 * positions between JSON tokens allow a few hundred ids), else as a bitset (inside a string nearly all are allowed).
 */
public final class TokenMask {
  private final int size;
  private final int count;
  private final long[] bits; // dense form, or null
  private final int[] ids; // sparse form, sorted, or null

  private TokenMask(int size, int count, long[] bits, int[] ids) {
    this.size = size;
    this.count = count;
    this.bits = bits;
    this.ids = ids;
  }

  /** The mask of the ids set in {@code bits}, in whichever form is smaller. */
  static TokenMask of(int size, long[] bits) {
    int count = 0;
    for (long w : bits) {
      count += Long.bitCount(w);
    }
    if (count >= size / 64) {
      return new TokenMask(size, count, bits, null);
    }
    int[] ids = new int[count];
    int n = 0;
    for (int w = 0; w < bits.length; w++) {
      for (long word = bits[w]; word != 0; word &= word - 1) {
        ids[n++] = w * 64 + Long.numberOfTrailingZeros(word);
      }
    }
    return new TokenMask(size, count, null, ids);
  }

  static TokenMask none(int size) {
    return new TokenMask(size, 0, null, new int[0]);
  }

  /** Vocabulary size: the length of the logit rows this mask applies to. */
  public int size() {
    return size;
  }

  /** Number of allowed ids. */
  public int cardinality() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  public boolean allows(int id) {
    if (id < 0 || id >= size) {
      return false;
    }
    return bits != null ? (bits[id >>> 6] & (1L << id)) != 0 : Arrays.binarySearch(ids, id) >= 0;
  }

  /** The allowed ids, ascending. */
  public int[] ids() {
    if (ids != null) {
      return ids.clone();
    }
    int[] out = new int[count];
    int n = 0;
    for (int w = 0; w < bits.length; w++) {
      for (long word = bits[w]; word != 0; word &= word - 1) {
        out[n++] = w * 64 + Long.numberOfTrailingZeros(word);
      }
    }
    return out;
  }

  /** Sets every logit outside the mask to −∞, in place: the distribution built from them is the constrained one. */
  public void applyTo(float[] logits) {
    if (logits.length != size) {
      throw new IllegalArgumentException("a mask over " + size + " ids applied to " + logits.length + " logits");
    }
    if (ids != null) {
      float[] kept = new float[ids.length];
      for (int i = 0; i < ids.length; i++) {
        kept[i] = logits[ids[i]];
      }
      Arrays.fill(logits, Float.NEGATIVE_INFINITY);
      for (int i = 0; i < ids.length; i++) {
        logits[ids[i]] = kept[i];
      }
      return;
    }
    for (int w = 0; w < bits.length; w++) {
      long word = bits[w];
      if (word == -1L) {
        continue;
      }
      int base = w * 64;
      int end = Math.min(base + 64, size);
      if (word == 0) {
        Arrays.fill(logits, base, end, Float.NEGATIVE_INFINITY);
        continue;
      }
      for (int i = base; i < end; i++) {
        if ((word & (1L << i)) == 0) {
          logits[i] = Float.NEGATIVE_INFINITY;
        }
      }
    }
  }

  /** A masked copy of {@code logits}; the original is untouched (for raw logprobs). */
  public float[] masked(float[] logits) {
    float[] copy = logits.clone();
    applyTo(copy);
    return copy;
  }
}
