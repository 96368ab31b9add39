package dev.candor.probes.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal protocol-buffers writer: just enough of the wire format to write an ONNX model without protobuf-java.
 *
 * <p>Implements the encoding of https://protobuf.dev/programming-guides/encoding/: every field is a tag, the varint
 * {@code (fieldNumber << 3) | wireType}, followed by its value. Wire types used here: 0 VARINT (int32, int64, enum;
 * negative values take ten bytes, as two's-complement int64), 1 I64 (fixed64, double), 2 LEN (string, bytes, nested
 * message, packed repeated scalars), 5 I32 (fixed32, float). Fixed-width values are little-endian. A nested message
 * is written by a child writer whose bytes become one LEN field of the parent. Repeated fields are written by calling
 * the same method once per element, in order; packed repeated scalars ({@code [packed = true]}, the proto3 default)
 * are one LEN field holding the concatenated values.
 *
 * <p>Output is deterministic: fields appear exactly in the order they are written.
 */
public final class ProtoWriter {
  static final int VARINT = 0;
  static final int I64 = 1;
  static final int LEN = 2;
  static final int I32 = 5;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  /** An int32, int64, uint64 or enum field (wire type VARINT). */
  public ProtoWriter varint(int field, long value) {
    tag(field, VARINT);
    rawVarint(value);
    return this;
  }

  /** A fixed64 field (wire type I64), little-endian. */
  public ProtoWriter fixed64(int field, long bits) {
    tag(field, I64);
    rawFixed64(bits);
    return this;
  }

  /** A double field: its IEEE 754 bits as fixed64. */
  public ProtoWriter doubleField(int field, double value) {
    return fixed64(field, Double.doubleToRawLongBits(value));
  }

  /** A fixed32 field (wire type I32), little-endian. */
  public ProtoWriter fixed32(int field, int bits) {
    tag(field, I32);
    rawFixed32(bits);
    return this;
  }

  /** A float field: its IEEE 754 bits as fixed32. */
  public ProtoWriter floatField(int field, float value) {
    return fixed32(field, Float.floatToRawIntBits(value));
  }

  /** A bytes field (wire type LEN): length varint, then the bytes. */
  public ProtoWriter bytes(int field, byte[] value) {
    tag(field, LEN);
    rawVarint(value.length);
    out.writeBytes(value);
    return this;
  }

  /** A string field: its UTF-8 bytes. */
  public ProtoWriter string(int field, String value) {
    return bytes(field, value.getBytes(StandardCharsets.UTF_8));
  }

  /** A nested message field: the child's bytes as one LEN field. */
  public ProtoWriter message(int field, ProtoWriter child) {
    return bytes(field, child.toByteArray());
  }

  /** A packed repeated float field: one LEN field of little-endian fixed32 values. */
  public ProtoWriter packedFloats(int field, float[] values) {
    tag(field, LEN);
    rawVarint(4L * values.length);
    for (float v : values) {
      rawFixed32(Float.floatToRawIntBits(v));
    }
    return this;
  }

  /** A packed repeated int32/int64 field: one LEN field of concatenated varints. */
  public ProtoWriter packedVarints(int field, long[] values) {
    ProtoWriter body = new ProtoWriter();
    for (long v : values) {
      body.rawVarint(v);
    }
    return bytes(field, body.toByteArray());
  }

  /** The bytes written so far. */
  public byte[] toByteArray() {
    return out.toByteArray();
  }

  private void tag(int field, int wireType) {
    if (field < 1 || field > (1 << 29) - 1) {
      throw new IllegalArgumentException("field number out of range: " + field);
    }
    rawVarint(((long) field << 3) | wireType);
  }

  // Base-128 varint: seven bits a byte, least significant group first, the high bit set on all but the last byte.
  private void rawVarint(long value) {
    while ((value & ~0x7FL) != 0) {
      out.write((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.write((int) value);
  }

  private void rawFixed32(int bits) {
    for (int i = 0; i < 4; i++) {
      out.write((bits >>> (8 * i)) & 0xFF);
    }
  }

  private void rawFixed64(long bits) {
    for (int i = 0; i < 8; i++) {
      out.write((int) ((bits >>> (8 * i)) & 0xFF));
    }
  }
}
