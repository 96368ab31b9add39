package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code generation_config.json}: the ids that end a generation and the sampling defaults a checkpoint ships with.
 * The file is optional; without it the tokenizer's eos token is the only stop.
 *
 * @param eosTokenIds every id that ends a generation (Qwen2.5-Instruct: {@code <|im_end|>} and {@code <|endoftext|>})
 * @param temperature default temperature, or NaN when the file does not say
 * @param topP default top-p, or NaN
 * @param topK default top-k, or 0
 */
public record GenerationConfig(List<Integer> eosTokenIds, double temperature, double topP, int topK) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static final GenerationConfig NONE = new GenerationConfig(List.of(), Double.NaN, Double.NaN, 0);

  public GenerationConfig {
    eosTokenIds = List.copyOf(eosTokenIds);
  }

  public static GenerationConfig read(Path file) {
    if (!Files.exists(file)) {
      return NONE;
    }
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw CheckpointException.at(file, "not valid JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw CheckpointException.at(file, "not a JSON object");
    }
    List<Integer> eos = new ArrayList<>();
    JsonNode e = root.path("eos_token_id");
    if (e.isArray()) {
      e.forEach(id -> eos.add(id.asInt()));
    } else if (e.isIntegralNumber()) {
      eos.add(e.asInt());
    }
    boolean doSample = root.path("do_sample").asBoolean(true);
    double temperature = root.path("temperature").isNumber() ? root.get("temperature").asDouble() : Double.NaN;
    return new GenerationConfig(eos, doSample ? temperature : 0.0,
        root.path("top_p").isNumber() ? root.get("top_p").asDouble() : Double.NaN,
        root.path("top_k").asInt(0));
  }
}
