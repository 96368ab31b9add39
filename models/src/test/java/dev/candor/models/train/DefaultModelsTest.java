package dev.candor.models.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.models.task.ProgramGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed default models: they load as any Hugging Face checkpoint does, reproduce the held-out accuracy and
 * drafter acceptance recorded in their training.json on the same fixed sample, meet the aims (target between 50% and
 * 90% of lines right; drafter accepted at least 60% of the time at temperature 0, k = 4), and the committed probe
 * belongs to the target and to no other model.
 */
class DefaultModelsTest {
  static LoadedModel target;
  static LoadedModel drafter;
  static JsonNode recorded;

  static Path defaults() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/default/target"))) {
        return p.resolve("models/default");
      }
    }
    throw new IllegalStateException("models/default not found");
  }

  @BeforeAll
  static void load() throws IOException {
    target = LoadedModel.load(defaults().resolve("target"), "cpu");
    drafter = LoadedModel.load(defaults().resolve("drafter"), "cpu");
    recorded = new ObjectMapper().readTree(defaults().resolve("target/training.json").toFile()).get("reproduce_sample");
  }

  @AfterAll
  static void close() {
    target.close();
    drafter.close();
  }

  @Test
  void reproducesTheRecordedHeldOutAccuracyAndAcceptance() {
    int problems = recorded.get("problems").asInt();
    TraceEvaluation eval = TraceEvaluation.run(target, drafter, recorded.get("k").asInt(),
        new ProgramGenerator(DefaultModels.EVAL_PROGRAMS), 0, problems, 0, 1, null);
    // greedy decoding is deterministic; a float near-tie decided differently on another CPU may move a line or two
    assertEquals(recorded.get("line_accuracy").asDouble(), eval.lineAccuracy(), 0.02);
    assertEquals(recorded.get("drafter_acceptance_t0").asDouble(), eval.acceptance(), 0.02);
    assertTrue(eval.lineAccuracy() >= 0.5 && eval.lineAccuracy() <= 0.9, "aim: 50-90% of lines right");
    assertTrue(eval.acceptance() >= 0.6, "aim: acceptance >= 0.6 at T=0, k=4");
  }

  @Test
  void theTargetIsTheStrongerModel() throws IOException {
    JsonNode t = new ObjectMapper().readTree(defaults().resolve("target/training.json").toFile()).get("held_out");
    JsonNode d = new ObjectMapper().readTree(defaults().resolve("drafter/training.json").toFile()).get("held_out");
    assertTrue(t.get("line_accuracy").asDouble() > d.get("line_accuracy").asDouble());
    assertTrue(target.backend().config().parameterCount() > 4 * drafter.backend().config().parameterCount());
  }

  @Test
  void theProbeBelongsToTheModelItReadsAndToNoOther() {
    Probe probe = Probe.loadFor(defaults().resolve("probe"), identity(probe().reads() == Probe.Reads.TARGET
        ? target : drafter));
    assertTrue(probe.heads().size() > 1, "the folds' heads, each scaled on its own held-out fold");
    for (LoadedModel other : new LoadedModel[] {target, drafter}) {
      ModelIdentity id = identity(other);
      if (!id.equals(probe.model())) {
        CheckpointException wrongModel = assertThrows(CheckpointException.class,
            () -> Probe.loadFor(defaults().resolve("probe"), id));
        assertTrue(wrongModel.getMessage().contains(id.describe()), wrongModel.getMessage());
      }
    }
    // the same shape with other weights (a fine-tune, a quantized copy) is refused too
    ModelIdentity sameShape = new ModelIdentity(probe.model().shape(), "0".repeat(64), probe.model().format());
    assertThrows(CheckpointException.class, () -> Probe.loadFor(defaults().resolve("probe"), sameShape));
  }

  static Probe probe() {
    return Probe.load(defaults().resolve("probe"), (dev.candor.engine.checkpoint.Qwen2Config) null);
  }

  static ModelIdentity identity(LoadedModel model) {
    var config = model.backend().config();
    return ModelIdentity.of(model.dir(), config, ModelIdentity.formatOf(config));
  }
}
