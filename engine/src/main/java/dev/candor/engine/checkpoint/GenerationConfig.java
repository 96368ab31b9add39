package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * {@code generation_config.json}: the ids that end a generation and the sampling defaults a checkpoint ships with
 * (Qwen2.5-7B-Instruct: do_sample true, temperature 0.7, top_p 0.8, top_k 20, repetition_penalty 1.05). The file is
 * optional, and so is every field: a default the file does not give is empty, never a made-up value. This only
 * reads them; which apply to a request is the server's decision (vLLM applies temperature, top_p, top_k and
 * repetition_penalty when a request leaves them out, and ignores do_sample; transformers samples only when
 * do_sample is true, its own default being false).
 *
 * @param eosTokenIds every id that ends a generation (Qwen2.5-Instruct: {@code <|im_end|>} and {@code <|endoftext|>});
 *     from generation_config.json, else from config.json, else empty
 * @param temperature the default temperature (>= 0), or empty
 * @param topP the default nucleus mass (0 < top_p <= 1), or empty
 * @param topK the default top-k (>= 0; 0 means no top-k in transformers), or empty
 * @param repetitionPenalty the default repetition penalty (> 0; 1 is none), or empty
 * @param doSample whether transformers would sample by default, or empty when the file does not say
 */
public record GenerationConfig(List<Integer> eosTokenIds, OptionalDouble temperature, OptionalDouble topP,
    OptionalInt topK, OptionalDouble repetitionPenalty, Optional<Boolean> doSample) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** No generation_config.json and no eos in config.json. */
  public static final GenerationConfig NONE = new GenerationConfig(List.of(), OptionalDouble.empty(),
      OptionalDouble.empty(), OptionalInt.empty(), OptionalDouble.empty(), Optional.empty());

  public GenerationConfig {
    eosTokenIds = List.copyOf(eosTokenIds);
  }

  /** Only the eos ids, no sampling defaults. */
  public static GenerationConfig ofEos(List<Integer> eosTokenIds) {
    return new GenerationConfig(eosTokenIds, OptionalDouble.empty(), OptionalDouble.empty(), OptionalInt.empty(),
        OptionalDouble.empty(), Optional.empty());
  }

  /** {@code file} (a checkpoint's generation_config.json), with eos from the config.json beside it if it has none. */
  public static GenerationConfig read(Path file) {
    return read(file, file.toAbsolutePath().resolveSibling("config.json"));
  }

  /**
   * @param file generation_config.json (may be absent)
   * @param configJson config.json, read only for {@code eos_token_id} when the generation config gives none
   */
  public static GenerationConfig read(Path file, Path configJson) {
    JsonNode root = Files.exists(file) ? readObject(file) : JSON.createObjectNode();
    List<Integer> eos = eosIds(file, root.get("eos_token_id"));
    if (eos == null && Files.exists(configJson)) {
      eos = eosIds(configJson, readObject(configJson).get("eos_token_id"));
    }
    return new GenerationConfig(eos == null ? List.of() : eos,
        number(file, root, "temperature", 0, false, Double.POSITIVE_INFINITY),
        number(file, root, "top_p", 0, true, 1),
        topK(file, root),
        number(file, root, "repetition_penalty", 0, true, Double.POSITIVE_INFINITY),
        doSample(file, root));
  }

  private static JsonNode readObject(Path file) {
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw CheckpointException.at(file, "not valid JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw CheckpointException.at(file, "not a JSON object");
    }
    return root;
  }

  /** An id or a list of ids; null when the field is absent or null; a CheckpointException for anything else. */
  private static List<Integer> eosIds(Path file, JsonNode e) {
    if (e == null || e.isNull()) {
      return null;
    }
    List<Integer> ids = new ArrayList<>();
    if (e.isArray()) {
      e.forEach(id -> ids.add(tokenId(file, id)));
    } else {
      ids.add(tokenId(file, e));
    }
    return ids;
  }

  private static int tokenId(Path file, JsonNode id) {
    if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
      throw CheckpointException.at(file, "eos_token_id must be a token id or a list of token ids, got " + id);
    }
    return id.intValue();
  }

  /** A number in [low, high] (low excluded when {@code openLow}), empty when absent or null. */
  private static OptionalDouble number(Path file, JsonNode root, String name, double low, boolean openLow,
      double high) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      return OptionalDouble.empty();
    }
    double d = v.doubleValue();
    if (!v.isNumber() || Double.isNaN(d) || (openLow ? d <= low : d < low) || d > high) {
      throw CheckpointException.at(file, name + " must be a number " + (openLow ? "> " : ">= ") + (long) low
          + (high < Double.POSITIVE_INFINITY ? " and <= " + (long) high : "") + ", got " + v);
    }
    return OptionalDouble.of(d);
  }

  private static OptionalInt topK(Path file, JsonNode root) {
    JsonNode v = root.get("top_k");
    if (v == null || v.isNull()) {
      return OptionalInt.empty();
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
      throw CheckpointException.at(file, "top_k must be an integer >= 0, got " + v);
    }
    return OptionalInt.of(v.intValue());
  }

  private static Optional<Boolean> doSample(Path file, JsonNode root) {
    JsonNode v = root.get("do_sample");
    if (v == null || v.isNull()) {
      return Optional.empty();
    }
    if (!v.isBoolean()) {
      throw CheckpointException.at(file, "do_sample must be true or false, got " + v);
    }
    return Optional.of(v.booleanValue());
  }
}
