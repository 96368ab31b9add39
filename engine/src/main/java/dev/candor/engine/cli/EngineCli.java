package dev.candor.engine.cli;

import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.cuda.CudaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The engine's commands: generate, serve and pull. Errors in input print one line, never a stack trace. */
@Command(name = "candor", mixinStandardHelpOptions = true, subcommands = {GenerateCommand.class, ServeCommand.class, PullCommand.class},
    description = "Candor: a Qwen2 inference engine that reports calibrated confidence for every token.")
public final class EngineCli {
  public static void main(String[] args) {
    System.exit(run(new EngineCli(), args));
  }

  /**
   * Runs a picocli command tree with Candor's error handling: bad checkpoints and arguments, and a GPU that is not
   * there (no driver, no kernels in this build), exit 2 with one line.
   */
  public static int run(Object command, String... args) {
    CommandLine cli = new CommandLine(command);
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof CheckpointException || e instanceof IllegalArgumentException || e instanceof CudaException) {
        commandLine.getErr().println("error: " + e.getMessage());
        return 2;
      }
      throw e;
    });
    return cli.execute(args);
  }
}
