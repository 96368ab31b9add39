package dev.candor.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * config.json's RoPE as transformers 4 and 5 write it, against numbers from Hugging Face's formulas
 * ({@code engine/src/test/python/yarn_reference.py}, a float64 restatement of transformers'
 * {@code _compute_yarn_parameters} and its config standardisation; committed with its output), and one clear line
 * for each RoPE Candor does not compute.
 */
class RopeParametersTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Stream<Arguments> references() throws IOException {
    List<Arguments> out = new ArrayList<>();
    try (InputStream in = RopeParametersTest.class.getResourceAsStream("rope-reference.json")) {
      for (JsonNode c : JSON.readTree(in).path("cases")) {
        out.add(Arguments.of(c.get("name").asText(), c));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("references")
  void inverseFrequenciesAndAttentionFactorAreHuggingFaces(String name, JsonNode c) {
    Qwen2Config config = Qwen2Config.fromJson(c.get("config"));
    RopeParameters rope = config.ropeParameters();
    assertEquals(c.get("rope_type").asText(), rope.ropeType().hfName(), name);
    assertEquals(c.get("rope_theta").asDouble(), rope.ropeTheta(), name);
    assertEquals(c.get("attention_factor").asDouble(), rope.attentionScaling(), 1e-12, name);
    float[] inverse = rope.inverseFrequencies(config.headDim());
    JsonNode expected = c.get("inv_freq");
    assertEquals(expected.size(), inverse.length, name);
    for (int i = 0; i < inverse.length; i++) {
      double want = expected.get(i).asDouble();
      // float32 steps (as transformers' tensors) against the float64 formula: a few float32 roundings apart
      assertEquals(want, inverse[i], 4e-7 * want, name + " frequency " + i);
    }
  }

  @Test
  void ropeParametersAloneGiveTheSameFrequenciesAsRopeTheta() throws IOException {
    Qwen2Config transformers4 = Qwen2Config.fromJson(config("\"rope_theta\": 1000000.0"));
    Qwen2Config transformers5 = Qwen2Config.fromJson(config(
        "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000000.0}"));
    assertEquals(transformers4, transformers5);
    assertArrayEquals(transformers4.ropeParameters().inverseFrequencies(64),
        transformers5.ropeParameters().inverseFrequencies(64), 0f);
    Qwen2Config unset = Qwen2Config.fromJson(config("\"use_sliding_window\": false"));
    assertEquals(RopeParameters.DEFAULT_THETA, unset.ropeTheta(), "transformers' Qwen2 default when no θ is given");
  }

  @Test
  void theDefaultFrequenciesAreTheOnesTheBackendsAlwaysUsed() {
    float[] inverse = RopeParameters.defaults(10000).inverseFrequencies(8);
    for (int i = 0; i < 4; i++) {
      assertEquals(1.0f / (float) Math.pow(10000f, (float) (2 * i) / 8), inverse[i], 0f);
    }
    assertEquals(1.0, RopeParameters.defaults(10000).attentionScaling());
  }

  @Test
  void yarnRoundTripsThroughConfigJson() {
    Qwen2Config c = new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, new RopeParameters(RopeParameters.RopeType.YARN,
        10000, 4.0, 128, 0.9, 16, 2, null, null, false), 99, 512, false, DType.F32);
    assertEquals(c, Qwen2Config.fromJson(c.toJson()));
    Qwen2Config plain = new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, 1e6, 99, 512, false, DType.F32);
    assertEquals(plain, Qwen2Config.fromJson(plain.toJson()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"linear", "dynamic", "llama3", "longrope", "mrope", "su"})
  void otherRopeTypesAreRefusedInOneLine(String type) throws IOException {
    for (String field : List.of("rope_scaling", "rope_parameters")) {
      var e = assertThrows(CheckpointException.class, () -> Qwen2Config.fromJson(config("\"" + field
          + "\": {\"rope_type\": \"" + type + "\", \"factor\": 2.0}")));
      assertEquals("config.json: " + field + " rope_type '" + type + "' is not supported; Candor computes 'default'"
          + " and 'yarn' RoPE", e.getMessage());
    }
  }

  @Test
  void aNullThetaIsRefusedWhereverItIs() throws IOException {
    var top = assertThrows(CheckpointException.class, () -> Qwen2Config.fromJson(config("\"rope_theta\": null")));
    assertEquals("config.json: rope_theta is null; a checkpoint must say its RoPE base", top.getMessage());
    var nested = assertThrows(CheckpointException.class, () -> Qwen2Config.fromJson(config(
        "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": null}")));
    assertEquals("config.json: rope_parameters.rope_theta is null; a checkpoint must say its RoPE base",
        nested.getMessage());
  }

  @Test
  void whatCandorDoesNotComputeIsRefused() throws IOException {
    assertRefused("\"hidden_act\": \"gelu\"", "hidden_act 'gelu' is not supported");
    assertRefused("\"rope_parameters\": {\"full_attention\": {\"rope_type\": \"default\", \"rope_theta\": 1e6},"
        + " \"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": 1e4}}, \"layer_types\":"
        + " [\"full_attention\", \"sliding_attention\"]", "differs between layer types");
    assertRefused("\"rope_parameters\": {\"sliding_attention\": {\"rope_type\": \"default\"}}",
        "no entry for layer type 'full_attention'");
    assertRefused("\"partial_rotary_factor\": 0.5", "partial_rotary_factor 0.5 is not supported");
    assertRefused("\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": \"4\"}", "factor must be a number");
    assertRefused("\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": -1}", "factor must be a positive number");
    assertRefused("\"rope_parameters\": [1]", "rope_parameters must be an object");
    assertRefused("\"rope_theta\": \"1e6\"", "rope_theta must be a number");
  }

  private static void assertRefused(String fields, String expected) throws IOException {
    JsonNode json = config(fields);
    var e = assertThrows(CheckpointException.class, () -> Qwen2Config.fromJson(json), fields);
    assertTrue(e.getMessage().startsWith("config.json: ") && e.getMessage().contains(expected)
        && !e.getMessage().contains("\n"), e.getMessage());
  }

  /** A small Qwen2 config.json with {@code fields} added (and no RoPE fields but those). */
  static JsonNode config(String fields) throws IOException {
    ObjectNode c = (ObjectNode) JSON.readTree("{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_size\": 64,"
        + " \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
        + " \"num_key_value_heads\": 2, \"vocab_size\": 100, \"max_position_embeddings\": 256, " + fields + "}");
    return c;
  }
}
