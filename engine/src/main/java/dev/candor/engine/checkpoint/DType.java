package dev.candor.engine.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The element types of a safetensors file that Candor can hold as weights. BF16 is converted here, in Java, because
 * DJL's PyTorch engine aborts the JVM on BF16 (see README, "Stack").
 */
public enum DType {
  F32(4),
  F16(2),
  BF16(2);

  static final ValueLayout.OfFloat F32_LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  public final int bytes;

  DType(int bytes) {
    this.bytes = bytes;
  }

  /** The safetensors name ("F32", "F16", "BF16"), or null for a type Candor does not load as weights. */
  public static DType fromSafetensors(String name) {
    return switch (name) {
      case "F32" -> F32;
      case "F16" -> F16;
      case "BF16" -> BF16;
      default -> null;
    };
  }

  /** The Hugging Face torch_dtype name ("float32", "float16", "bfloat16"). */
  public static DType fromTorch(String name) {
    return switch (name) {
      case "float32", "float" -> F32;
      case "float16", "half" -> F16;
      case "bfloat16" -> BF16;
      default -> throw new IllegalArgumentException("unsupported torch_dtype '" + name + "'");
    };
  }

  public String torchName() {
    return switch (this) {
      case F32 -> "float32";
      case F16 -> "float16";
      case BF16 -> "bfloat16";
    };
  }

  /** Reads element {@code index} of {@code data} (little-endian, this type) as a float. */
  public float get(MemorySegment data, long index) {
    return switch (this) {
      case F32 -> data.getAtIndex(F32_LAYOUT, index);
      case F16 -> Float.float16ToFloat(data.getAtIndex(I16_LE, index));
      case BF16 -> bf16ToFloat(data.getAtIndex(I16_LE, index));
    };
  }

  /** Writes {@code value} as element {@code index} of {@code data}, rounding to nearest even for the 16-bit types. */
  public void put(MemorySegment data, long index, float value) {
    switch (this) {
      case F32 -> data.setAtIndex(F32_LAYOUT, index, value);
      case F16 -> data.setAtIndex(I16_LE, index, Float.floatToFloat16(value));
      case BF16 -> data.setAtIndex(I16_LE, index, floatToBf16(value));
    }
  }

  /** bfloat16 is the top half of a float32: shift it back into place. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** Round-to-nearest-even truncation of a float32 to its top 16 bits (NaN stays a quiet NaN). */
  public static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short) ((bits >>> 16) | 0x0040);
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }
}
