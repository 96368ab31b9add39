package dev.candor.models.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.task.TaskTokenizer;
import dev.candor.models.train.DefaultModels;
import dev.candor.models.train.TraceEvaluation;
import dev.candor.models.train.Trainer;
import dev.candor.models.train.TrainingRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code candor train}: train the default target or drafter on the trace task, then measure it on held-out programs. */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train a default model (target or drafter) on the code-trace task, reproducibly from a seed.")
public final class TrainCommand implements Callable<Integer> {
  @Option(names = "--role", required = true, description = "target or drafter")
  String role;

  @Option(names = "--out", required = true, description = "checkpoint directory to write")
  Path out;

  @Option(names = "--steps", defaultValue = "3000")
  int steps;

  @Option(names = "--batch", defaultValue = "32")
  int batch;

  @Option(names = "--max-length", defaultValue = "384")
  int maxLength;

  @Option(names = "--lr", defaultValue = "2e-3")
  double lr;

  @Option(names = "--seed", defaultValue = "1")
  long seed;

  @Option(names = "--eval-problems", defaultValue = "200", description = "held-out problems decoded at the end")
  int evalProblems;

  @Option(names = "--drafter", description = "with --role target: a trained drafter to measure acceptance against")
  Path drafter;

  @Override
  public Integer call() throws Exception {
    Qwen2Config shape = DefaultModels.shape(role);
    Trainer.Settings settings = new Trainer.Settings(steps, batch, maxLength, lr, lr / 20, Math.min(200, steps / 10),
        0.01, 1.0, seed);
    Path tokenizerDir = Files.createTempDirectory("candor-tokenizer");
    TaskTokenizer.write(tokenizerDir);
    ObjectNode metrics;
    try (Tokenizer tokenizer = Tokenizer.load(tokenizerDir.resolve("tokenizer.json"))) {
      ChatTemplate template = ChatTemplate.load(tokenizerDir.resolve("tokenizer_config.json"));
      metrics = TrainingRun.run(shape, settings, tokenizer, template, out, System.err);
    }
    TaskTokenizer.write(out);
    try (LoadedModel model = LoadedModel.load(out, "cpu");
        LoadedModel draft = drafter == null ? null : LoadedModel.load(drafter, "cpu")) {
      System.err.println("decoding " + evalProblems + " held-out problems greedily ...");
      TraceEvaluation eval = TraceEvaluation.run(model, draft, 4, new ProgramGenerator(DefaultModels.EVAL_PROGRAMS), 0,
          evalProblems, 0, 1, System.err);
      ObjectNode e = metrics.putObject("held_out");
      e.put("problems", eval.problems());
      e.put("difficulty", "uniform over [0, 1]");
      e.put("line_accuracy", eval.lineAccuracy());
      e.put("operation_line_accuracy", eval.operationLineAccuracy());
      e.put("problem_accuracy", eval.problemAccuracy());
      if (draft != null) {
        e.put("drafter_acceptance_t0_k4", eval.acceptance());
      }
      System.err.printf("held-out: line accuracy %.3f, operation lines %.3f, problems %.3f%s%n", eval.lineAccuracy(),
          eval.operationLineAccuracy(), eval.problemAccuracy(),
          draft == null ? "" : String.format(", drafter acceptance %.3f", eval.acceptance()));
    }
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.resolve("training.json").toFile(), metrics);
    return 0;
  }
}
