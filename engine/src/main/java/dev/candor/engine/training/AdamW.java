package dev.candor.engine.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov &amp; Hutter 2019, arXiv 1711.05101) on DJL arrays, written out rather than taken from DJL's
 * optimizers: DJL creates optimizer state lazily in whatever manager the weight is attached to at the time (so a
 * per-step scope frees it), clips only element-wise, and does not zero PyTorch's accumulated gradients. Here the state
 * is created once, the gradient is clipped by its global norm, and gradients are zeroed after every step. Call
 * {@link #step} inside an {@code NDScope}, outside the gradient collector.
 */
public final class AdamW {
  private final List<NDArray> parameters;
  private final List<Boolean> decay;
  private final List<NDArray> firstMoment = new ArrayList<>();
  private final List<NDArray> secondMoment = new ArrayList<>();
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final double clip;
  private int t;

  /**
   * @param parameters arrays with gradients attached
   * @param decay per parameter, whether weight decay applies (usually matrices yes, norms and biases no)
   * @param clip global gradient-norm clip (infinity for none)
   */
  public AdamW(NDManager manager, List<NDArray> parameters, List<Boolean> decay, double beta1, double beta2,
      double epsilon, double weightDecay, double clip) {
    this.parameters = List.copyOf(parameters);
    this.decay = List.copyOf(decay);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.weightDecay = weightDecay;
    this.clip = clip;
    for (NDArray p : parameters) {
      firstMoment.add(manager.zeros(p.getShape()));
      secondMoment.add(manager.zeros(p.getShape()));
    }
  }

  /**
   * Applies one update at learning rate {@code lr} from the parameters' current gradients, then zeroes them. Returns
   * the gradient's global norm before clipping; a non-finite norm skips the update (the gradients are still zeroed).
   */
  public double step(double lr) {
    List<NDArray> gradients = new ArrayList<>(parameters.size());
    double squaredNorm = 0;
    for (NDArray p : parameters) {
      NDArray g = p.getGradient();
      gradients.add(g);
      squaredNorm += g.square().sum().getFloat();
    }
    double norm = Math.sqrt(squaredNorm);
    if (Double.isFinite(norm)) {
      t++;
      double scale = norm > clip ? clip / norm : 1;
      double correction1 = 1 - Math.pow(beta1, t);
      double correction2 = 1 - Math.pow(beta2, t);
      for (int i = 0; i < parameters.size(); i++) {
        NDArray p = parameters.get(i);
        NDArray g = gradients.get(i).mul(scale);
        NDArray m = firstMoment.get(i).muli(beta1).addi(g.mul(1 - beta1));
        NDArray v = secondMoment.get(i).muli(beta2).addi(g.square().mul(1 - beta2));
        NDArray update = m.div(correction1).div(v.div(correction2).sqrt().add(epsilon));
        if (decay.get(i)) {
          update = update.add(p.mul(weightDecay));
        }
        p.subi(update.mul(lr));
      }
    }
    for (NDArray g : gradients) {
      g.muli(0); // PyTorch accumulates gradients into the same storage
    }
    return norm;
  }
}
