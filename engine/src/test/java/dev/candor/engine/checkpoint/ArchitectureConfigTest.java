package dev.candor.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.Qwen2Config.Architecture;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * config.json of the families beside Qwen2, as published (test data written from the published files' values:
 * Qwen/Qwen3-0.6B, Qwen/Qwen3-8B, mistralai/Mistral-7B-v0.3, meta-llama/Llama-3.2-1B). The parameter counts are
 * checked against the numbers their model cards and Hub pages state, which were not computed by this code.
 */
class ArchitectureConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static ObjectNode published(String name) {
    try (InputStream in = ArchitectureConfigTest.class.getResourceAsStream("configs/" + name + ".json")) {
      return (ObjectNode) JSON.readTree(in);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void qwen3SmallParsesWithItsHeadDimTiedEmbeddingsAndNoBiases() {
    Qwen2Config c = Qwen2Config.fromJson(published("qwen3-0.6b"));
    assertEquals(Architecture.QWEN3, c.architecture());
    assertEquals(128, c.headDim());
    assertEquals(16 * 128, c.numAttentionHeads() * c.headDim());
    assertNotEquals(c.hiddenSize(), c.numAttentionHeads() * c.headDim(), "heads x head_dim differs from hidden_size");
    assertTrue(c.qkNorm());
    assertFalse(c.attentionBias());
    assertTrue(c.tieWordEmbeddings());
    assertEquals(1e6, c.ropeTheta());
    assertEquals(40960, c.maxPositionEmbeddings());
    // the model card: 0.6B parameters, 0.44B of them non-embedding
    long embedding = (long) c.vocabSize() * c.hiddenSize();
    assertEquals(0.44, Math.round((c.parameterCount() - embedding) / 1e7) / 100.0);
    assertEquals(596_049_920L, c.parameterCount()); // the Hub's safetensors count: 0.6B
  }

  @Test
  void qwen3LargeParsesUntiedWithTheHubsParameterCount() {
    Qwen2Config c = Qwen2Config.fromJson(published("qwen3-8b"));
    assertEquals(Architecture.QWEN3, c.architecture());
    assertFalse(c.tieWordEmbeddings());
    assertEquals(8, c.numKeyValueHeads());
    assertEquals(8_190_735_360L, c.parameterCount()); // the Hub's safetensors count: 8.19B
  }

  @Test
  void mistralParsesWithTheHubsParameterCount() {
    Qwen2Config c = Qwen2Config.fromJson(published("mistral-7b-v0.3"));
    assertEquals(Architecture.MISTRAL, c.architecture());
    assertEquals(128, c.headDim()); // from hidden_size / num_attention_heads: the config has no head_dim
    assertFalse(c.attentionBias() || c.qkNorm());
    assertEquals(7_248_023_552L, c.parameterCount()); // the Hub's safetensors count: 7.25B
  }

  @Test
  void whatIsNotComputedIsRefusedInOneLine() {
    CheckpointException llama3Rope = assertThrows(CheckpointException.class,
        () -> Qwen2Config.fromJson(published("llama-3.2-1b")));
    assertTrue(llama3Rope.getMessage().contains("llama3"), llama3Rope.getMessage());

    ObjectNode biased = published("qwen3-0.6b").put("attention_bias", true);
    CheckpointException bias = assertThrows(CheckpointException.class, () -> Qwen2Config.fromJson(biased));
    assertTrue(bias.getMessage().contains("attention_bias"), bias.getMessage());

    ObjectNode windowed = published("mistral-7b-v0.3").put("sliding_window", 4096);
    CheckpointException window = assertThrows(CheckpointException.class, () -> Qwen2Config.fromJson(windowed));
    assertTrue(window.getMessage().contains("sliding_window"), window.getMessage());

    ObjectNode other = published("qwen3-0.6b");
    other.putArray("architectures").add("Qwen3MoeForCausalLM");
    CheckpointException moe = assertThrows(CheckpointException.class, () -> Qwen2Config.fromJson(other));
    assertTrue(moe.getMessage().contains("Qwen3MoeForCausalLM") && moe.getMessage().contains("Qwen3ForCausalLM"),
        moe.getMessage());
  }

  @Test
  void everyFamilyRoundTripsThroughTheConfigItWrites() {
    for (Architecture a : Architecture.values()) {
      Qwen2Config c = Qwen2Config.of(a, 40, 37, 3, 3, 1, 16, 1e-6, 10000.0, 99, 512, true, DType.BF16);
      assertEquals(c, Qwen2Config.fromJson(c.toJson()), a.toString());
    }
    Qwen2Config qwen2 = new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, 10000.0, 99, 512, false, DType.F32);
    Qwen2Config qwen3 = Qwen2Config.of(Architecture.QWEN3, 32, 37, 3, 4, 2, 8, 1e-6, 10000.0, 99, 512, false,
        DType.F32);
    assertNotEquals(qwen2.fingerprint(), qwen3.fingerprint(), "a probe of one family cannot load on the other");
  }
}
