package dev.candor.probes.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The wire format, byte for byte, against the worked examples of https://protobuf.dev/programming-guides/encoding/
 * (the "Test1 {a = 150}" message, its string and nested variants, and the packed example) and a few edge cases.
 */
class ProtoWriterTest {
  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", ""));
  }

  @Test
  void varintOf150IsTheSpecExample() {
    assertArrayEquals(hex("08 96 01"), new ProtoWriter().varint(1, 150).toByteArray());
  }

  @Test
  void smallAndZeroVarintsTakeOneByte() {
    assertArrayEquals(hex("08 00 10 01 18 7f"),
        new ProtoWriter().varint(1, 0).varint(2, 1).varint(3, 127).toByteArray());
  }

  @Test
  void negativeVarintTakesTenBytes() {
    // int32/int64 −2 is sign-extended to 64 bits: 0xFFFFFFFFFFFFFFFE
    assertArrayEquals(hex("08 fe ff ff ff ff ff ff ff ff 01"), new ProtoWriter().varint(1, -2).toByteArray());
  }

  @Test
  void stringIsLengthDelimitedUtf8() {
    assertArrayEquals(hex("12 07 74 65 73 74 69 6e 67"), new ProtoWriter().string(2, "testing").toByteArray());
  }

  @Test
  void nestedMessageIsTheChildsBytes() {
    // Test3 { c = 3: Test1 { a = 150 } }
    assertArrayEquals(hex("1a 03 08 96 01"),
        new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)).toByteArray());
  }

  @Test
  void packedVarintsAreOneLengthDelimitedField() {
    // Test5 { repeated int32 f = 6 [packed = true]; } with 3, 270, 86942
    assertArrayEquals(hex("32 06 03 8e 02 9e a7 05"),
        new ProtoWriter().packedVarints(6, new long[] {3, 270, 86942}).toByteArray());
  }

  @Test
  void floatsAreLittleEndianFixed32() {
    // 1.0f = 0x3F800000, −2.5f = 0xC0200000
    assertArrayEquals(hex("15 00 00 80 3f"), new ProtoWriter().floatField(2, 1f).toByteArray());
    assertArrayEquals(hex("22 08 00 00 80 3f 00 00 20 c0"),
        new ProtoWriter().packedFloats(4, new float[] {1f, -2.5f}).toByteArray());
  }

  @Test
  void doublesAreLittleEndianFixed64() {
    // 1.0 = 0x3FF0000000000000
    assertArrayEquals(hex("09 00 00 00 00 00 00 f0 3f"), new ProtoWriter().doubleField(1, 1.0).toByteArray());
  }

  @Test
  void largeFieldNumbersTakeMultiByteTags() {
    // field 20, VARINT: (20 << 3) | 0 = 160 = 0xa0 0x01
    assertArrayEquals(hex("a0 01 07"), new ProtoWriter().varint(20, 7).toByteArray());
  }

  @Test
  void fieldZeroIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new ProtoWriter().varint(0, 1));
  }
}
