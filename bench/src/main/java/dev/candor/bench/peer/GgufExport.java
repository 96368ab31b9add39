package dev.candor.bench.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.checkpoint.Tensor;
import dev.candor.engine.cpu.Q8_0;
import dev.candor.engine.model.WeightFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a Candor checkpoint (a Hugging Face Qwen2ForCausalLM or Qwen3ForCausalLM directory) as a GGUF file that
 * llama.cpp's qwen2 or qwen3 loader reads, so the peer engine runs exactly the same weights and tokenizer as Candor.
 *
 * <p>The layout is GGUF version 3 as {@code ggml/include/gguf.h} describes it: magic "GGUF", version, tensor count,
 * key/value count, the key/value pairs, one info record per tensor (name, dims innermost first, ggml type, offset into
 * the data blob), then the data blob, every tensor starting on a 32-byte boundary. The keys, their value types (the
 * loader refuses a key of the wrong type) and the tensor names are those llama.cpp's {@code convert_hf_to_gguf.py}
 * writes for a Qwen2 checkpoint ({@code TextModel.set_gguf_parameters}, {@code get_vocab_base}, gguf-py's
 * {@code SpecialVocab}); {@code src/models/qwen2.cpp} is the loader that reads them. For Qwen3 ({@code conversion/qwen.py}'s
 * {@code Qwen3Model}, read by {@code src/models/qwen3.cpp}) the architecture is {@code qwen3}, the head size is written
 * as {@code attention.key_length} and {@code value_length} (heads × head_dim need not be the hidden size), and each
 * layer adds {@code attn_q_norm} and {@code attn_k_norm} [head_dim]. A Hugging Face weight of shape
 * [out, in] is stored row-major, which is GGUF's dims {in, out}: the bytes are the same, only the dims are listed
 * the other way round.
 *
 * <p>As the converter does, one-dimensional tensors (norms and biases) stay F32 whatever the chosen type; matrices are
 * written in the chosen type (a tensor already in that type is copied byte for byte). Tied embeddings write no
 * {@code output.weight}: llama.cpp then uses {@code token_embd.weight} for the output projection.
 */
public final class GgufExport {
  private GgufExport() {}

  /** The element type the matrices are written in. */
  public enum Type {
    F32(0, 1, 4, 0),
    F16(1, 1, 2, 1),
    BF16(30, 1, 2, 32),
    /** ggml's block_q8_0: a float16 scale, then 32 int8 values; quantized by {@link dev.candor.engine.cpu.Q8_0}. */
    Q8_0(8, dev.candor.engine.cpu.Q8_0.BLOCK, 2 + dev.candor.engine.cpu.Q8_0.BLOCK, 7);

    /** ggml's {@code enum ggml_type}. */
    final int ggmlType;
    /** Values per block, and a block's bytes (1 and the element's bytes for the plain types). */
    final int blockValues;
    final int blockBytes;
    /** llama.cpp's {@code enum llama_ftype}: ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0. */
    final int fileType;

    Type(int ggmlType, int blockValues, int blockBytes, int fileType) {
      this.ggmlType = ggmlType;
      this.blockValues = blockValues;
      this.blockBytes = blockBytes;
      this.fileType = fileType;
    }

    /** The type Candor's --weights format is written as. */
    public static Type of(WeightFormat format) {
      return valueOf(format.name());
    }

    /** The type a checkpoint saved in {@code dtype} keeps without rounding. */
    public static Type of(DType dtype) {
      return switch (dtype) {
        case F32 -> F32;
        case F16 -> F16;
        case BF16 -> BF16;
      };
    }
  }

  static final int ALIGNMENT = 32; // GGUF_DEFAULT_ALIGNMENT
  private static final byte[] MAGIC = "GGUF".getBytes(StandardCharsets.US_ASCII);
  private static final int VERSION = 3;
  private static final ObjectMapper JSON = new ObjectMapper();

  // gguf-py's GGUFValueType
  private static final int UINT32 = 4;
  private static final int INT32 = 5;
  private static final int FLOAT32 = 6;
  private static final int BOOL = 7;
  private static final int STRING = 8;
  private static final int ARRAY = 9;

  // gguf-py's TokenType
  private static final int NORMAL = 1;
  private static final int CONTROL = 3;
  private static final int USER_DEFINED = 4;
  private static final int UNUSED = 5;

  /** Hugging Face key suffix (after {@code model.layers.N.}) to llama.cpp's (after {@code blk.N.}). */
  private static final Map<String, String> LAYER_NAMES = Map.ofEntries(
      Map.entry("input_layernorm.weight", "attn_norm.weight"),
      Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
      Map.entry("self_attn.q_proj.bias", "attn_q.bias"),
      Map.entry("self_attn.k_proj.weight", "attn_k.weight"),
      Map.entry("self_attn.k_proj.bias", "attn_k.bias"),
      Map.entry("self_attn.v_proj.weight", "attn_v.weight"),
      Map.entry("self_attn.v_proj.bias", "attn_v.bias"),
      Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
      Map.entry("self_attn.q_norm.weight", "attn_q_norm.weight"),
      Map.entry("self_attn.k_norm.weight", "attn_k_norm.weight"),
      Map.entry("post_attention_layernorm.weight", "ffn_norm.weight"),
      Map.entry("mlp.gate_proj.weight", "ffn_gate.weight"),
      Map.entry("mlp.up_proj.weight", "ffn_up.weight"),
      Map.entry("mlp.down_proj.weight", "ffn_down.weight"));

  /** {@code GgufExport CHECKPOINT_DIR OUT.gguf [f32|f16|bf16|q8_0]}: the type defaults to the checkpoint's own. */
  public static void main(String[] args) {
    if (args.length < 2 || args.length > 3) {
      System.err.println("usage: GgufExport CHECKPOINT_DIR OUT.gguf [f32|f16|bf16|q8_0]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    Type type = args.length == 3 ? Type.valueOf(args[2].toUpperCase(Locale.ROOT)) : null;
    long start = System.nanoTime();
    Path out = export(dir, Path.of(args[1]), type);
    System.out.printf("wrote %s in %.1f s%n", out, (System.nanoTime() - start) / 1e9);
  }

  /**
   * The GGUF of {@code checkpointDir} in {@code type} (null: the checkpoint's own), {@code <dir>.<type>.gguf} next to
   * it, written if missing or older than any file of the checkpoint.
   */
  public static Path cached(Path checkpointDir, Type type) {
    Type t = type != null ? type : Type.of(Qwen2Config.read(checkpointDir.resolve("config.json")).torchDtype());
    String name = checkpointDir.getFileName() + "." + t.name().toLowerCase(Locale.ROOT) + ".gguf";
    Path out = checkpointDir.resolveSibling(name);
    try {
      if (Files.exists(out) && !olderThanCheckpoint(out, checkpointDir)) {
        return out;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return export(checkpointDir, out, t);
  }

  private static boolean olderThanCheckpoint(Path gguf, Path dir) throws IOException {
    FileTime written = Files.getLastModifiedTime(gguf);
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.getLastModifiedTime(f).compareTo(written) > 0) {
          return true;
        }
      }
    }
    return false;
  }

  /** Writes {@code out} (through a temporary file, so a crash leaves no half file) and returns it. */
  public static Path export(Path checkpointDir, Path out, Type type) {
    Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
    try (Checkpoint checkpoint = Checkpoint.open(checkpointDir)) {
      Qwen2Config c = checkpoint.config();
      Type matrices = type != null ? type : Type.of(c.torchDtype());
      byte[] header = header(checkpoint, matrices);
      List<Entry> tensors = tensors(checkpoint, matrices);
      Files.createDirectories(out.toAbsolutePath().getParent());
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.WRITE)) {
        writeFully(ch, ByteBuffer.wrap(header));
        writeFully(ch, ByteBuffer.wrap(tensorInfos(tensors)));
        pad(ch);
        for (Entry e : tensors) {
          writeData(ch, e);
          pad(ch);
        }
      }
      Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + out + ": " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // best effort
      }
    }
  }

  /** One tensor to write: its GGUF name and dims, the type it is written in, its source, and its data offset. */
  private record Entry(String name, long[] dims, Type type, Tensor source, long offset) {
    long bytes() {
      return source.numel() / type.blockValues * type.blockBytes;
    }
  }

  private static List<Entry> tensors(Checkpoint checkpoint, Type matrices) {
    Qwen2Config c = checkpoint.config();
    List<Entry> entries = new ArrayList<>();
    long offset = 0;
    for (Qwen2Tensors.Spec spec : Qwen2Tensors.all(c)) {
      Tensor t = Qwen2Tensors.get(checkpoint.weights(), c, spec.name());
      long[] dims = new long[spec.shape().length]; // innermost first: the reverse of Hugging Face's shape
      for (int i = 0; i < dims.length; i++) {
        dims[i] = spec.shape()[dims.length - 1 - i];
      }
      Type type = dims.length == 1 ? Type.F32 : matrices;
      if (dims[0] % type.blockValues != 0) {
        throw new IllegalArgumentException(spec.name() + ": rows of " + dims[0] + " values are not whole "
            + type + " blocks of " + type.blockValues);
      }
      Entry e = new Entry(ggufName(spec.name()), dims, type, t, offset);
      entries.add(e);
      offset = align(offset + e.bytes());
    }
    return entries;
  }

  static String ggufName(String hfName) {
    return switch (hfName) {
      case Qwen2Tensors.EMBED_TOKENS -> "token_embd.weight";
      case Qwen2Tensors.NORM -> "output_norm.weight";
      case Qwen2Tensors.LM_HEAD -> "output.weight";
      default -> {
        String rest = hfName.substring("model.layers.".length());
        int dot = rest.indexOf('.');
        String mapped = LAYER_NAMES.get(rest.substring(dot + 1));
        if (!hfName.startsWith("model.layers.") || mapped == null) {
          throw new IllegalArgumentException("no GGUF name for " + hfName);
        }
        yield "blk." + rest.substring(0, dot) + "." + mapped;
      }
    };
  }

  // ---- metadata ----

  private static byte[] header(Checkpoint checkpoint, Type matrices) throws IOException {
    Qwen2Config c = checkpoint.config();
    String arch = switch (c.architecture()) {
      case QWEN2 -> "qwen2";
      case QWEN3 -> "qwen3";
      default -> throw new IllegalArgumentException("no GGUF export for " + c.architecture().className);
    };
    if (c.architecture() == Qwen2Config.Architecture.QWEN2 && c.headDim() * c.numAttentionHeads() != c.hiddenSize()) {
      // llama.cpp's qwen2 loader makes attn_output {n_embd, n_embd}: it cannot hold a head_dim * heads != hidden
      throw new IllegalArgumentException("llama.cpp's qwen2 needs head_dim * num_attention_heads == hidden_size");
    }
    Vocab vocab = Vocab.read(checkpoint, c.vocabSize());
    Kv kv = new Kv();
    kv.string("general.architecture", arch);
    kv.string("general.name", checkpoint.dir().toAbsolutePath().getFileName().toString());
    kv.u32("general.alignment", ALIGNMENT);
    kv.u32(arch + ".block_count", c.numHiddenLayers());
    kv.u32(arch + ".context_length", c.maxPositionEmbeddings());
    kv.u32(arch + ".embedding_length", c.hiddenSize());
    kv.u32(arch + ".feed_forward_length", c.intermediateSize());
    kv.u32(arch + ".attention.head_count", c.numAttentionHeads());
    kv.u32(arch + ".attention.head_count_kv", c.numKeyValueHeads());
    if (c.architecture() == Qwen2Config.Architecture.QWEN3) { // the converter writes them whenever head_dim is given
      kv.u32(arch + ".attention.key_length", c.headDim());
      kv.u32(arch + ".attention.value_length", c.headDim());
    }
    kv.f32(arch + ".rope.freq_base", (float) c.ropeTheta());
    kv.f32(arch + ".attention.layer_norm_rms_epsilon", (float) c.rmsNormEps());
    kv.u32("general.file_type", matrices.fileType);
    kv.string("tokenizer.ggml.model", "gpt2");
    kv.string("tokenizer.ggml.pre", "qwen2");
    kv.strings("tokenizer.ggml.tokens", vocab.tokens);
    kv.i32s("tokenizer.ggml.token_type", vocab.types);
    kv.strings("tokenizer.ggml.merges", vocab.merges);
    for (var special : vocab.specialIds.entrySet()) {
      kv.u32("tokenizer.ggml." + special.getKey() + "_token_id", special.getValue());
    }
    if (vocab.addBos != null) {
      kv.bool("tokenizer.ggml.add_bos_token", vocab.addBos);
    }
    if (vocab.chatTemplate != null) {
      kv.string("tokenizer.chat_template", vocab.chatTemplate);
    }
    Le head = new Le();
    head.bytes(MAGIC);
    head.u32(VERSION);
    head.u64(Qwen2Tensors.all(c).size());
    head.u64(kv.count);
    head.bytes(kv.out.toByteArray());
    return head.toByteArray();
  }

  private static byte[] tensorInfos(List<Entry> tensors) {
    Le out = new Le();
    for (Entry e : tensors) {
      out.string(e.name());
      out.u32(e.dims().length);
      for (long d : e.dims()) {
        out.u64(d);
      }
      out.u32(e.type().ggmlType);
      out.u64(e.offset());
    }
    return out.toByteArray();
  }

  /**
   * The tokenizer as {@code get_vocab_base} lays it out: one token per embedding row ({@code [PADn]}, UNUSED, for rows
   * the tokenizer does not use), added tokens CONTROL when special or shaped {@code <|...|>}, else USER_DEFINED; merges
   * as "left right" with a space inside a part written as U+0120; special ids from tokenizer_config.json, then
   * config.json, then generation_config.json, the first found winning.
   */
  private record Vocab(List<String> tokens, int[] types, List<String> merges, Map<String, Integer> specialIds,
      Boolean addBos, String chatTemplate) {

    static Vocab read(Checkpoint checkpoint, int vocabSize) throws IOException {
      JsonNode tokenizer = JSON.readTree(checkpoint.tokenizerJson().toFile());
      JsonNode tokenizerConfig = Files.exists(checkpoint.tokenizerConfigJson())
          ? JSON.readTree(checkpoint.tokenizerConfigJson().toFile()) : JSON.createObjectNode();
      JsonNode model = tokenizer.path("model");
      if (!model.path("type").asText("BPE").equals("BPE")) {
        throw new IllegalArgumentException("tokenizer.json: a " + model.path("type").asText() + " model, not BPE");
      }
      String[] byId = new String[vocabSize];
      model.path("vocab").fields().forEachRemaining(e -> put(byId, e.getValue().asInt(), e.getKey()));
      Map<Integer, Boolean> added = new HashMap<>(); // id -> special
      Map<String, Integer> addedIds = new HashMap<>();
      for (JsonNode a : tokenizer.path("added_tokens")) {
        put(byId, a.path("id").asInt(), a.path("content").asText());
        added.put(a.path("id").asInt(), a.path("special").asBoolean(false));
        addedIds.putIfAbsent(a.path("content").asText(), a.path("id").asInt());
      }
      List<String> tokens = new ArrayList<>(vocabSize);
      int[] types = new int[vocabSize];
      for (int i = 0; i < vocabSize; i++) {
        if (byId[i] == null) {
          tokens.add("[PAD" + i + "]");
          types[i] = UNUSED;
        } else {
          tokens.add(byId[i]);
          Boolean special = added.get(i);
          types[i] = special == null ? NORMAL
              : special || (byId[i].startsWith("<|") && byId[i].endsWith("|>")) ? CONTROL : USER_DEFINED;
        }
      }
      List<String> merges = new ArrayList<>();
      for (JsonNode m : model.path("merges")) {
        if (m.isTextual()) {
          merges.add(m.asText());
        } else {
          merges.add(m.get(0).asText().replace(' ', '\u0120') + " " + m.get(1).asText().replace(' ', '\u0120'));
        }
      }
      Map<String, Integer> specialIds = new LinkedHashMap<>();
      for (String typ : List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask")) {
        JsonNode entry = tokenizerConfig.path(typ + "_token");
        JsonNode text = entry.isTextual() ? entry : entry.path("content");
        String content = text.isTextual() ? text.asText() : null;
        Integer id = content == null ? null : addedIds.get(content);
        if (id == null) {
          id = idFrom(checkpoint.dir().resolve("config.json"), typ + "_token_id");
        }
        if (id == null) {
          id = idFrom(checkpoint.dir().resolve("generation_config.json"), typ + "_token_id");
        }
        if (id != null && id >= 0 && id < vocabSize) {
          specialIds.put(SPECIAL_KEYS.getOrDefault(typ, typ), id);
        }
      }
      JsonNode addBos = tokenizerConfig.path("add_bos_token");
      JsonNode template = tokenizerConfig.path("chat_template");
      return new Vocab(tokens, types, merges, specialIds, addBos.isBoolean() ? addBos.asBoolean() : null,
          template.isTextual() ? template.asText() : null);
    }

    private static void put(String[] byId, int id, String token) {
      if (id < 0 || id >= byId.length) {
        throw new IllegalArgumentException("tokenizer.json: token " + token + " has id " + id
            + ", outside the " + byId.length + " embedding rows");
      }
      byId[id] = token;
    }

    /** The first integer at {@code key} in a JSON file (an eos list gives its first), or null. */
    private static Integer idFrom(Path json, String key) throws IOException {
      if (!Files.exists(json)) {
        return null;
      }
      JsonNode v = JSON.readTree(json.toFile()).path(key);
      if (v.isArray() && !v.isEmpty()) {
        v = v.get(0);
      }
      return v.isIntegralNumber() ? v.asInt() : null;
    }
  }

  /** gguf-py's names for the special ids whose GGUF key differs from the tokenizer_config.json one (sic "seperator"). */
  private static final Map<String, String> SPECIAL_KEYS = Map.of("pad", "padding", "unk", "unknown", "sep", "seperator");

  /** Key/value pairs in GGUF encoding: key, value type, value. */
  private static final class Kv {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final Le le = new Le(out);
    int count;

    private void key(String key, int type) {
      le.string(key);
      le.u32(type);
      count++;
    }

    void u32(String key, long value) {
      key(key, UINT32);
      le.u32(value);
    }

    void f32(String key, float value) {
      key(key, FLOAT32);
      le.u32(Float.floatToRawIntBits(value));
    }

    void bool(String key, boolean value) {
      key(key, BOOL);
      out.write(value ? 1 : 0);
    }

    void string(String key, String value) {
      key(key, STRING);
      le.string(value);
    }

    void strings(String key, List<String> values) {
      key(key, ARRAY);
      le.u32(STRING);
      le.u64(values.size());
      values.forEach(le::string);
    }

    void i32s(String key, int[] values) {
      key(key, ARRAY);
      le.u32(INT32);
      le.u64(values.length);
      for (int v : values) {
        le.u32(v);
      }
    }
  }

  /** Little-endian writes into a byte stream; a GGUF string is its UTF-8 length as u64, then the bytes. */
  private static final class Le {
    private final ByteArrayOutputStream out;

    Le() {
      this(new ByteArrayOutputStream());
    }

    Le(ByteArrayOutputStream out) {
      this.out = out;
    }

    void u32(long v) {
      for (int i = 0; i < 4; i++) {
        out.write((int) (v >>> (8 * i)));
      }
    }

    void u64(long v) {
      for (int i = 0; i < 8; i++) {
        out.write((int) (v >>> (8 * i)));
      }
    }

    void bytes(byte[] b) {
      out.write(b, 0, b.length);
    }

    void string(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      u64(b.length);
      bytes(b);
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }

  // ---- data ----

  static long align(long n) {
    return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  private static void pad(FileChannel ch) throws IOException {
    long position = ch.position();
    writeFully(ch, ByteBuffer.allocate((int) (align(position) - position)));
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private static final int CHUNK = 1 << 20; // elements converted at a time

  /** A tensor's values in its GGUF type: copied as they are when the checkpoint already holds that type. */
  private static void writeData(FileChannel ch, Entry e) throws IOException {
    Tensor t = e.source();
    long n = t.numel();
    if (Type.of(t.dtype()) == e.type()) {
      MemorySegment data = t.data();
      for (long from = 0; from < data.byteSize(); from += (long) CHUNK * 4) {
        long len = Math.min((long) CHUNK * 4, data.byteSize() - from);
        writeFully(ch, data.asSlice(from, len).asByteBuffer());
      }
      return;
    }
    if (e.type() == Type.Q8_0) {
      writeQ8(ch, e);
      return;
    }
    float[] values = new float[(int) Math.min(n, CHUNK)];
    ByteBuffer buf = ByteBuffer.allocate(values.length * e.type().blockBytes).order(ByteOrder.LITTLE_ENDIAN);
    for (long from = 0; from < n; from += values.length) {
      int count = (int) Math.min(values.length, n - from);
      t.copyTo(from, values, 0, count);
      buf.clear();
      for (int i = 0; i < count; i++) {
        switch (e.type()) {
          case F32 -> buf.putFloat(values[i]);
          case F16 -> buf.putShort(Float.floatToFloat16(values[i]));
          case BF16 -> buf.putShort(DType.floatToBf16(values[i]));
          case Q8_0 -> throw new IllegalStateException("written by writeQ8");
        }
      }
      buf.flip();
      writeFully(ch, buf);
    }
  }

  /** A matrix as block_q8_0 rows: for each block of 32, its float16 scale, then its 32 int8 values. */
  private static void writeQ8(FileChannel ch, Entry e) throws IOException {
    Tensor t = e.source();
    int cols = (int) e.dims()[0];
    long rows = t.numel() / cols;
    float[] row = new float[cols];
    byte[] q = new byte[cols];
    ByteBuffer buf = ByteBuffer.allocate(cols / Q8_0.BLOCK * e.type().blockBytes).order(ByteOrder.LITTLE_ENDIAN);
    for (long r = 0; r < rows; r++) {
      t.copyTo(r * cols, row, 0, cols);
      buf.clear();
      for (int b = 0; b < cols; b += Q8_0.BLOCK) {
        buf.putShort(Q8_0.quantize(row, b, Q8_0.BLOCK, q, b));
        buf.put(q, b, Q8_0.BLOCK);
      }
      buf.flip();
      writeFully(ch, buf);
    }
  }
}
