package dev.candor.engine.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face checkpoint directory as a user downloads it: config.json, generation_config.json (optional), the
 * safetensors weights (one file or shards), tokenizer.json and tokenizer_config.json. Opening it validates
 * config.json and maps the weights; nothing is copied.
 */
public final class Checkpoint implements AutoCloseable {
  private final Path dir;
  private final Qwen2Config config;
  private final GenerationConfig generationConfig;
  private final Weights weights;

  private Checkpoint(Path dir, Qwen2Config config, GenerationConfig generationConfig, Weights weights) {
    this.dir = dir;
    this.config = config;
    this.generationConfig = generationConfig;
    this.weights = weights;
  }

  public static Checkpoint open(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new CheckpointException(dir + ": not a directory (expected a Hugging Face checkpoint directory)");
    }
    Qwen2Config config = Qwen2Config.read(dir.resolve("config.json"));
    GenerationConfig generation = GenerationConfig.read(dir.resolve("generation_config.json"));
    Weights weights = Weights.open(dir);
    try {
      Qwen2Tensors.checkNoOthers(weights, config);
    } catch (CheckpointException e) {
      weights.close();
      throw CheckpointException.at(dir, e.getMessage());
    }
    return new Checkpoint(dir, config, generation, weights);
  }

  public Path dir() {
    return dir;
  }

  public Qwen2Config config() {
    return config;
  }

  public GenerationConfig generationConfig() {
    return generationConfig;
  }

  public Weights weights() {
    return weights;
  }

  public Path tokenizerJson() {
    return dir.resolve("tokenizer.json");
  }

  public Path tokenizerConfigJson() {
    return dir.resolve("tokenizer_config.json");
  }

  @Override
  public void close() {
    weights.close();
  }
}
