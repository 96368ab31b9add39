package dev.candor.engine.checkpoint;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors file: a typed, shaped view of memory-mapped bytes. Nothing is copied until a backend
 * asks for the values in the type it computes in.
 *
 * @param name the checkpoint key, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param file the file it lives in, for error messages
 * @param dtype its element type in the file
 * @param shape its dimensions, outermost first
 * @param data exactly {@code numel * dtype.bytes} bytes, little-endian
 */
public record Tensor(String name, Path file, DType dtype, long[] shape, MemorySegment data) {

  public long numel() {
    return numel(shape);
  }

  static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** All values as float32. Tensors of more than 2^31 - 1 elements must be read in slices with {@link #copyTo}. */
  public float[] toFloatArray() {
    long n = numel();
    if (n > Integer.MAX_VALUE - 8) {
      throw CheckpointException.at(file, name, "has " + n + " elements, too many for one Java array");
    }
    float[] out = new float[(int) n];
    copyTo(0, out, 0, out.length);
    return out;
  }

  /**
   * Converts {@code count} elements starting at element {@code from} into {@code out[offset..]} as float32: one bulk
   * copy of the bits, then a loop the JIT vectorises (the per-element read it replaces made quantizing a 7B at load
   * take minutes).
   */
  public void copyTo(long from, float[] out, int offset, int count) {
    if (dtype == DType.F32) {
      MemorySegment.copy(data, DType.F32_LAYOUT, from * 4, out, offset, count);
      return;
    }
    short[] bits = new short[Math.min(count, 1 << 16)];
    for (int done = 0; done < count; done += bits.length) {
      int n = Math.min(bits.length, count - done);
      MemorySegment.copy(data, DType.I16_LE, (from + done) * 2, bits, 0, n);
      if (dtype == DType.BF16) {
        for (int i = 0; i < n; i++) {
          out[offset + done + i] = Float.intBitsToFloat(bits[i] << 16);
        }
      } else {
        for (int i = 0; i < n; i++) {
          out[offset + done + i] = Float.float16ToFloat(bits[i]);
        }
      }
    }
  }

  /** Fails with a message naming the tensor unless its shape is exactly {@code expected}. */
  public Tensor expectShape(long... expected) {
    if (!Arrays.equals(shape, expected)) {
      throw CheckpointException.at(file, name, "shape " + Arrays.toString(shape) + " disagrees with config.json, which implies "
          + Arrays.toString(expected));
    }
    return this;
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape);
  }
}
