package dev.candor.models.cli;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.RandomCheckpoint;
import dev.candor.models.Shapes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code candor checkpoint}: a random-weight Qwen2 or Qwen3 checkpoint of a named shape, deterministic from a seed. */
@Command(name = "checkpoint", mixinStandardHelpOptions = true,
    description = "Write a random-weight Qwen2 or Qwen3 checkpoint in Hugging Face layout.")
public final class CheckpointCommand implements Callable<Integer> {
  @Option(names = "--shape", defaultValue = "tiny-odd", description = "a named shape: ${COMPLETION-CANDIDATES}",
      completionCandidates = ShapeNames.class)
  String shape;

  @Option(names = "--out", required = true)
  Path out;

  @Option(names = "--dtype", defaultValue = "F32", description = "F32, F16 or BF16")
  DType dtype;

  @Option(names = "--seed", defaultValue = "0")
  long seed;

  @Option(names = "--std", defaultValue = "0.02", description = "weight standard deviation (Hugging Face: 0.02)")
  double std;

  @Option(names = "--shard-mb", defaultValue = "0", description = "split into shards of at most this many MB (0: one file)")
  long shardMb;

  @Option(names = "--tokenizer",
      description = "directory with tokenizer.json (and tokenizer_config.json, chat_template.jinja) to copy in")
  Path tokenizer;

  @Option(names = "--vocab", description = "override the shape's vocab_size")
  Integer vocab;

  @Override
  public Integer call() throws Exception {
    requireTokenizer(tokenizer);
    Qwen2Config c = Shapes.get(shape);
    if (vocab != null) {
      c = new Qwen2Config(c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
          c.numKeyValueHeads(), c.headDim(), c.rmsNormEps(), c.ropeParameters(), vocab, c.maxPositionEmbeddings(),
          c.tieWordEmbeddings(), c.torchDtype(), c.architecture());
    }
    List<Integer> eos = List.of();
    if (tokenizer != null) {
      try (var t = dev.candor.engine.tokenizer.Tokenizer.load(tokenizer.resolve("tokenizer.json"))) {
        eos = java.util.stream.Stream.of("<|im_end|>", "<|endoftext|>").map(t::addedTokenId).filter(id -> id >= 0).toList();
      }
    }
    long t0 = System.nanoTime();
    RandomCheckpoint.write(out, c, seed, std, dtype, shardMb * 1024 * 1024, tokenizer, eos);
    if (tokenizer != null && Files.isRegularFile(tokenizer.resolve("chat_template.jinja"))) {
      Files.copy(tokenizer.resolve("chat_template.jinja"), out.resolve("chat_template.jinja"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING); // it takes precedence over tokenizer_config.json's
    }
    System.out.printf("wrote %s: %s, %,d parameters, %s, seed %d, in %.1f s%n", out, shape, c.parameterCount(), dtype,
        seed, (System.nanoTime() - t0) / 1e9);
    return 0;
  }

  /** A --tokenizer that is not a directory holding tokenizer.json is an error, before anything is written. */
  static void requireTokenizer(Path dir) {
    if (dir == null) {
      return;
    }
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("--tokenizer " + dir + ": no such directory");
    }
    if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
      throw new IllegalArgumentException("--tokenizer " + dir + ": has no tokenizer.json (a Hugging Face tokenizer"
          + " directory holds tokenizer.json and tokenizer_config.json)");
    }
  }

  static final class ShapeNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return Shapes.ALL.keySet().iterator();
    }
  }
}
