package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint in Hugging Face layout: config.json, generation_config.json, and the weights as one
 * model.safetensors or as shards with model.safetensors.index.json. Values are produced chunk by chunk, so a
 * checkpoint larger than the heap (a 7B shape) can be written.
 */
public final class CheckpointWriter {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final int CHUNK = 1 << 20;

  /** The values of one tensor, produced in order in chunks: fill {@code out[0..count)} with elements from..from+count. */
  public interface Values {
    void fill(long from, float[] out, int count);

    static Values of(float[] values) {
      return (from, out, count) -> System.arraycopy(values, (int) from, out, 0, count);
    }
  }

  /** A tensor to write: its checkpoint key, shape and values. */
  public record Entry(String name, long[] shape, Values values) {
    long numel() {
      return Tensor.numel(shape);
    }
  }

  private CheckpointWriter() {}

  /**
   * Writes {@code entries} in {@code dtype} under {@code dir}; with {@code maxShardBytes > 0} the data is split into
   * shards of at most that many bytes (a tensor is never split).
   */
  public static void write(Path dir, Qwen2Config config, List<Entry> entries, DType dtype, long maxShardBytes,
      List<Integer> eosTokenIds) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(config.withDtype(dtype).toJson()));
    ObjectNode generation = JSON.createObjectNode();
    var eos = generation.putArray("eos_token_id");
    eosTokenIds.forEach(eos::add);
    if (!eosTokenIds.isEmpty()) {
      generation.put("bos_token_id", eosTokenIds.getLast());
    }
    Files.writeString(dir.resolve("generation_config.json"), JSON.writeValueAsString(generation));

    List<List<Entry>> shards = new ArrayList<>();
    long shardBytes = 0;
    for (Entry e : entries) {
      long bytes = e.numel() * dtype.bytes;
      if (shards.isEmpty() || (maxShardBytes > 0 && shardBytes + bytes > maxShardBytes && shardBytes > 0)) {
        shards.add(new ArrayList<>());
        shardBytes = 0;
      }
      shards.getLast().add(e);
      shardBytes += bytes;
    }
    Files.deleteIfExists(dir.resolve(Weights.SINGLE));
    Files.deleteIfExists(dir.resolve(Weights.INDEX));
    if (shards.size() == 1 && maxShardBytes <= 0) {
      writeFile(dir.resolve(Weights.SINGLE), shards.getFirst(), dtype);
      return;
    }
    ObjectNode index = JSON.createObjectNode();
    long total = entries.stream().mapToLong(e -> e.numel() * dtype.bytes).sum();
    index.putObject("metadata").put("total_size", total);
    ObjectNode weightMap = index.putObject("weight_map");
    for (int s = 0; s < shards.size(); s++) {
      String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
      writeFile(dir.resolve(name), shards.get(s), dtype);
      shards.get(s).forEach(e -> weightMap.put(e.name(), name));
    }
    Files.writeString(dir.resolve(Weights.INDEX), JSON.writeValueAsString(index));
  }

  /** One safetensors file: header length, JSON header padded with spaces to 8 bytes, then the tensors back to back. */
  public static void writeFile(Path file, List<Entry> entries, DType dtype) throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("__metadata__", Map.of("format", "pt"));
    long offset = 0;
    for (Entry e : entries) {
      long bytes = e.numel() * dtype.bytes;
      header.put(e.name(), Map.of("dtype", dtype.name(), "shape", e.shape(), "data_offsets", new long[] {offset, offset + bytes}));
      offset += bytes;
    }
    byte[] json = new ObjectMapper().writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    head.flip();
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING); Arena arena = Arena.ofConfined()) {
      out.write(head);
      float[] chunk = new float[CHUNK];
      MemorySegment bytes = arena.allocate((long) CHUNK * dtype.bytes);
      for (Entry e : entries) {
        long n = e.numel();
        for (long from = 0; from < n; from += CHUNK) {
          int count = (int) Math.min(CHUNK, n - from);
          e.values().fill(from, chunk, count);
          for (int i = 0; i < count; i++) {
            dtype.put(bytes, i, chunk[i]);
          }
          ByteBuffer buffer = bytes.asSlice(0, (long) count * dtype.bytes).asByteBuffer();
          while (buffer.hasRemaining()) {
            out.write(buffer);
          }
        }
      }
    }
  }

  /** Copies tokenizer.json and tokenizer_config.json from {@code tokenizerDir} into the checkpoint. */
  public static void copyTokenizer(Path tokenizerDir, Path dir) throws IOException {
    for (String name : List.of("tokenizer.json", "tokenizer_config.json")) {
      Path from = tokenizerDir.resolve(name);
      if (Files.exists(from)) {
        Files.copy(from, dir.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
