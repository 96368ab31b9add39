package dev.candor.engine;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.GenerationConfig;
import dev.candor.engine.cuda.CudaBackend;
import dev.candor.engine.hub.ModelLocator;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.WeightFormat;
import dev.candor.engine.djl.DjlBackend;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.cpu.WeightMemory;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A checkpoint directory made ready to run: the backend with its weights, the tokenizer, the chat template (if the
 * checkpoint has one) and the ids that end a generation.
 *
 * @param name the model's name for the API (the directory name, or the repo id of a model from the HF cache)
 * @param dir where it was loaded from
 * @param backend the weights on a device
 * @param tokenizer its tokenizer.json
 * @param chatTemplate its chat template, or null
 * @param eosTokens generation_config.json's eos ids, plus tokenizer_config.json's eos_token
 * @param generationConfig sampling defaults the checkpoint ships with
 */
public record LoadedModel(String name, Path dir, Backend backend, Tokenizer tokenizer, ChatTemplate chatTemplate,
    Set<Integer> eosTokens, GenerationConfig generationConfig) implements AutoCloseable {

  /** Loads with the default backend for {@code device}: the Java backend on CPU, DJL's PyTorch engine on a GPU. */
  public static LoadedModel load(Path dir, String device) {
    return load(dir, device, "auto");
  }

  /**
   * Loads a checkpoint directory onto {@code device} ("cpu", "gpu", "gpu:N") with {@code backend}: "java" (plain Java
   * with the Vector API, CPU only), "djl" (DJL's PyTorch engine, CPU or CUDA), "cuda" (Candor's own kernels, BF16,
   * NVIDIA GPUs only), or "auto" (java on CPU, djl on a GPU until the cuda backend has been measured on one).
   */
  public static LoadedModel load(Path dir, String device, String backend) {
    return load(dir, device, backend, null, JavaBackend.defaultThreads());
  }

  /**
   * As {@link #load(Path, String, String)}, with the Java backend's weight format ({@code weights}: null for the
   * checkpoint's own, else f32, f16, bf16 or q8_0, converted at load) and thread count. Both are the Java backend's
   * options: asking another backend for a weight format is refused rather than ignored.
   */
  public static LoadedModel load(Path dir, String device, String backend, WeightFormat weights, int threads) {
    return load(dir, device, backend, new JavaBackend.Options(weights, WeightMemory.MAPPED, threads));
  }

  /**
   * As {@link #load(Path, String, String)}, with the Java backend's options: its weight format, where it keeps the
   * weights and its thread count. Asking another backend for a weight format or for copied weights is refused rather
   * than ignored.
   */
  public static LoadedModel load(Path dir, String device, String backend, JavaBackend.Options options) {
    WeightFormat weights = options.format();
    boolean java = backend.equals("java") || (backend.equals("auto") && device.equals("cpu"));
    String other = backend.equals("auto") ? "djl" : backend; // the backend that would run instead
    if (weights != null && !java) {
      throw new IllegalArgumentException("--weights " + weights.label() + " is an option of the java backend (CPU);"
          + " the " + other + " backend computes with its own formats");
    }
    if (options.memory() != WeightMemory.MAPPED && !java) {
      throw new IllegalArgumentException("--no-mmap is an option of the java backend (CPU); the " + other
          + " backend copies the weights to its own memory anyway");
    }
    ModelLocator.Location where = ModelLocator.locate(dir.toString(), System.getenv()); // a directory or a repo id
    dir = where.directory();
    Tokenizer tokenizer = null;
    try (Checkpoint checkpoint = Checkpoint.open(dir)) {
      tokenizer = Tokenizer.load(checkpoint.tokenizerJson());
      if (tokenizer.size() > checkpoint.config().vocabSize()) {
        throw new CheckpointException(checkpoint.tokenizerJson() + ": defines " + tokenizer.size()
            + " ids but config.json has vocab_size " + checkpoint.config().vocabSize());
      }
      ChatTemplate template = ChatTemplate.load(checkpoint.tokenizerConfigJson());
      Set<Integer> eos = new LinkedHashSet<>(checkpoint.generationConfig().eosTokenIds());
      String eosText = eosTokenText(checkpoint.tokenizerConfigJson());
      if (eosText != null && tokenizer.addedTokenId(eosText) >= 0) {
        eos.add(tokenizer.addedTokenId(eosText));
      }
      boolean cpu = device.equals("cpu");
      Backend loaded = switch (backend) {
        case "java" -> {
          if (!cpu) {
            throw new IllegalArgumentException("the java backend runs on the CPU only; use --backend djl for " + device);
          }
          yield JavaBackend.load(checkpoint, options);
        }
        case "djl" -> DjlBackend.load(checkpoint, device);
        case "cuda" -> {
          if (cpu) {
            throw new IllegalArgumentException("the cuda backend runs on an NVIDIA GPU; use --device gpu or gpu:N");
          }
          yield CudaBackend.load(checkpoint, device.equals("gpu") ? 0 : gpuOrdinal(device));
        }
        case "auto" -> cpu ? JavaBackend.load(checkpoint, options) : DjlBackend.load(checkpoint, device);
        default -> throw new IllegalArgumentException("backend must be auto, java, djl or cuda, got '" + backend + "'");
      };
      return new LoadedModel(where.name(), dir, loaded, tokenizer, template, Set.copyOf(eos),
          checkpoint.generationConfig());
    } catch (RuntimeException e) {
      if (tokenizer != null) {
        tokenizer.close();
      }
      throw e;
    }
  }

  private static int gpuOrdinal(String device) {
    if (device.startsWith("gpu:")) {
      try {
        return Integer.parseInt(device.substring(4));
      } catch (NumberFormatException e) {
        // falls through to the message below
      }
    }
    throw new IllegalArgumentException("device must be cpu, gpu or gpu:N, got '" + device + "'");
  }

  private static String eosTokenText(Path tokenizerConfig) {
    if (!java.nio.file.Files.exists(tokenizerConfig)) {
      return null;
    }
    try {
      var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(tokenizerConfig.toFile()).path("eos_token");
      return node.isTextual() ? node.asText() : node.path("content").asText(null);
    } catch (java.io.IOException e) {
      throw new CheckpointException(tokenizerConfig + ": not valid JSON: " + e.getMessage());
    }
  }

  /** The same model under another API name. */
  public LoadedModel withName(String newName) {
    return new LoadedModel(newName, dir, backend, tokenizer, chatTemplate, eosTokens, generationConfig);
  }

  /**
   * Checks that a drafter can serve this model: the same tokenizer (byte for byte, every id), so a drafted id means
   * the same text to both.
   */
  public void requireSameVocabulary(LoadedModel drafter) {
    if (!tokenizer.sameVocabulary(drafter.tokenizer())) {
      throw new CheckpointException("drafter " + drafter.dir() + " has another vocabulary than target " + dir
          + " (tokenizer.json differs: " + drafter.tokenizer().size() + " vs " + tokenizer.size()
          + " ids); speculative decoding needs the same tokenizer");
    }
  }

  @Override
  public void close() {
    backend.close();
    tokenizer.close();
  }
}
