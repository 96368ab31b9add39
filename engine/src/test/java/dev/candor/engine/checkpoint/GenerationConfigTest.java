package dev.candor.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generation_config.json's eos ids and sampling defaults, each absent when not given, each refused when malformed. */
class GenerationConfigTest {
  @TempDir
  Path dir;

  private GenerationConfig read(String generationConfig, String config) throws IOException {
    if (generationConfig != null) {
      Files.writeString(dir.resolve("generation_config.json"), generationConfig);
    }
    if (config != null) {
      Files.writeString(dir.resolve("config.json"), config);
    }
    return GenerationConfig.read(dir.resolve("generation_config.json"));
  }

  @Test
  void qwen25InstructDefaults() throws IOException {
    GenerationConfig g = read("""
        {"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643],
         "repetition_penalty": 1.05, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}
        """, null);
    assertEquals(new GenerationConfig(List.of(151645, 151643), OptionalDouble.of(0.7), OptionalDouble.of(0.8),
        OptionalInt.of(20), OptionalDouble.of(1.05), Optional.of(true)), g);
  }

  @Test
  void whatTheFileDoesNotSayIsAbsent() throws IOException {
    assertEquals(GenerationConfig.ofEos(List.of(2)), read("{\"eos_token_id\": 2, \"temperature\": null}", null));
    Files.delete(dir.resolve("generation_config.json"));
    assertEquals(GenerationConfig.NONE, read(null, null));
  }

  @Test
  void eosComesFromConfigJsonWhenTheGenerationConfigHasNone() throws IOException {
    assertEquals(List.of(151643), read(null, "{\"eos_token_id\": 151643}").eosTokenIds(), "no generation_config.json");
    assertEquals(List.of(5, 6), read("{\"temperature\": 0.5}", "{\"eos_token_id\": [5, 6]}").eosTokenIds(),
        "generation_config.json without eos_token_id");
    assertEquals(List.of(7), read("{\"eos_token_id\": 7}", "{\"eos_token_id\": 8}").eosTokenIds(),
        "generation_config.json's own eos wins");
  }

  @Test
  void aNonNumericEosIsRefusedInEitherFile() throws IOException {
    for (String eos : List.of("[\"<|im_end|>\"]", "[151645, null]", "1.5", "-1", "\"151645\"", "{\"id\": 1}")) {
      var e = assertThrows(CheckpointException.class, () -> read("{\"eos_token_id\": " + eos + "}", null), eos);
      assertTrue(e.getMessage().contains("eos_token_id must be a token id or a list of token ids"), e.getMessage());
      Files.delete(dir.resolve("generation_config.json"));
      var f = assertThrows(CheckpointException.class, () -> read(null, "{\"eos_token_id\": " + eos + "}"), eos);
      assertTrue(f.getMessage().contains("config.json"), f.getMessage());
      Files.delete(dir.resolve("config.json"));
    }
  }

  @Test
  void malformedSamplingDefaultsAreRefusedInOneLine() throws IOException {
    for (String field : List.of("\"temperature\": -1", "\"temperature\": \"0.7\"", "\"top_p\": 0", "\"top_p\": 1.5",
        "\"top_k\": -1", "\"top_k\": 2.5", "\"repetition_penalty\": 0", "\"do_sample\": \"yes\"")) {
      var e = assertThrows(CheckpointException.class, () -> read("{" + field + "}", null), field);
      assertTrue(e.getMessage().contains("generation_config.json") && !e.getMessage().contains("\n"), e.getMessage());
    }
  }
}
