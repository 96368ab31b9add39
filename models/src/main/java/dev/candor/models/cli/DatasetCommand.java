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
 * {@code candor dataset}: a labelled probe dataset on the trace task. {@code --kind answers} (the default): held-out
 * problems (a program stream disjoint from training and evaluation), the model's own greedy answer as the
 * completion, the true trace as the "fixed" answer, and samples at a temperature for the multisampling baseline;
 * {@code --prompt few-shot} asks a real instruct model with worked examples and cuts its answer where the trace ends.
 * {@code --kind counterfactual}: correct traces with one injected wrong value, and their controls, of the problems
 * {@code --model} answers exactly right (of every problem without one).
 */
@Command(name = "dataset", mixinStandardHelpOptions = true,
    description = "Write a labeled probe dataset (JSON Lines) from a model's own answers to held-out trace problems.")
public final class DatasetCommand implements Callable<Integer> {
  /** What the rows are. */
  enum Kind { ANSWERS, COUNTERFACTUAL }

  @Option(names = "--kind", defaultValue = "ANSWERS", description = "ANSWERS (the model's own) or COUNTERFACTUAL")
  Kind kind;

  @Option(names = "--model", description = "the model whose answers are collected (required for ANSWERS; with "
      + "COUNTERFACTUAL, only the problems it answers exactly right are used)")
  Path model;

  @Option(names = "--prompt", defaultValue = "PLAIN",
      description = "PLAIN (the default models' prompt) or FEW_SHOT (a real instruct model: worked examples first)")
  CalibrationDataset.Prompt prompt;

  @Option(names = "--out", required = true)
  Path out;

  @Option(names = "--problems", defaultValue = "1200")
  int problems;

  @Option(names = "--samples", defaultValue = "5", description = "samples per problem for the multisampling baseline")
  int samples;

  @Option(names = "--temperature", defaultValue = "0.8", description = "temperature of the samples")
  double temperature;

  @Option(names = "--max-tokens", defaultValue = "512", description = "longest answer (cut to the context window)")
  int maxTokens;

  @Option(names = "--seed", defaultValue = "" + DefaultModels.CALIBRATION_PROGRAMS, description = "program stream")
  long seed;

  @Option(names = "--min-difficulty", defaultValue = "0")
  double minDifficulty;

  @Option(names = "--max-difficulty", defaultValue = "1")
  double maxDifficulty;

  @Override
  public Integer call() throws Exception {
    List<Example> examples;
    if (kind == Kind.COUNTERFACTUAL) {
      try (LoadedModel target = model == null ? null : LoadedModel.load(model, "cpu")) {
        examples = CalibrationDataset.counterfactuals(target, new ProgramGenerator(seed), problems, minDifficulty,
            maxDifficulty, seed, System.err);
      }
    } else {
      if (model == null) {
        throw new IllegalArgumentException("--model is required for --kind ANSWERS");
      }
      try (LoadedModel target = LoadedModel.load(model, "cpu")) {
        examples = CalibrationDataset.make(target, new ProgramGenerator(seed), prompt, problems, samples, temperature,
            minDifficulty, maxDifficulty, seed, maxTokens, System.err);
      }
    }
    Dataset.write(out, examples);
    System.err.println("wrote " + examples.size() + " examples to " + out);
    return 0;
  }
}
