package dev.candor.engine.fuzz;

import static dev.candor.engine.fuzz.Fuzzing.check;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.SafeTensors;
import dev.candor.engine.checkpoint.Tensor;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes the safetensors reader (checkpoint/SafeTensors): a file is written to disk, opened, every small tensor is
 * read as float32, and the file is closed. Every corrupt or hostile file must end as a {@link CheckpointException};
 * a file that opens must give each tensor exactly the bytes its header promises, decoded exactly.
 *
 * <p>Targets: the raw file; a framed file whose 8-byte length the harness writes (so the fuzzer spends its time in the
 * JSON header, not on the length); headers generated from the format's own fields; and two conformance checks against
 * the rules of the reference implementation (huggingface/safetensors): byte ranges and header syntax.
 */
class SafeTensorsFuzzTest {
  /** Tensors up to this many bytes are read in full. */
  static final long READ_LIMIT = 1 << 20;

  /** As strict as serde_json::from_str: one value, nothing after it but whitespace. */
  private static final ObjectMapper STRICT = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The whole file as the fuzzer made it: 8-byte little-endian header length, header JSON, data. */
  @FuzzTest
  @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"",
      "\"BF16\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "\"format\"", "\"pt\"", "9223372036854775807", "4294967296",
      "-1", "1e3", "[0, 0]"})
  void rawFile(byte[] file) {
    openAndRead(file);
  }

  /**
   * {@code [mode][header JSON] 0x00 [data]}: the harness writes the 8-byte length in front of the header (exactly,
   * or off by one, or absurd, as {@code mode} says), so almost every input reaches the JSON parser.
   */
  @FuzzTest
  @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"",
      "\"BF16\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "9223372036854775807", "4294967296", "-1", "1e3", "[0, 0]"})
  void framedHeader(byte[] input) {
    openAndRead(framed(input));
  }

  /** Headers generated from the format's own fields: names, dtypes, shapes and offsets near every boundary. */
  @FuzzTest
  void generatedHeader(FuzzedDataProvider data) {
    openAndRead(generated(data));
  }

  /**
   * A file Candor opens must have tensors whose byte ranges, in order, tile the data exactly, as the reference
   * implementation requires (huggingface/safetensors, {@code Metadata::validate}: no overlap, no hole, nothing left
   * over). Otherwise a small file can alias one block of bytes under many tensor names and pose as a far larger model.
   */
  @FuzzTest
  void tensorRangesTileTheData(byte[] input) {
    byte[] file = framed(input);
    JsonNode root = acceptedHeader(file);
    if (root == null) {
      return;
    }
    List<long[]> ranges = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getKey().equals("__metadata__")) {
        JsonNode offsets = e.getValue().get("data_offsets");
        ranges.add(new long[] {offsets.get(0).asLong(), offsets.get(1).asLong()});
      }
    }
    ranges.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
    long cursor = 0;
    for (long[] r : ranges) {
      check(r[0] == cursor, "accepted byte ranges that do not tile the data (at byte " + cursor
          + " the next range is " + Arrays.toString(r) + "): " + headerText(file));
      cursor = r[1];
    }
    long dataBytes = file.length - 8 - headerLength(file);
    check(cursor == dataBytes, "accepted a file whose tensors cover " + cursor + " of its " + dataBytes
        + " data bytes: " + headerText(file));
  }

  /**
   * A header Candor accepts must be one the reference parses: valid UTF-8, starting with '{', one JSON object and
   * nothing after it but the space padding.
   */
  @FuzzTest
  void headerIsStrictJson(byte[] input) {
    byte[] file = framed(input);
    if (acceptedHeader(file) == null) {
      return;
    }
    int length = (int) headerLength(file);
    try {
      StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(file, 8, length));
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new AssertionError("accepted a header that is not valid UTF-8: " + headerText(file));
    }
    check(file[8] == '{', "accepted a header that does not start with '{': " + headerText(file));
    try {
      STRICT.readTree(headerText(file));
    } catch (JsonProcessingException e) {
      throw new AssertionError("accepted a header that is not one JSON object (" + e.getOriginalMessage() + "): "
          + headerText(file));
    }
  }

  /** The parsed header if Candor opens the file, else null. */
  private static JsonNode acceptedHeader(byte[] file) {
    Path path = Fuzzing.scratchFile("conformance.safetensors", file);
    try (SafeTensors st = SafeTensors.open(path)) {
      st.tensors();
    } catch (CheckpointException e) {
      return null;
    }
    try {
      return JSON.readTree(headerText(file));
    } catch (JsonProcessingException e) {
      throw new AssertionError("Candor accepted a header Jackson cannot parse", e);
    }
  }

  private static long headerLength(byte[] file) {
    return ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  private static String headerText(byte[] file) {
    return new String(file, 8, (int) headerLength(file), StandardCharsets.UTF_8);
  }

  // ---- the checks every target shares ----

  static void openAndRead(byte[] file) {
    Path path = Fuzzing.scratchFile("fuzz.safetensors", file);
    Fuzzing.withinBudget("opening a " + file.length + "-byte safetensors file", (24L << 20) + 200L * file.length,
        () -> {
          try (SafeTensors st = SafeTensors.open(path)) {
            for (Tensor t : st.tensors().values()) {
              readAndCheck(t);
            }
            st.metadata().forEach((k, v) -> check(k != null && v != null, "null metadata"));
            try {
              st.get("\u0000 not a tensor name");
              throw new AssertionError("get() of a missing name returned a tensor");
            } catch (CheckpointException expected) {
              // "missing", by name
            }
          } catch (CheckpointException e) {
            check(e.getMessage() != null && e.getMessage().startsWith(path.toString()),
                "a CheckpointException that does not name the file: " + e.getMessage());
          }
        });
  }

  /** The tensor's view has exactly numel * dtype.bytes bytes, and toFloatArray decodes them exactly. */
  static void readAndCheck(Tensor t) {
    long numel = t.numel();
    long bytes = numel * t.dtype().bytes;
    check(numel >= 0 && t.data().byteSize() == bytes, t + ": " + t.data().byteSize() + " bytes for " + numel
        + " elements");
    if (bytes > READ_LIMIT) {
      float[] last = new float[1];
      t.copyTo(numel - 1, last, 0, 1);
      return;
    }
    float[] values = t.toFloatArray();
    check(values.length == numel, t + ": toFloatArray gave " + values.length + " values");
    for (int i = 0; i < values.length; i++) {
      float expected = switch (t.dtype()) {
        case F32 -> Float.intBitsToFloat(t.data().getAtIndex(ValueLayout.JAVA_INT_UNALIGNED.withOrder(
            ByteOrder.LITTLE_ENDIAN), i));
        case F16 -> Float.float16ToFloat(t.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
            ByteOrder.LITTLE_ENDIAN), i));
        case BF16 -> Float.intBitsToFloat((t.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
            ByteOrder.LITTLE_ENDIAN), i) & 0xffff) << 16);
      };
      check(Float.floatToIntBits(values[i]) == Float.floatToIntBits(expected),
          t + "[" + i + "] = " + values[i] + ", but its bytes say " + expected);
    }
  }

  /** {@code [mode][header] 0x00 [data]} to a safetensors file, the length written as {@code mode} says. */
  static byte[] framed(byte[] input) {
    if (input.length == 0) {
      return input;
    }
    int mode = input[0] & 0xff;
    int nul = 1;
    while (nul < input.length && input[nul] != 0) {
      nul++;
    }
    byte[] header = Arrays.copyOfRange(input, 1, nul);
    byte[] data = nul < input.length ? Arrays.copyOfRange(input, nul + 1, input.length) : new byte[0];
    long length = switch (mode & 7) {
      case 1 -> header.length + 1L;
      case 2 -> header.length - 1L;
      case 3 -> SafeTensors.MAX_HEADER_BYTES + 1;
      case 4 -> -1L; // 2^64 - 1 unsigned
      case 5 -> header.length + (long) data.length;
      default -> header.length;
    };
    return ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(length).put(header).put(data).array();
  }

  // ---- a generator of headers ----

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final List<String> DTYPES = List.of("F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL",
      "F8_E4M3", "f32", "", "F32 ");
  private static final List<String> NAMES = List.of("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
      "__metadata__", "", "\u0000", "a", "a");
  private static final List<Long> DIMS = List.of(0L, 1L, 2L, 3L, 7L, -1L, 1L << 31, 1L << 32, 1L << 62,
      Long.MAX_VALUE, 3037000500L);

  static byte[] generated(FuzzedDataProvider d) {
    ObjectNode header = NODES.objectNode();
    if (d.consumeBoolean()) {
      ObjectNode meta = header.putObject("__metadata__");
      meta.put("format", "pt");
      if (d.consumeBoolean()) {
        meta.set("nested", NODES.arrayNode().add(1).add(NODES.objectNode()));
      }
    }
    long cursor = 0;
    int count = d.consumeInt(0, 6);
    for (int i = 0; i < count; i++) {
      String name = d.consumeBoolean() ? d.pickValue(NAMES) + i : d.consumeString(12);
      String dtype = d.pickValue(DTYPES);
      int rank = d.consumeInt(0, 4);
      long[] shape = new long[rank];
      long numel = 1;
      ArrayNode shapeNode = NODES.arrayNode();
      for (int k = 0; k < rank; k++) {
        shape[k] = d.consumeBoolean() ? d.consumeLong(0, 6) : d.pickValue(DIMS);
        shapeNode.add(shape[k]);
        numel = numel < 0 || shape[k] < 0 ? -1 : multiplyOrMinusOne(numel, shape[k]);
      }
      int width = DType.fromSafetensors(dtype) == null ? 1 : DType.fromSafetensors(dtype).bytes;
      long size = numel < 0 || numel > (1L << 40) ? d.consumeLong(0, 64) : numel * width;
      long begin = cursor;
      long end = cursor + size;
      switch (d.consumeInt(0, 5)) {
        case 0 -> begin = d.consumeLong(-2, 1 << 16);
        case 1 -> end = begin + d.consumeLong(-3, 3);
        case 2 -> {
          begin = d.pickValue(DIMS);
          end = d.pickValue(DIMS);
        }
        default -> { } // consistent
      }
      cursor = Math.max(cursor, end);
      ObjectNode entry = header.putObject(name);
      entry.set("dtype", d.consumeInt(0, 15) == 0 ? NODES.numberNode(32) : NODES.textNode(dtype));
      entry.set("shape", d.consumeInt(0, 15) == 0 ? NODES.textNode("[2, 3]") : shapeNode);
      ArrayNode offsets = entry.putArray("data_offsets");
      switch (d.consumeInt(0, 11)) {
        case 0 -> offsets.add(begin);
        case 1 -> offsets.add(begin).add(end).add(end);
        case 2 -> offsets.add((double) begin).add(end);
        case 3 -> offsets.add(String.valueOf(begin)).add(end);
        case 4 -> offsets.add(java.math.BigInteger.valueOf(end).shiftLeft(64)).add(end);
        default -> offsets.add(begin).add(end);
      }
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(header);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
    int padding = d.consumeInt(0, 7);
    long dataLength = Math.max(0, Math.min(1 << 16, cursor + d.consumeInt(-4, 4)));
    byte[] fill = d.consumeRemainingAsBytes();
    ByteBuffer file = ByteBuffer.allocate(8 + json.length + padding + (int) dataLength)
        .order(ByteOrder.LITTLE_ENDIAN);
    file.putLong(json.length + padding).put(json);
    for (int i = 0; i < padding; i++) {
      file.put((byte) ' ');
    }
    for (int i = 0; i < dataLength; i++) {
      file.put(fill.length == 0 ? (byte) i : fill[i % fill.length]);
    }
    return file.array();
  }

  private static long multiplyOrMinusOne(long a, long b) {
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException overflow) {
      return -1;
    }
  }
}
