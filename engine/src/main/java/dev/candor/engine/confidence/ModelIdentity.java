package dev.candor.engine.confidence;

import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.WeightsHash;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Which model a probe reads: hidden states belong to one set of weights in one format, so a probe trained on them is
 * meaningful for that model only. The shape alone is not enough (a fine-tune or a quantized copy has the same
 * shape and different hidden states); the weights' hash tells copies apart, and the weight format (the checkpoint's
 * dtype today; a quantized format such as q8_0 once the loader has one) says how they were computed.
 *
 * @param shape {@link Qwen2Config#fingerprint()}, a hash of the architecture's sizes
 * @param weights {@link WeightsHash} of the checkpoint's files (hex SHA-256)
 * @param format the weight format the loader computes with: "f32", "f16", "bf16" (later "q8_0")
 */
public record ModelIdentity(String shape, String weights, String format) {
  /** A checkpoint as loaded: its shape, its weights' hash (cached beside it), and the format the loader passes in. */
  public static ModelIdentity of(Path checkpointDir, Qwen2Config config, String format) {
    return new ModelIdentity(config.fingerprint(), WeightsHash.of(checkpointDir), format.toLowerCase(Locale.ROOT));
  }

  /** The format of a checkpoint whose weights are computed in the dtype they were saved in (today's loaders). */
  public static String formatOf(Qwen2Config config) {
    return config.torchDtype().name().toLowerCase(Locale.ROOT);
  }

  /** "shape 417f0338…, weights 1a2b3c4d5e6f…, format f32", for one-line messages. */
  public String describe() {
    return "shape " + shape + ", weights sha256 " + abbreviate(weights) + ", format " + format;
  }

  private static String abbreviate(String hash) {
    return hash.length() > 16 ? hash.substring(0, 16) + "…" : hash;
  }
}
