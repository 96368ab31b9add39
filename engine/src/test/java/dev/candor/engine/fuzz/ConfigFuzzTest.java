package dev.candor.engine.fuzz;

import static dev.candor.engine.fuzz.Fuzzing.check;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.RandomCheckpoint;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fuzzes config.json (checkpoint/Qwen2Config): from a JSON tree, from a file, and as the loader uses it. A config that
 * is not a Qwen2 config Candor can run must end as a {@link CheckpointException}; one that parses must describe a
 * model: positive sizes, an even head_dim, a parameter count that is the true count, and a shape the loader can
 * build without allocating far more than the weights it reads.
 */
class ConfigFuzzTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<Integer> SIZES = List.of(1, 2, 4, 8, 14, 64, 896, 3584, 4864, 18944, 151936, 1 << 16,
      1 << 20, 1 << 30, Integer.MAX_VALUE - 1, Integer.MAX_VALUE);

  /** Interesting numbers for the fuzzer to splice into sizes. */
  @FuzzTest
  @DictionaryEntries({"\"hidden_size\"", "\"intermediate_size\"", "\"num_hidden_layers\"", "\"num_attention_heads\"",
      "\"num_key_value_heads\"", "\"head_dim\"", "\"vocab_size\"", "\"max_position_embeddings\"", "\"rope_theta\"",
      "\"rms_norm_eps\"", "\"torch_dtype\"", "\"rope_scaling\"", "\"rope_type\"", "\"use_sliding_window\"",
      "\"architectures\"", "\"model_type\"", "\"qwen2\"", "\"Qwen2ForCausalLM\"", "\"bfloat16\"", "2147483647",
      "2147483646", "1073741824", "65536", "-2147483648", "1e999", "1e-400", "0.0", "null"})
  void fromJson(byte[] json) {
    Qwen2Config config = parse(json);
    if (config == null) {
      return;
    }
    check(config.hiddenSize() > 0 && config.intermediateSize() > 0 && config.numHiddenLayers() > 0
        && config.numAttentionHeads() > 0 && config.numKeyValueHeads() > 0 && config.vocabSize() > 0
        && config.maxPositionEmbeddings() > 0, "a size is not positive: " + config);
    check(config.headDim() > 0 && config.headDim() % 2 == 0, "head_dim " + config.headDim());
    check(config.numKeyValueGroups() >= 1
        && config.numKeyValueGroups() * config.numKeyValueHeads() == config.numAttentionHeads(), "kv groups");
    check(config.rmsNormEps() > 0 && config.ropeTheta() > 0, "eps or theta not positive: " + config);
    config.parameterCount(); // must not throw
    config.fingerprint();
    check(Qwen2Config.fromJson(config.toJson()).equals(config), "toJson does not read back: " + config);
  }

  /** The same through {@link Qwen2Config#read}: a file's bytes, which need not even be UTF-8. */
  @FuzzTest
  void readFile(byte[] bytes) {
    Path file = Fuzzing.scratchFile("config.json", bytes);
    Qwen2Config config;
    try {
      config = Qwen2Config.read(file);
    } catch (CheckpointException e) {
      check(e.getMessage().startsWith(file.toString()), "an error that does not name the file: " + e.getMessage());
      return;
    }
    check(config.equals(parse(bytes)), "read(file) and fromJson(bytes) disagree: " + config);
  }

  /**
   * parameterCount() of a config that parses is the true count (no silent long overflow). Configs are generated from
   * the size fields, each a real model's size, a power of two or any positive int.
   */
  @FuzzTest
  void parameterCountIsExact(FuzzedDataProvider d) {
    ObjectNode json = JSON.createObjectNode().put("model_type", "qwen2");
    for (String field : List.of("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "vocab_size")) {
      if (d.consumeInt(0, 3) != 0) {
        json.put(field, d.consumeBoolean() ? (int) d.pickValue(SIZES) : d.consumeInt(1, Integer.MAX_VALUE));
      }
    }
    json.put("tie_word_embeddings", d.consumeBoolean());
    Qwen2Config c;
    try {
      c = Qwen2Config.fromJson(json);
    } catch (CheckpointException expected) {
      return;
    }
    BigInteger h = BigInteger.valueOf(c.hiddenSize());
    BigInteger q = BigInteger.valueOf(c.numAttentionHeads()).multiply(BigInteger.valueOf(c.headDim()));
    BigInteger kv = BigInteger.valueOf(c.numKeyValueHeads()).multiply(BigInteger.valueOf(c.headDim()));
    BigInteger perLayer = h.shiftLeft(1) // two RMSNorm weights
        .add(h.multiply(q)).add(q).add(h.multiply(kv).add(kv).shiftLeft(1)) // q, k, v with biases
        .add(q.multiply(h)) // o_proj
        .add(h.multiply(BigInteger.valueOf(c.intermediateSize())).multiply(BigInteger.valueOf(3))); // the MLP
    BigInteger embeddings = BigInteger.valueOf(c.vocabSize()).multiply(h);
    BigInteger total = embeddings.multiply(BigInteger.valueOf(c.tieWordEmbeddings() ? 1 : 2)).add(h)
        .add(perLayer.multiply(BigInteger.valueOf(c.numHiddenLayers())));
    check(total.equals(BigInteger.valueOf(c.parameterCount())), "parameterCount() = " + c.parameterCount()
        + " but the shape has " + total + " parameters: " + c);
  }

  /**
   * A config.json beside real weights of a tiny shape, loaded as `candor serve` loads it: every config that opens
   * must load (or fail with a CheckpointException) without allocating far beyond the weights it reads.
   */
  @FuzzTest
  @DictionaryEntries({"\"max_position_embeddings\"", "\"rope_theta\"", "\"rms_norm_eps\"", "\"head_dim\"",
      "\"torch_dtype\"", "\"tie_word_embeddings\"", "2147483647", "1073741824", "1e999", "true"})
  void loadsWithinBudget(byte[] json) {
    Path dir = TinyCheckpoint.DIR;
    try {
      Files.write(dir.resolve("config.json"), json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Fuzzing.withinBudget("loading a tiny checkpoint with a " + json.length + "-byte config.json",
        (64L << 20) + 400L * json.length, () -> {
          try (Checkpoint checkpoint = Checkpoint.open(dir); JavaBackend backend = JavaBackend.load(checkpoint)) {
            check(backend.config().equals(checkpoint.config()), "backend config");
          } catch (CheckpointException expected) {
            // a config that disagrees with the weights, or is no Qwen2 config
          }
        });
  }

  /** The config, or null when the bytes are not JSON or not a config Candor accepts. */
  static Qwen2Config parse(byte[] json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException notJson) { // JsonProcessingException, or CharConversionException for bad UTF-16/32
      return null;
    }
    try {
      return Qwen2Config.fromJson(root);
    } catch (CheckpointException expected) {
      check(expected.getMessage().startsWith("config.json: "), "message: " + expected.getMessage());
      return null;
    }
  }

  /** The tiny test shape's weights in a scratch directory, written once; each input replaces its config.json. */
  static final class TinyCheckpoint {
    static final Path DIR = Fuzzing.scratchDir().resolve("tiny-checkpoint");

    static {
      try {
        RandomCheckpoint.write(DIR, TestCheckpoints.tiny(99, false), 3, 0.2, DType.F32, 0, null, List.of(7));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      DIR.toFile().deleteOnExit(); // registered first, deleted last: after the files in it
      for (String name : List.of("config.json", "generation_config.json", "model.safetensors")) {
        DIR.resolve(name).toFile().deleteOnExit();
      }
    }
  }
}
