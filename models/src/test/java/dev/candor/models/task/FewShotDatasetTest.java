package dev.candor.models.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.RandomCheckpoint;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.models.Shapes;
import dev.candor.probes.data.Dataset;
import dev.candor.probes.data.Example;
import dev.candor.probes.features.FeatureExtractor;
import dev.candor.probes.features.FeatureSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dataset builder for a real instruct model, on the mechanics: a random checkpoint of a Qwen shape with Qwen2.5's
 * real tokenizer and chat template answers few-shot trace prompts (nonsense, being random), the answers are cut and
 * labelled by diff against the true trace, and extraction split into shards merges into exactly the unsharded file.
 */
class FewShotDatasetTest {
  @TempDir
  Path tmp;

  @Test
  void answersCutLabelledAndExtractedInShards() throws Exception {
    Path tokenizerDir = qwenTokenizer();
    List<Integer> eos;
    try (Tokenizer t = Tokenizer.load(tokenizerDir.resolve("tokenizer.json"))) {
      eos = List.of(t.addedTokenId("<|im_end|>"), t.addedTokenId("<|endoftext|>"));
    }
    Path checkpoint = tmp.resolve("qwen-random");
    RandomCheckpoint.write(checkpoint, Shapes.get("qwen-vocab-tiny"), 3, 0.02, DType.BF16, 0, tokenizerDir, eos);
    try (LoadedModel model = LoadedModel.load(checkpoint, "cpu")) {
      List<Example> examples = CalibrationDataset.make(model, new ProgramGenerator(11),
          CalibrationDataset.Prompt.FEW_SHOT, 4, 1, 0.8, 0, 1, 11, 20, null);
      assertEquals(4, examples.size());
      for (Example e : examples) {
        assertEquals("system", e.messages().getFirst().role());
        assertEquals(6, e.messages().size(), "system, two worked examples, the problem");
        assertEquals("assistant", e.messages().get(2).role());
        assertTrue(e.messages().get(2).content().endsWith("\n") && e.messages().get(2).content().contains("output: "));
        assertTrue(model.tokenizer().encode(e.completion()).length <= 20);
        assertEquals(TraceAnalysis.nonBlankLines(e.completion()).size(), e.lineTags().size());
        assertEquals(1, e.samples().size());
      }
      Path data = tmp.resolve("data.jsonl");
      Dataset.write(data, examples);
      List<Example> read = Dataset.read(data);
      assertEquals(examples.get(2).completion(), read.get(2).completion());
      assertEquals(examples.get(2).difficulty(), read.get(2).difficulty());

      FeatureExtractor extractor = new FeatureExtractor(model, FeatureExtractor.allTaps(model));
      FeatureSet whole = extractor.extract(read, null);
      assertTrue(whole.problems().stream().noneMatch(p -> p.problemLabel()), "a random model's answers are wrong");
      assertEquals(64, whole.hiddenSize());
      assertArrayEquals(new int[] {0, 1, 2}, whole.taps());
      whole.write(tmp.resolve("whole.bin"));
      List<FeatureSet> shards = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        shards.add(extractor.extract(read, FeatureSet.Shard.parse(i + "/3", read.size()), null));
      }
      FeatureSet.merge(shards).write(tmp.resolve("merged.bin"));
      assertArrayEquals(Files.readAllBytes(tmp.resolve("whole.bin")), Files.readAllBytes(tmp.resolve("merged.bin")));
    }
  }

  @Test
  void anAnswerIsCutAfterItsOutputLine() {
    assertEquals("a = 1\noutput: 1\n", FewShotTrace.cut("a = 1\noutput: 1\nThat is the trace.\n"));
    assertEquals("no output here", FewShotTrace.cut("no output here"));
    assertEquals("Sure!\na = 1\noutput: 1", FewShotTrace.cut("Sure!\na = 1\noutput: 1"));
    assertEquals(2, FewShotTrace.traceFormatLines("Sure!\na = 1\noutput: 1"));
    assertFalse(FewShotTrace.messages(new ProgramGenerator(1).generate(0, 0.5)).getLast().content().isEmpty());
  }

  static Path qwenTokenizer() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/tokenizers/qwen2.5"))) {
        return p.resolve("models/tokenizers/qwen2.5");
      }
    }
    throw new IllegalStateException("models/tokenizers/qwen2.5 not found");
  }
}
