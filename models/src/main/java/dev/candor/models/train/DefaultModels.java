package dev.candor.models.train;

import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;

/**
 * The shapes and training settings of the default models: a target and a drafter several times smaller, both Qwen2
 * architecture with the byte-level task tokenizer. Fixed step counts (not time budgets) so a seed reproduces a run on
 * any machine; on the 2-core CI-class machine each trains in under 30 minutes.
 */
public final class DefaultModels {
  private DefaultModels() {}

  public static final int VOCAB = 259;
  public static final int CONTEXT = 512;

  public static final Qwen2Config TARGET =
      new Qwen2Config(128, 384, 4, 4, 2, 32, 1e-6, 10000, VOCAB, CONTEXT, true, DType.F32);
  public static final Qwen2Config DRAFTER =
      new Qwen2Config(64, 192, 2, 2, 1, 32, 1e-6, 10000, VOCAB, CONTEXT, true, DType.F32);

  /**
   * Seeds of the disjoint program streams. Training draws from {@code TRAIN_PROGRAMS + 1000 · seed} (so 1001 for the
   * committed models' seed 1: see {@link #trainingStream}); the probe is trained on the calibration stream and checked
   * on the fresh one and on counterfactuals of a fifth.
   */
  public static final long TRAIN_PROGRAMS = 1;
  public static final long EVAL_PROGRAMS = 2;
  public static final long CALIBRATION_PROGRAMS = 3;
  public static final long FRESH_PROGRAMS = 4;
  public static final long COUNTERFACTUAL_PROGRAMS = 5;
  /** The stream the committed probe is checked on in {@code make test} (never used for training or reports). */
  public static final long PROBE_TEST_PROGRAMS = 7;

  /** The program stream a training run with {@code seed} draws from. */
  public static long trainingStream(long seed) {
    return TRAIN_PROGRAMS + 1000 * seed;
  }

  public static Qwen2Config shape(String role) {
    return switch (role) {
      case "target" -> TARGET;
      case "drafter" -> DRAFTER;
      default -> throw new IllegalArgumentException("role must be 'target' or 'drafter', got '" + role + "'");
    };
  }
}
