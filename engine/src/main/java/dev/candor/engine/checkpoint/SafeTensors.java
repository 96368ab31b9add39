package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length
 * N, N bytes of JSON naming each tensor's dtype, shape and byte range, then the data. Mapped through the FFM API, so
 * files over 2 GB work; nothing is copied here.
 *
 * <p>Every way the file can lie (a header longer than the file or than {@link #MAX_HEADER_BYTES}, a byte range
 * outside the data, a byte range that disagrees with the shape) is one {@link CheckpointException} naming the file
 * and tensor, found when the file is opened.
 */
public final class SafeTensors implements AutoCloseable {
  /** The limit the reference implementation uses; a bigger header is corrupt or hostile. */
  public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  // one JSON object and nothing after it but the spaces writers pad with (trailing tokens are an error)
  private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final Path file;
  private final Arena arena;
  private final Map<String, Tensor> tensors;
  private final Map<String, String> unsupported; // tensor name -> dtype name we do not load
  private final Map<String, String> metadata;

  private SafeTensors(Path file, Arena arena, Map<String, Tensor> tensors, Map<String, String> unsupported,
      Map<String, String> metadata) {
    this.file = file;
    this.arena = arena;
    this.tensors = tensors;
    this.unsupported = unsupported;
    this.metadata = metadata;
  }

  public static SafeTensors open(Path file) {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw CheckpointException.at(file, "file not found");
    } catch (IOException e) {
      throw CheckpointException.at(file, "cannot read: " + e.getMessage());
    }
    if (size < 8) {
      throw CheckpointException.at(file, "truncated: " + size + " bytes, not even the 8-byte header length");
    }
    Arena arena = Arena.ofShared();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      MemorySegment all = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      long headerLength = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
      if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
        throw CheckpointException.at(file, "header length " + Long.toUnsignedString(headerLength)
            + " is outside 2.." + MAX_HEADER_BYTES + " bytes: not a safetensors file, or corrupt");
      }
      if (8 + headerLength > size) {
        throw CheckpointException.at(file, "truncated: header says " + headerLength + " bytes of JSON but the file has "
            + (size - 8) + " after the length");
      }
      byte[] headerBytes = all.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
      MemorySegment data = all.asSlice(8 + headerLength);
      String header;
      try {
        header = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(headerBytes)).toString();
      } catch (CharacterCodingException e) {
        throw CheckpointException.at(file, "header is not valid UTF-8 (corrupt file)");
      }
      SafeTensors result = parse(file, arena, header, data);
      return result;
    } catch (IOException e) {
      arena.close();
      throw CheckpointException.at(file, "cannot map: " + e.getMessage());
    } catch (RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  private static SafeTensors parse(Path file, Arena arena, String header, MemorySegment data) {
    if (!header.startsWith("{")) { // the format says the header begins with '{'; only trailing space pads it
      throw CheckpointException.at(file, "header does not start with '{' (corrupt file)");
    }
    JsonNode root;
    try {
      root = JSON.readTree(header);
    } catch (IOException e) {
      throw CheckpointException.at(file, "header is not valid JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw CheckpointException.at(file, "header is not a JSON object");
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, String> unsupported = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    List<long[]> ranges = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String name = entry.getKey();
      JsonNode info = entry.getValue();
      if (name.equals("__metadata__")) {
        if (info.isObject()) {
          info.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        }
        continue;
      }
      if (!info.isObject() || !info.path("dtype").isTextual() || !info.path("shape").isArray()
          || !info.path("data_offsets").isArray() || info.path("data_offsets").size() != 2) {
        throw CheckpointException.at(file, name, "header entry needs dtype, shape and two data_offsets");
      }
      long[] shape = new long[info.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        JsonNode d = info.get("shape").get(i);
        if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
          throw CheckpointException.at(file, name, "shape entry " + d + " is not a non-negative integer");
        }
        shape[i] = d.asLong();
      }
      JsonNode b = info.get("data_offsets").get(0);
      JsonNode e = info.get("data_offsets").get(1);
      if (!b.isIntegralNumber() || !e.isIntegralNumber() || !b.canConvertToLong() || !e.canConvertToLong()) {
        throw CheckpointException.at(file, name, "data_offsets are not integers");
      }
      long begin = b.asLong();
      long end = e.asLong();
      if (begin < 0 || end < begin || end > data.byteSize()) {
        throw CheckpointException.at(file, name, "data_offsets [" + begin + ", " + end + "] point outside the "
            + data.byteSize() + " data bytes (truncated or corrupt file)");
      }
      ranges.add(new long[] {begin, end});
      String dtypeName = info.get("dtype").asText();
      DType dtype = DType.fromSafetensors(dtypeName);
      if (dtype == null) {
        unsupported.put(name, dtypeName);
        continue;
      }
      long numel;
      try {
        numel = Tensor.numel(shape);
      } catch (ArithmeticException overflow) {
        throw CheckpointException.at(file, name, "shape overflows");
      }
      if (numel > Long.MAX_VALUE / dtype.bytes || numel * dtype.bytes != end - begin) {
        throw CheckpointException.at(file, name, "byte range of " + (end - begin) + " bytes disagrees with its shape "
            + java.util.Arrays.toString(shape) + " of " + dtype);
      }
      tensors.put(name, new Tensor(name, file, dtype, shape, data.asSlice(begin, end - begin)));
    }
    // as the reference implementation requires: the tensors' byte ranges tile the data, no gap, no overlap
    ranges.sort(Comparator.<long[]>comparingLong(r -> r[0]).thenComparingLong(r -> r[1]));
    long cursor = 0;
    for (long[] r : ranges) {
      if (r[0] != cursor) {
        throw CheckpointException.at(file, (r[0] < cursor ? "tensor byte ranges overlap" : "a gap in the data")
            + " at byte " + Math.min(r[0], cursor) + " (corrupt file)");
      }
      cursor = r[1];
    }
    if (cursor != data.byteSize()) {
      throw CheckpointException.at(file, "the tensors cover " + cursor + " of the " + data.byteSize()
          + " data bytes (corrupt file)");
    }
    return new SafeTensors(file, arena, Collections.unmodifiableMap(tensors), unsupported, metadata);
  }

  public Path file() {
    return file;
  }

  public Map<String, Tensor> tensors() {
    return tensors;
  }

  public Map<String, String> metadata() {
    return Collections.unmodifiableMap(metadata);
  }

  public boolean contains(String name) {
    return tensors.containsKey(name) || unsupported.containsKey(name);
  }

  public Tensor get(String name) {
    Tensor t = tensors.get(name);
    if (t != null) {
      return t;
    }
    String dtype = unsupported.get(name);
    if (dtype != null) {
      throw CheckpointException.at(file, name, "dtype " + dtype + " is not supported for weights (F32, F16, BF16 are)");
    }
    throw CheckpointException.at(file, name, "missing");
  }

  /** Unmaps the file. Tensors obtained from it must not be used afterwards. */
  @Override
  public void close() {
    arena.close();
  }
}
