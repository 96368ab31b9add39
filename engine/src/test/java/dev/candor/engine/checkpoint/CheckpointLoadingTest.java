package dev.candor.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.djl.DjlBackend;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading checkpoints as users download them, and one clear error for each way a checkpoint can be broken. */
class CheckpointLoadingTest {
  static final Qwen2Config CONFIG = TestCheckpoints.tiny(99, false);

  @TempDir
  Path tmp;

  Path good(String name) throws IOException {
    Path dir = tmp.resolve(name);
    RandomCheckpoint.write(dir, CONFIG, 3, 0.2, DType.F32, 0, null, List.of(7));
    return dir;
  }

  static CheckpointException loadFails(Path dir) {
    return assertThrows(CheckpointException.class, () -> {
      try (Checkpoint c = Checkpoint.open(dir); DjlBackend b = DjlBackend.load(c, "cpu")) {
        b.description();
      }
    });
  }

  static void assertMentions(CheckpointException e, String... parts) {
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should mention '" + part + "'");
    }
  }

  @Test
  void configAndGenerationConfigAreRead() throws IOException {
    try (Checkpoint c = Checkpoint.open(good("ok"))) {
      assertEquals(CONFIG, c.config());
      assertEquals(List.of(7), c.generationConfig().eosTokenIds());
      assertEquals(CONFIG.parameterCount(), Qwen2Tensors.all(CONFIG).stream()
          .mapToLong(s -> java.util.Arrays.stream(s.shape()).reduce(1, (a, b) -> a * b)).sum());
    }
  }

  @Test
  void shardedAndSingleFileCheckpointsGiveTheSameLogits() throws IOException {
    Path single = good("single");
    Path sharded = tmp.resolve("sharded");
    RandomCheckpoint.write(sharded, CONFIG, 3, 0.2, DType.F32, 20_000, null, List.of(7));
    try (Stream<Path> files = Files.list(sharded)) {
      assertTrue(files.filter(p -> p.getFileName().toString().startsWith("model-0")).count() > 3);
    }
    int[] tokens = {5, 17, 42, 3};
    assertArrayEquals(logits(single, tokens), logits(sharded, tokens), 0f);
  }

  static float[] logits(Path dir, int[] tokens) {
    try (Checkpoint c = Checkpoint.open(dir); DjlBackend b = DjlBackend.load(c, "cpu"); Sequence s = b.newSequence(8)) {
      return s.prefill(tokens);
    }
  }

  @Test
  void bf16AndF16AreReadAsTheirFloatValues() throws IOException {
    float[] values = {0f, 1f, -2.5f, 3.14159f, 1e-3f, 65504f, -1e-8f, Float.MIN_NORMAL};
    for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
      Path file = tmp.resolve("v-" + dtype + ".safetensors");
      CheckpointWriter.writeFile(file, List.of(new CheckpointWriter.Entry("v", new long[] {2, 4},
          CheckpointWriter.Values.of(values))), dtype);
      try (SafeTensors st = SafeTensors.open(file)) {
        float[] read = st.get("v").toFloatArray();
        for (int i = 0; i < values.length; i++) {
          float expected = dtype == DType.BF16 ? DType.bf16ToFloat(DType.floatToBf16(values[i]))
              : Float.float16ToFloat(Float.floatToFloat16(values[i]));
          assertEquals(expected, read[i], 0f, dtype + " value " + values[i]);
          assertEquals(values[i], read[i], Math.abs(values[i]) * (dtype == DType.BF16 ? 4e-3 : 1e-3) + 1e-7);
        }
      }
    }
  }

  @Test
  void filesOverTwoGigabytesAreMapped() throws IOException {
    // a sparse file: a 2.5 GB float32 tensor whose last elements are written, the rest never touched
    long numel = 640L * 1024 * 1024;
    Path file = tmp.resolve("big.safetensors");
    byte[] header = ("{\"big\":{\"dtype\":\"F32\",\"shape\":[" + numel + "],\"data_offsets\":[0," + numel * 4 + "]}}")
        .getBytes(StandardCharsets.UTF_8);
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
      head.putLong(header.length).put(header).flip();
      out.write(head);
      ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-7f).flip();
      out.write(tail, 8 + header.length + (numel - 2) * 4);
    }
    try (SafeTensors st = SafeTensors.open(file)) {
      Tensor big = st.get("big");
      float[] last = new float[3];
      big.copyTo(numel - 3, last, 0, 3);
      assertArrayEquals(new float[] {0f, 1.5f, -7f}, last);
    }
  }

  @Test
  void missingDirectoryOrConfig() throws IOException {
    assertMentions(loadFails(tmp.resolve("nowhere")), "nowhere", "not a directory");
    Path dir = good("noconfig");
    Files.delete(dir.resolve("config.json"));
    assertMentions(loadFails(dir), "config.json", "not found");
  }

  @Test
  void unknownArchitecture() throws IOException {
    Path dir = good("gemma");
    editConfig(dir, c -> c.putArray("architectures").add("GemmaForCausalLM"));
    assertMentions(loadFails(dir), "config.json", "GemmaForCausalLM", "Qwen2ForCausalLM");
  }

  /** A Qwen2 checkpoint whose config.json says Llama: its biases would be dropped silently, so it is refused. */
  @Test
  void weightsOfAnotherFamilyThanTheConfigSays() throws IOException {
    Path dir = good("llama");
    editConfig(dir, c -> {
      c.putArray("architectures").add("LlamaForCausalLM");
      c.put("model_type", "llama");
    });
    assertMentions(loadFails(dir), "q_proj.bias", "LlamaForCausalLM", "disagree");
  }

  @Test
  void configWithWrongTypesOrImpossibleShapes() throws IOException {
    Path dir = good("badtypes");
    editConfig(dir, c -> c.put("hidden_size", "thirty-two"));
    assertMentions(loadFails(dir), "config.json", "hidden_size");
    editConfig(dir, c -> c.put("hidden_size", 32).put("num_key_value_heads", 3));
    assertMentions(loadFails(dir), "config.json", "num_key_value_heads");
  }

  @Test
  void tensorShapeDisagreeingWithConfig() throws IOException {
    Path dir = good("shape");
    editConfig(dir, c -> c.put("intermediate_size", 40));
    assertMentions(loadFails(dir), "model.safetensors", "mlp.gate_proj.weight", "[37, 32]", "[40, 32]");
  }

  @Test
  void missingTensor() throws IOException {
    Path dir = good("missing");
    editConfig(dir, c -> c.put("tie_word_embeddings", false).put("num_hidden_layers", 4));
    assertMentions(loadFails(dir), "model.safetensors", "model.layers.3.", "missing");
  }

  @Test
  void truncatedFile() throws IOException {
    Path dir = good("truncated");
    Path file = dir.resolve("model.safetensors");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(f.length() - 1000);
    }
    assertMentions(loadFails(dir), "model.safetensors", "lm_head.weight", "outside");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(100);
    }
    assertMentions(loadFails(dir), "model.safetensors", "truncated");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(5);
    }
    assertMentions(loadFails(dir), "model.safetensors", "truncated");
  }

  @Test
  void headerTooLargeOrNotJson() throws IOException {
    Path dir = good("header");
    Path file = dir.resolve("model.safetensors");
    writeLong(file, 0, Long.MAX_VALUE);
    assertMentions(loadFails(dir), "model.safetensors", "header length");
    writeLong(file, 0, 200L * 1024 * 1024);
    assertMentions(loadFails(dir), "model.safetensors", "header length");
    Path junk = tmp.resolve("junk.safetensors");
    byte[] notJson = "{\"a\": [1, 2".getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + notJson.length).order(ByteOrder.LITTLE_ENDIAN).putLong(notJson.length).put(notJson);
    Files.write(junk, b.array());
    CheckpointException e = assertThrows(CheckpointException.class, () -> SafeTensors.open(junk));
    assertMentions(e, "junk.safetensors", "JSON");
  }

  @Test
  void headerPointingOutsideTheFileOrDisagreeingWithTheShape() throws IOException {
    Path file = tmp.resolve("lie.safetensors");
    writeRaw(file, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1600]}}", 16);
    assertMentions(assertThrows(CheckpointException.class, () -> SafeTensors.open(file)), "lie.safetensors", "'w'", "outside");
    writeRaw(file, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", 16);
    assertMentions(assertThrows(CheckpointException.class, () -> SafeTensors.open(file)), "'w'", "disagrees with its shape");
    writeRaw(file, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16);
    assertMentions(assertThrows(CheckpointException.class, () -> SafeTensors.open(file)), "'w'", "non-negative");
    writeRaw(file, "{\"w\":{\"dtype\":\"I8\",\"shape\":[16],\"data_offsets\":[0,16]}}", 16);
    try (SafeTensors st = SafeTensors.open(file)) {
      assertMentions(assertThrows(CheckpointException.class, () -> st.get("w")), "'w'", "I8", "not supported");
    }
  }

  @Test
  void shardIndexNamingAMissingShardOrTensor() throws IOException {
    Path dir = tmp.resolve("shards");
    RandomCheckpoint.write(dir, CONFIG, 3, 0.2, DType.F16, 20_000, null, List.of());
    Path index = dir.resolve(Weights.INDEX);
    ObjectNode root = (ObjectNode) new ObjectMapper().readTree(index.toFile());
    ((ObjectNode) root.get("weight_map")).put("model.norm.weight", "model-00099-of-00099.safetensors");
    Files.writeString(index, root.toString());
    assertMentions(loadFails(dir), "model-00099-of-00099.safetensors", "not found");
    ((ObjectNode) root.get("weight_map")).put("model.norm.weight", "model-00001-of-" + String.format("%05d",
        countShards(dir)) + ".safetensors");
    Files.writeString(index, root.toString());
    assertMentions(loadFails(dir), "model.norm.weight", "missing");
    ((ObjectNode) root.get("weight_map")).put("model.norm.weight", "../../etc/passwd");
    Files.writeString(index, root.toString());
    assertMentions(loadFails(dir), "outside the checkpoint");
  }

  static long countShards(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().matches("model-\\d+-of-\\d+\\.safetensors")).count();
    }
  }

  interface Edit {
    void apply(ObjectNode config);
  }

  static void editConfig(Path dir, Edit edit) throws IOException {
    Path file = dir.resolve("config.json");
    ObjectNode config = (ObjectNode) new ObjectMapper().readTree(file.toFile());
    edit.apply(config);
    Files.writeString(file, config.toString());
  }

  static void writeLong(Path file, long position, long value) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).flip(), position);
    }
  }

  static void writeRaw(Path file, String header, int dataBytes) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
    Files.write(file, b.array());
  }
}
