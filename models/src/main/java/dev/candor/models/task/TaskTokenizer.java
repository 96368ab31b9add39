package dev.candor.models.task;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The default models' tokenizer, in Hugging Face form: byte-level BPE with the 256 byte symbols and no merges (so
 * every digit is its own token, which is what makes arithmetic learnable for a small model, and any UTF-8 text still
 * encodes), plus the ChatML special tokens Qwen uses and a ChatML chat template. Id = byte value for 0..255, then
 * {@code <|endoftext|>} 256, {@code <|im_start|>} 257, {@code <|im_end|>} 258.
 */
public final class TaskTokenizer {
  public static final int VOCAB = 259;
  public static final int ENDOFTEXT = 256;
  public static final int IM_START = 257;
  public static final int IM_END = 258;
  public static final List<String> SPECIAL = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

  /** ChatML, as Qwen2.5 renders it but without a default system message. */
  public static final String CHAT_TEMPLATE = """
      {%- for message in messages %}
          {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}
      {%- endfor %}
      {%- if add_generation_prompt %}
          {{- '<|im_start|>assistant\\n' }}
      {%- endif %}
      """;

  private TaskTokenizer() {}

  /** Writes tokenizer.json and tokenizer_config.json into {@code dir}. */
  public static void write(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Files.createDirectories(dir);
    ObjectNode root = json.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (int i = 0; i < SPECIAL.size(); i++) {
      ObjectNode t = added.addObject();
      t.put("id", ENDOFTEXT + i);
      t.put("content", SPECIAL.get(i));
      t.put("single_word", false);
      t.put("lstrip", false);
      t.put("rstrip", false);
      t.put("normalized", false);
      t.put("special", true);
    }
    root.putNull("normalizer");
    root.set("pre_tokenizer", byteLevel(json));
    root.putNull("post_processor");
    root.set("decoder", byteLevel(json));
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    model.put("ignore_merges", false);
    ObjectNode vocab = model.putObject("vocab");
    String[] symbols = byteSymbols();
    for (int b = 0; b < 256; b++) {
      vocab.put(symbols[b], b);
    }
    model.putArray("merges");
    Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));

    ObjectNode config = json.createObjectNode();
    config.put("tokenizer_class", "PreTrainedTokenizerFast");
    config.put("bos_token", (String) null);
    config.put("eos_token", "<|im_end|>");
    config.put("pad_token", "<|endoftext|>");
    config.put("model_max_length", 512);
    config.put("chat_template", CHAT_TEMPLATE.strip());
    Files.writeString(dir.resolve("tokenizer_config.json"), json.writeValueAsString(config));
  }

  private static ObjectNode byteLevel(ObjectMapper json) {
    ObjectNode node = json.createObjectNode();
    node.put("type", "ByteLevel");
    node.put("add_prefix_space", false);
    node.put("trim_offsets", false);
    node.put("use_regex", false);
    return node;
  }

  /** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest shift to 256+. */
  static String[] byteSymbols() {
    String[] symbols = new String[256];
    int shifted = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      symbols[b] = String.valueOf((char) (printable ? b : 256 + shifted++));
    }
    return symbols;
  }
}
