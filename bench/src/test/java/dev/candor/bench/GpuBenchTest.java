package dev.candor.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GpuBench's measuring and comparing, on the Java backend: device time is too short to find a script's bugs on the
 * device. The transformers reference is written here from the Java backend itself, in hf.py's format, so the
 * comparison must come out exact.
 */
class GpuBenchTest {
  static Path repo() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/default/target"))) {
        return p;
      }
    }
    throw new IllegalStateException("models/default not found");
  }

  @Test
  void measuresAndComparesOnAnyBackend(@TempDir Path hf) throws IOException {
    Path models = repo().resolve("models/default");
    int[] prompt = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
    try (Checkpoint checkpoint = Checkpoint.open(models.resolve("target"));
        Checkpoint drafterCheckpoint = Checkpoint.open(models.resolve("drafter"));
        JavaBackend target = JavaBackend.load(checkpoint); JavaBackend drafter = JavaBackend.load(drafterCheckpoint);
        Tokenizer tokenizer = Tokenizer.load(checkpoint.tokenizerJson())) {
      int rows = 4;
      int vocab = checkpoint.config().vocabSize();
      int[] greedy;
      try (Sequence s = target.newSequence(64)) {
        float[][] logits = s.forward(prompt, rows).logits();
        MemorySegment file = MemorySegment.ofArray(new byte[4 * rows * vocab]);
        for (int i = 0; i < rows; i++) {
          MemorySegment.copy(logits[i], 0, file, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
              4L * i * vocab, vocab);
        }
        Files.write(hf.resolve("logits.f32"), file.toArray(ValueLayout.JAVA_BYTE));
        greedy = GpuBench.greedy(s, logits[rows - 1], 8);
      }
      new ObjectMapper().writeValue(hf.resolve("reference.json").toFile(),
          Map.of("prompt", prompt, "logit_rows", rows, "greedy", greedy, "transformers", "test"));

      ObjectNode r = new ObjectMapper().createObjectNode();
      GpuBench.measure(r, checkpoint, target, 1_000_000, 50e9, tokenizer, drafter, hf, target, 16);

      assertEquals(0.0, r.get("vs_transformers").get("logits_relative_error").asDouble());
      assertEquals(8, r.get("vs_transformers").get("greedy_tokens_agreeing").asInt());
      assertEquals(rows, r.get("vs_transformers").get("argmax_agreeing_rows").asInt());
      assertEquals(0.0, r.get("vs_cpu").get("logits_relative_error").asDouble());
      assertEquals(32, r.get("vs_cpu").get("greedy_tokens_agreeing").asInt());
      assertEquals(1.0, r.get("self_draft").get("acceptance").asDouble(), "a self-draft at T=0 is always accepted");
      for (String key : new String[] {"decode_tokens_per_second", "fraction_of_bandwidth_limit", "verify_over_decode",
          "generator_tokens_per_second", "distribution_record_fraction_of_step", "prefill_tokens_per_second",
          "decode_step_on_logits_ms", "probe_token_us"}) {
        assertTrue(r.get(key).asDouble() > 0, key + " = " + r.get(key));
      }
      assertTrue(r.get("drafter").get("acceptance").asDouble() > 0, r.get("drafter").toString());
      assertEquals(prompt.length, r.get("prompt_tokens").asInt());
      // the batched forward is bit for bit the steps in turn on this backend: the same greedy tokens at every B
      var batched = r.get("batched_decode");
      for (int b : GpuBench.BATCH_SIZES) {
        var size = batched.get("sizes").get(String.valueOf(b));
        assertEquals(b * batched.get("steps").asInt(), size.get("greedy_tokens").asInt(), size.toString());
        assertEquals(size.get("greedy_tokens").asInt(), size.get("greedy_tokens_agreeing").asInt(), size.toString());
        assertTrue(size.get("batched_tokens_per_second").asDouble() > 0, size.toString());
        assertTrue(size.get("in_turn_tokens_per_second").asDouble() > 0, size.toString());
      }
      assertTrue(batched.has("valid") && batched.get("invalid_reasons").isArray(), batched.toString());
    }
  }

  /** The batched measure's self-checks: what cannot be true marks the run invalid, what can does not. */
  @Test
  void batchedDecodeRatesThatCannotBeTrueAreFlagged() {
    long weights = 1_000_000_000L;
    double bandwidth = 4e12; // 4,000 tokens/s of weight reads
    assertEquals(List.of(), GpuBench.batchedChecks(4, 12_000, 3_500, weights, bandwidth));
    assertEquals(1, GpuBench.batchedChecks(4, 12_000, 2_000, weights, bandwidth).size(), "6x at B = 4");
    assertEquals(1, GpuBench.batchedChecks(2, 9_000, 8_500, weights, bandwidth).size(), "over 2 x 4,000 tokens/s");
    assertEquals(1, GpuBench.batchedChecks(1, Double.NaN, 3_000, weights, bandwidth).size(), "NaN");
  }
}
