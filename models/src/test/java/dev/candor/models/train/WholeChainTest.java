package dev.candor.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.models.task.CalibrationDataset;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.task.TaskTokenizer;
import dev.candor.probes.data.Dataset;
import dev.candor.probes.data.Example;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.probes.eval.ProbeStudy;
import dev.candor.probes.features.FeatureExtractor;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.report.Report;
import dev.candor.probes.train.ProbeFiles;
import dev.candor.probes.train.ProbeInput;
import dev.candor.probes.train.ProbeSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole chain behind the default models, on a tiny budget: generate problems, train a model for a few steps
 * (through the engine's own forward pass), answer held-out problems with it, label by diff, extract features, train and
 * cross-validate a probe, write its report, and load the probe back the way the server does.
 */
class WholeChainTest {
  @TempDir
  Path tmp;

  @Test
  void generateTrainExtractProbeReport() throws Exception {
    Path model = tmp.resolve("model");
    Path tokenizerDir = tmp.resolve("tokenizer");
    TaskTokenizer.write(tokenizerDir);
    Qwen2Config shape = new Qwen2Config(32, 64, 2, 2, 1, 16, 1e-6, 10000, TaskTokenizer.VOCAB, 512, true, DType.F32);
    // enough steps that the answers hold a non-blank line (after 12 they were all spaces, and blank lines are not
    // measured, so the study had no line to score)
    var settings = new Trainer.Settings(60, 4, 256, 1e-2, 1e-4, 3, 0.01, 1.0, 5);
    try (Tokenizer tokenizer = Tokenizer.load(tokenizerDir.resolve("tokenizer.json"))) {
      var metrics = TrainingRun.run(shape, settings, tokenizer,
          ChatTemplate.load(tokenizerDir.resolve("tokenizer_config.json")), model, new java.io.PrintStream(
              java.io.OutputStream.nullOutputStream()));
      double first = metrics.get("held_out_loss").get(0).get("loss").asDouble();
      double last = metrics.get("held_out_loss").get(metrics.get("held_out_loss").size() - 1).get("loss").asDouble();
      assertTrue(last < first, "training lowers the held-out loss: " + first + " -> " + last);
    }
    TaskTokenizer.write(model);

    Path data = tmp.resolve("calibration.jsonl");
    try (LoadedModel target = LoadedModel.load(model, "cpu")) {
      List<Example> examples = CalibrationDataset.make(target, new ProgramGenerator(99), 24, 2, 0.8, 0, 1, 99, 120,
          null);
      Dataset.write(data, examples);
      assertEquals(24, Dataset.read(data).size());
      int tap = target.backend().config().tapAtFraction(0.5);
      assertEquals(2, tap, "Python's round(1.5) is 2, and so is ours");
      FeatureSet features = new FeatureExtractor(target, FeatureExtractor.allTaps(target))
          .extract(Dataset.read(data), null);
      assertEquals(24, features.problems().size() + emptyCompletions(examples));
      assertTrue(features.problems().stream().allMatch(p -> p.samples() != null));
      assertTrue(features.problems().stream().allMatch(p -> p.difficulty() >= 0 && p.difficulty() <= 1));

      Path probeDir = tmp.resolve("probe");
      var study = new ProbeStudy.Settings(java.util.Map.of("target", features), java.util.Map.of(),
          java.util.Map.of(), List.of(ProbeInput.of("target", tap), ProbeInput.parse("target:tap1+logprob,entropy")),
          null, 3, 1, 50, ProbeSettings.defaults(1).withEpochs(2));
      ProbeStudy run = new ProbeStudy(study, null);
      var result = run.run();
      Report report = result.report();
      Files.createDirectories(probeDir);
      report.writeJson(probeDir.resolve("report.json"));
      report.writeMarkdown(probeDir.resolve("report.md"));
      run.writeDiagrams(probeDir);
      ProbeFiles.save(result.probe(), ProbeFiles.meta(result.probe()), probeDir);
      for (String method : List.of("probe", "token_prob", "multisample", "content")) {
        for (String level : List.of("token", "line", "problem")) {
          assertTrue(report.rows().stream().anyMatch(r -> r.method().equals(method) && r.level().equals(level)),
              method + " at " + level);
        }
      }
      assertTrue(Files.size(probeDir.resolve("report.md")) > 500);
      assertTrue(Files.exists(probeDir.resolve("reliability-probe-token-scaled.png")));
      assertFalse(report.baseRates().isEmpty());
      var config = target.backend().config();
      Probe loaded = Probe.loadFor(probeDir, ModelIdentity.of(target.dir(), config, ModelIdentity.formatOf(config)));
      assertArrayEquals(result.probe().taps(), loaded.taps());
      assertEquals(3, loaded.heads().size());
      var inputs = ProbeStudy.inputs(result.input(), java.util.Map.of("target", features), features.problems());
      List<float[]> first = List.of(inputs.getFirst().inputs());
      assertEquals(result.probe().probability(first, Probe.Level.RESPONSE),
          loaded.probability(first, Probe.Level.RESPONSE), 1e-9);
    }
  }

  static int emptyCompletions(List<Example> examples) {
    return (int) examples.stream().filter(e -> e.completion().isEmpty()).count();
  }
}
