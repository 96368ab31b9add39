package dev.candor.engine.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.djl.DjlBackend;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.testing.NativeArrays;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What decoding leaves behind: no native array outlives its step, the distribution dump reads back what was
 * generated, and a drafter with another vocabulary is refused before anything runs.
 */
class DecodingResourcesTest {
  static final Qwen2Config QWEN_VOCAB = new Qwen2Config(32, 48, 2, 4, 2, 8, 1e-6, 10000, 151936, 512, true, DType.F32);

  @TempDir
  Path tmp;

  @Test
  void decodingAllocatesNothingThatOutlivesItsStep() throws Exception {
    Path dir = TestCheckpoints.write("resources", TestCheckpoints.tiny(99, false), 3, DType.F32, 0, null);
    try (var checkpoint = dev.candor.engine.checkpoint.Checkpoint.open(dir);
        DjlBackend target = DjlBackend.load(checkpoint, "cpu")) {
      int before = NativeArrays.live(target);
      var tokenizer = dev.candor.engine.tokenizer.Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
      Generator generator = new Generator(target, target, tokenizer, java.util.Set.of(), 3);
      for (int i = 0; i < 5; i++) {
        generator.generate(new int[] {1, 2, 3}, GenerationRequest.of(40, new SamplingParams(1, 0, 1, i))
            .withIgnoreEos(true).withTaps(2), (r, o, t) -> {});
      }
      tokenizer.close();
      assertEquals(before, NativeArrays.live(target), "arrays left attached after 5 generations of 40 tokens");
    }
  }

  @Test
  void theDistributionDumpReadsBackEveryToken() throws IOException {
    Path dir = TestCheckpoints.write("dump", TestCheckpoints.tiny(99, true), 4, DType.F32, 0, null);
    Path file = tmp.resolve("dist.bin");
    try (var checkpoint = dev.candor.engine.checkpoint.Checkpoint.open(dir);
        DjlBackend target = DjlBackend.load(checkpoint, "cpu");
        var tokenizer = dev.candor.engine.tokenizer.Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"))) {
      SamplingParams params = new SamplingParams(0.8, 0, 0.95, 7);
      GenerationResult result;
      try (DistributionDump dump = DistributionDump.create(file, 99, params)) {
        result = new Generator(target, target, tokenizer, java.util.Set.of(), 2).generate(new int[] {4, 5},
            GenerationRequest.of(12, params).withIgnoreEos(true).withObserver(dump), (r, o, t) -> {});
      }
      List<DistributionDump.Entry> entries = DistributionDump.read(file);
      assertEquals(12, entries.size());
      assertEquals(99 * 2 * 12 + 12 * 25 + 36, Files.size(file), "float16 logits: compact");
      for (int i = 0; i < entries.size(); i++) {
        DistributionDump.Entry e = entries.get(i);
        TokenRecord r = result.tokens().get(i);
        assertEquals(i, e.index());
        assertEquals(r.token(), e.token());
        assertEquals(r.source(), e.source());
        assertEquals(r.logprob(), e.logprob(), 0.0);
        assertEquals(r.rawLogprob(), e.rawLogprob(r.token()), 0.02, "float16 logits keep logprobs to ~0.01 nats");
      }
    }
  }

  @Test
  void aDrafterWithAnotherVocabularyIsRefused() throws IOException {
    Path target = TestCheckpoints.write("vocab-target", QWEN_VOCAB, 1, DType.F32, 0, TestCheckpoints.qwenTokenizer());
    Path other = tmp.resolve("other-tokenizer");
    Files.createDirectories(other);
    String json = Files.readString(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
    Files.writeString(other.resolve("tokenizer.json"), json.replace("\"<|im_end|>\"", "\"<|im_stop|>\""));
    Path drafter = tmp.resolve("vocab-drafter");
    dev.candor.engine.checkpoint.RandomCheckpoint.write(drafter, QWEN_VOCAB, 2, 0.2, DType.F32, 0, other, List.of());
    try (LoadedModel t = LoadedModel.load(target, "cpu"); LoadedModel d = LoadedModel.load(drafter, "cpu")) {
      CheckpointException e = assertThrows(CheckpointException.class, () -> t.requireSameVocabulary(d));
      assertTrue(e.getMessage().contains("another vocabulary"), e.getMessage());
      t.requireSameVocabulary(t);
    }
  }
}
