package dev.candor.models.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.models.task.CalibrationDataset;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.train.DefaultModels;
import dev.candor.probes.data.Dataset;
import dev.candor.probes.data.Example;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code candor dataset}: the calibration dataset of the default model: held-out trace problems (a program stream
 * disjoint from training and evaluation), the target's own greedy answer as the completion, the true trace as the
 * "fixed" answer, and samples at temperature 0.8 for the multisampling baseline.
 */
@Command(name = "dataset", mixinStandardHelpOptions = true,
    description = "Write a labeled probe dataset (JSON Lines) from a model's own answers to held-out trace problems.")
public final class DatasetCommand implements Callable<Integer> {
  @Option(names = "--model", required = true)
  Path model;

  @Option(names = "--out", required = true)
  Path out;

  @Option(names = "--problems", defaultValue = "1200")
  int problems;

  @Option(names = "--samples", defaultValue = "5", description = "samples per problem for the multisampling baseline")
  int samples;

  @Option(names = "--temperature", defaultValue = "0.8", description = "temperature of the samples")
  double temperature;

  @Option(names = "--seed", defaultValue = "" + DefaultModels.CALIBRATION_PROGRAMS, description = "program stream")
  long seed;

  @Option(names = "--min-difficulty", defaultValue = "0")
  double minDifficulty;

  @Option(names = "--max-difficulty", defaultValue = "1")
  double maxDifficulty;

  @Override
  public Integer call() throws Exception {
    List<Example> examples;
    try (LoadedModel target = LoadedModel.load(model, "cpu")) {
      examples = CalibrationDataset.make(target, new ProgramGenerator(seed), problems, samples, temperature,
          minDifficulty, maxDifficulty, seed, Integer.MAX_VALUE, System.err);
    }
    Dataset.write(out, examples);
    System.err.println("wrote " + examples.size() + " examples to " + out);
    return 0;
  }
}
