package dev.candor.engine.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json}, encoded through DJL's binding of the tokenizers library with truncation
 * and padding off (by default it silently cuts input to 512 tokens), and decoded here, byte-exactly: every id maps to
 * the bytes it stands for, so streaming never has to guess where a UTF-8 character ends.
 *
 * <p>Byte-level BPE (Qwen, GPT-2, Llama 3) stores each byte as a printable character (GPT-2's bytes_to_unicode); the
 * table is inverted once at load. Added tokens stand for their literal text.
 */
public final class Tokenizer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HuggingFaceTokenizer encoder;
  private final byte[][] tokenBytes; // [id] -> the bytes the token decodes to
  private final Set<Integer> special;
  private final Map<String, Integer> added;
  private final JsonNode definition; // tokenizer.json, for the split-special encoder
  private HuggingFaceTokenizer splitSpecialEncoder; // made on first use, guarded by this

  private Tokenizer(HuggingFaceTokenizer encoder, byte[][] tokenBytes, Set<Integer> special, Map<String, Integer> added,
      JsonNode definition) {
    this.encoder = encoder;
    this.tokenBytes = tokenBytes;
    this.special = special;
    this.added = added;
    this.definition = definition;
  }

  public static Tokenizer load(Path tokenizerJson) {
    if (!Files.exists(tokenizerJson)) {
      throw new CheckpointException(tokenizerJson + ": file not found (the checkpoint needs its tokenizer.json)");
    }
    JsonNode root;
    try (InputStream in = Files.newInputStream(tokenizerJson)) {
      root = JSON.readTree(in);
    } catch (IOException e) {
      throw new CheckpointException(tokenizerJson + ": not valid JSON: " + e.getMessage());
    }
    JsonNode vocab = root.path("model").path("vocab");
    if (!vocab.isObject()) {
      throw new CheckpointException(tokenizerJson + ": model.vocab is missing or not a token -> id object");
    }
    boolean byteLevel = usesByteLevel(root.path("decoder"));
    if (!byteLevel) {
      throw new CheckpointException(tokenizerJson + ": decoder " + root.path("decoder").path("type").asText("(none)")
          + " is not supported; Candor decodes byte-level BPE tokenizers (Qwen, GPT-2, Llama 3)");
    }
    Map<Character, Byte> unicodeToByte = ByteLevel.unicodeToByte();
    Map<Integer, byte[]> bytes = new HashMap<>();
    int maxId = -1;
    for (var it = vocab.fields(); it.hasNext(); ) {
      var e = it.next();
      int id = e.getValue().asInt();
      bytes.put(id, ByteLevel.decode(e.getKey(), unicodeToByte));
      maxId = Math.max(maxId, id);
    }
    Set<Integer> special = new HashSet<>();
    Map<String, Integer> added = new HashMap<>();
    for (JsonNode t : root.path("added_tokens")) {
      int id = t.path("id").asInt();
      String content = t.path("content").asText();
      bytes.put(id, content.getBytes(StandardCharsets.UTF_8));
      added.put(content, id);
      if (t.path("special").asBoolean(false)) {
        special.add(id);
      }
      maxId = Math.max(maxId, id);
    }
    byte[][] table = new byte[maxId + 1][];
    bytes.forEach((id, b) -> table[id] = b);
    HuggingFaceTokenizer encoder;
    try {
      encoder = HuggingFaceTokenizer.builder()
          .optTokenizerPath(tokenizerJson)
          .optTruncation(false)
          .optPadding(false)
          .optAddSpecialTokens(false)
          .build();
    } catch (IOException | RuntimeException e) {
      throw new CheckpointException(tokenizerJson + ": the tokenizers library cannot load it: " + e.getMessage(), e);
    }
    return new Tokenizer(encoder, table, special, added, root);
  }

  private static boolean usesByteLevel(JsonNode decoder) {
    if (decoder.path("type").asText().equals("ByteLevel")) {
      return true;
    }
    for (JsonNode d : decoder.path("decoders")) {
      if (usesByteLevel(d)) {
        return true;
      }
    }
    return false;
  }

  /** Token ids of {@code text}; special-token text such as {@code <|im_start|>} becomes its special id. */
  public int[] encode(String text) {
    return encode(text, false);
  }

  /**
   * Token ids of {@code text}. With {@code splitSpecialTokens} (transformers' {@code split_special_tokens=True}, the
   * tokenizers library's {@code encode_special_tokens}), the text of a special token such as {@code <|im_end|>} is
   * tokenized as plain text, so a user who types it cannot end a turn; added tokens that are not special
   * ({@code <tool_call>} in Qwen) still match.
   */
  public int[] encode(String text, boolean splitSpecialTokens) {
    HuggingFaceTokenizer e = splitSpecialTokens ? splitSpecialEncoder() : encoder;
    Encoding encoding = e.encode(text, false, false);
    long[] ids = encoding.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  /**
   * The same tokenizer with its special added tokens made unmatchable, which is what encode_special_tokens does (DJL's
   * binding does not expose that switch): each keeps its place, so every id stays the same (the library numbers
   * added tokens in order), but its text becomes a string no input contains, a noncharacter and a random suffix
   * this process never reveals. The non-special added tokens are checked to keep their ids.
   */
  private synchronized HuggingFaceTokenizer splitSpecialEncoder() {
    if (splitSpecialEncoder != null) {
      return splitSpecialEncoder;
    }
    com.fasterxml.jackson.databind.node.ObjectNode copy = definition.deepCopy();
    byte[] random = new byte[16];
    new java.security.SecureRandom().nextBytes(random);
    String secret = "\uffff" + java.util.HexFormat.of().formatHex(random);
    for (JsonNode t : copy.path("added_tokens")) {
      if (t.path("special").asBoolean(false) && t instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
        o.put("content", secret + ":" + t.path("id").asInt());
      }
    }
    HuggingFaceTokenizer split;
    try (InputStream in = new java.io.ByteArrayInputStream(JSON.writeValueAsBytes(copy))) {
      split = HuggingFaceTokenizer.newInstance(in, Map.of("addSpecialTokens", "false", "truncation", "false",
          "padding", "false"));
    } catch (IOException | RuntimeException e) {
      throw new CheckpointException("tokenizer.json: the tokenizers library cannot load it with special tokens"
          + " split: " + e.getMessage(), e);
    }
    for (JsonNode t : definition.path("added_tokens")) {
      long[] ids = split.encode(t.path("content").asText(), false, false).getIds();
      boolean ok = t.path("special").asBoolean(false)
          ? ids.length > 0 && java.util.Arrays.stream(ids).noneMatch(id -> special.contains((int) id))
          : ids.length == 1 && ids[0] == t.path("id").asLong();
      if (!ok) {
        split.close();
        throw new CheckpointException("tokenizer.json: cannot split special tokens: added token "
            + t.path("content") + " does not keep its id without them");
      }
    }
    splitSpecialEncoder = split;
    return split;
  }

  /** Number of ids the tokenizer defines (a model's vocab_size may be larger: Qwen pads its embedding). */
  public int size() {
    return tokenBytes.length;
  }

  /** The bytes token {@code id} stands for; empty for an id the tokenizer does not define. */
  public byte[] bytes(int id) {
    if (id < 0 || id >= tokenBytes.length || tokenBytes[id] == null) {
      return new byte[0];
    }
    return tokenBytes[id];
  }

  /** The token's text; a token that is part of a multi-byte character shows as U+FFFD (its bytes are exact). */
  public String text(int id) {
    return new String(bytes(id), StandardCharsets.UTF_8);
  }

  public boolean isSpecial(int id) {
    return special.contains(id);
  }

  /** The id of an added token such as {@code <|im_end|>}, or -1. */
  public int addedTokenId(String content) {
    return added.getOrDefault(content, -1);
  }

  /** The text of a whole sequence; special tokens are dropped when {@code skipSpecial}. */
  public String decode(int[] ids, boolean skipSpecial) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (int id : ids) {
      if (!(skipSpecial && isSpecial(id))) {
        out.writeBytes(bytes(id));
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** DJL's own decoding, for cross-checking. */
  public String decodeWithLibrary(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return encoder.decode(l, false);
  }

  /** Whether {@code other} maps every id to the same bytes (so drafted ids mean the same to both models). */
  public boolean sameVocabulary(Tokenizer other) {
    if (other.tokenBytes.length != tokenBytes.length) {
      return false;
    }
    for (int i = 0; i < tokenBytes.length; i++) {
      if (!java.util.Arrays.equals(tokenBytes[i], other.tokenBytes[i])) {
        return false;
      }
    }
    return special.equals(other.special);
  }

  public List<Integer> specialIds() {
    return new ArrayList<>(special);
  }

  @Override
  public synchronized void close() {
    encoder.close();
    if (splitSpecialEncoder != null) {
      splitSpecialEncoder.close();
    }
  }
}
