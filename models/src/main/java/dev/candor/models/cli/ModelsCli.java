package dev.candor.models.cli;

import dev.candor.engine.cli.EngineCli;
import picocli.CommandLine.Command;

/** The models module's commands: make checkpoints (and, with the task, train the default models). */
@Command(name = "candor", mixinStandardHelpOptions = true, subcommands = {CheckpointCommand.class, TrainCommand.class, EvaluateCommand.class, DatasetCommand.class},
    description = "Candor models: random checkpoints of any Qwen2 shape.")
public final class ModelsCli {
  public static void main(String[] args) {
    System.exit(EngineCli.run(new ModelsCli(), args));
  }
}
