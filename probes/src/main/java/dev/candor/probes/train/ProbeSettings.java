package dev.candor.probes.train;

/**
 * How a probe is trained: Gros &amp; Devanbu's recipe by default (dropout 0.2 → Linear(hidden → 32) → GELU, max-pooled
 * per token set, a shared Linear(32 → 1); Brier loss summed with equal weight over token, line and problem levels;
 * Adam with weight decay 0.01, learning rate 1e-3, 30 epochs, batches of 16 problems).
 *
 * @param width the projection size (32)
 * @param maxPool max-pooling over a set's tokens (else mean)
 * @param loss the per-level loss
 * @param epochs passes over the training problems
 * @param batch problems per optimizer step
 * @param learningRate Adam's learning rate
 * @param weightDecay decoupled weight decay (AdamW) on the two matrices
 * @param dropout dropout on the hidden state, training only
 * @param seed initialisation, shuffling and dropout
 */
public record ProbeSettings(int width, boolean maxPool, Loss loss, int epochs, int batch, double learningRate,
    double weightDecay, double dropout, long seed) {

  /** The per-level training loss. */
  public enum Loss {
    /** 2 · mean squared error of the sigmoid: the paper's choice; directly optimises calibration. */
    BRIER,
    /** Binary cross-entropy. */
    BCE,
    /** Focal loss with gamma 2 (Lin et al. 2017): down-weights easy, confident rows. */
    FOCAL
  }

  public static ProbeSettings defaults(long seed) {
    return new ProbeSettings(32, true, Loss.BRIER, 30, 16, 1e-3, 0.01, 0.2, seed);
  }

  public ProbeSettings withEpochs(int e) {
    return new ProbeSettings(width, maxPool, loss, e, batch, learningRate, weightDecay, dropout, seed);
  }

  public ProbeSettings withLoss(Loss l) {
    return new ProbeSettings(width, maxPool, l, epochs, batch, learningRate, weightDecay, dropout, seed);
  }

  public ProbeSettings withMaxPool(boolean m) {
    return new ProbeSettings(width, m, loss, epochs, batch, learningRate, weightDecay, dropout, seed);
  }

  public ProbeSettings withSeed(long s) {
    return new ProbeSettings(width, maxPool, loss, epochs, batch, learningRate, weightDecay, dropout, s);
  }
}
