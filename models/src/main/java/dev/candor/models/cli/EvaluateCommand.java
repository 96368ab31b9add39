package dev.candor.models.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.train.DefaultModels;
import dev.candor.models.train.TraceEvaluation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code candor evaluate}: a trained model's held-out accuracy on the trace task (greedy, by the engine), and with a
 * drafter the drafter's acceptance at temperature 0; {@code --record} writes the figures into the model's
 * training.json under the given key.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = "Held-out trace accuracy of a trained model (and drafter acceptance), optionally recorded.")
public final class EvaluateCommand implements Callable<Integer> {
  @Option(names = "--model", required = true)
  Path model;

  @Option(names = "--drafter")
  Path drafter;

  @Option(names = "-k", defaultValue = "4")
  int k;

  @Option(names = "--problems", defaultValue = "200")
  int problems;

  @Option(names = "--record", description = "key under which to record the figures in MODEL/training.json")
  String record;

  @Override
  public Integer call() throws Exception {
    TraceEvaluation eval;
    try (LoadedModel target = LoadedModel.load(model, "cpu");
        LoadedModel draft = drafter == null ? null : LoadedModel.load(drafter, "cpu")) {
      eval = TraceEvaluation.run(target, draft, k, new ProgramGenerator(DefaultModels.EVAL_PROGRAMS), 0, problems, 0,
          1, System.err);
    }
    System.out.printf("%d held-out problems (difficulty spread over [0, 1]): line accuracy %.4f, operation lines %.4f,"
        + " problems %.4f%s%n", eval.problems(), eval.lineAccuracy(), eval.operationLineAccuracy(),
        eval.problemAccuracy(), drafter == null ? "" : String.format(", drafter acceptance (T=0, k=%d) %.4f", k,
            eval.acceptance()));
    if (record != null) {
      ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      Path file = model.resolve("training.json");
      ObjectNode root = Files.exists(file) ? (ObjectNode) json.readTree(file.toFile()) : json.createObjectNode();
      ObjectNode e = root.putObject(record);
      e.put("problems", eval.problems());
      e.put("program_stream_seed", DefaultModels.EVAL_PROGRAMS);
      e.put("difficulty", "problem i of n at difficulty i / (n - 1)");
      e.put("line_accuracy", eval.lineAccuracy());
      e.put("operation_line_accuracy", eval.operationLineAccuracy());
      e.put("problem_accuracy", eval.problemAccuracy());
      if (drafter != null) {
        e.put("drafter", drafter.getFileName().toString());
        e.put("k", k);
        e.put("drafter_acceptance_t0", eval.acceptance());
      }
      json.writeValue(file.toFile(), root);
    }
    return 0;
  }
}
