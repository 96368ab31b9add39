package dev.candor.probes.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.training.AdamW;
import dev.candor.probes.features.ProblemFeatures;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Trains a probe with DJL's PyTorch autograd. Each step takes a batch of problems and scores three kinds of token
 * sets at once: every token alone, every code line (its tokens pooled), and every problem (all its tokens pooled), the
 * shared output layer giving one logit per set; the loss is the per-level loss summed with equal weight.
 *
 * <p>Inputs are standardised per dimension with the training rows' mean and deviation (middle-layer hidden states of
 * different dimensions differ in scale by orders of magnitude); the standardisation is folded into the projection when
 * training ends, so the saved probe is still exactly Linear(hidden → width) on the raw hidden state.
 */
public final class ProbeTrainer {
  private ProbeTrainer() {}

  /** A trained probe without Platt scaling (identity at every level). */
  public static Probe train(List<ProblemFeatures> problems, ProbeSettings s, int tap, int hidden, String fingerprint) {
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("no problems to train on");
    }
    double[][] standard = standardisation(problems, hidden);
    SplittableRandom random = new SplittableRandom(s.seed());
    try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
      // PyTorch's Linear initialisation: U(−1/√fan_in, 1/√fan_in) for weights and biases
      NDArray projWeight = parameter(manager, random, new Shape(s.width(), hidden), 1 / Math.sqrt(hidden));
      NDArray projBias = parameter(manager, random, new Shape(s.width()), 1 / Math.sqrt(hidden));
      NDArray outWeight = parameter(manager, random, new Shape(1, s.width()), 1 / Math.sqrt(s.width()));
      NDArray outBias = parameter(manager, random, new Shape(1), 1 / Math.sqrt(s.width()));
      List<NDArray> parameters = List.of(projWeight, projBias, outWeight, outBias);
      AdamW optimizer = new AdamW(manager, parameters, List.of(true, false, true, false), 0.9, 0.999, 1e-8,
          s.weightDecay(), Double.POSITIVE_INFINITY);
      int[] order = new int[problems.size()];
      for (int i = 0; i < order.length; i++) {
        order[i] = i;
      }
      for (int epoch = 0; epoch < s.epochs(); epoch++) {
        shuffle(order, random);
        for (int from = 0; from < order.length; from += s.batch()) {
          List<ProblemFeatures> batch = new ArrayList<>();
          for (int i = from; i < Math.min(order.length, from + s.batch()); i++) {
            batch.add(problems.get(order[i]));
          }
          try (NDScope scope = new NDScope()) {
            Batch b = Batch.of(batch, standard, hidden, s.dropout(), random, manager);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
              NDArray z = gelu(linear(b.hidden, projWeight, projBias)); // [tokens, width]
              NDArray loss = levelLoss(logit(z, outWeight, outBias), b.tokenLabels, s.loss())
                  .add(levelLoss(logit(pool(z, b.lineMask, s.maxPool()), outWeight, outBias), b.lineLabels, s.loss()))
                  .add(levelLoss(logit(pool(z, b.problemMask, s.maxPool()), outWeight, outBias), b.problemLabels,
                      s.loss()));
              collector.backward(loss);
            }
            optimizer.step(s.learningRate());
          }
        }
      }
      return fold(projWeight.toFloatArray(), projBias.toFloatArray(), outWeight.toFloatArray(), outBias.getFloat(),
          standard, s, tap, hidden, fingerprint);
    }
  }

  private static NDArray parameter(NDManager manager, SplittableRandom random, Shape shape, double bound) {
    float[] values = new float[(int) shape.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
    }
    NDArray p = manager.create(values, shape);
    p.setRequiresGradient(true);
    return p;
  }

  private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
    return ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
  }

  /** Exact GELU, 0.5·x·(1 + erf(x/√2)), as PyTorch's default and the Java probe. */
  private static NDArray gelu(NDArray x) {
    return Activation.gelu(x);
  }

  /** [sets, width] → [sets] logits. */
  private static NDArray logit(NDArray pooled, NDArray outWeight, NDArray outBias) {
    return linear(pooled, outWeight, outBias).reshape(-1);
  }

  /** Pools token vectors z [tokens, width] over each set of mask [sets, tokens]: max (masked) or mean. */
  static NDArray pool(NDArray z, NDArray mask, boolean max) {
    if (max) {
      NDArray penalty = mask.expandDims(2).sub(1).mul(1e9f); // 0 inside the set, −1e9 outside
      return z.expandDims(0).add(penalty).max(new int[] {1});
    }
    return mask.matMul(z).div(mask.sum(new int[] {1}, true));
  }

  /** The mean loss of logits s against labels y at one level. */
  static NDArray levelLoss(NDArray s, NDArray y, ProbeSettings.Loss kind) {
    NDArray p = Activation.sigmoid(s);
    return switch (kind) {
      case BRIER -> p.sub(y).square().mean().mul(2);
      // softplus(s) − y·s = −[y log σ(s) + (1 − y) log(1 − σ(s))], computed stably
      case BCE -> Activation.softPlus(s).sub(y.mul(s)).mean();
      case FOCAL -> {
        NDArray ce = Activation.softPlus(s).sub(y.mul(s));
        NDArray pTrue = y.mul(p).add(y.neg().add(1).mul(p.neg().add(1)));
        yield pTrue.neg().add(1).square().mul(ce).mean();
      }
    };
  }

  /** Per hidden dimension: {mean, standard deviation} over all training tokens. */
  static double[][] standardisation(List<ProblemFeatures> problems, int hidden) {
    double[] mean = new double[hidden];
    double[] square = new double[hidden];
    long n = 0;
    for (ProblemFeatures p : problems) {
      for (float[] h : p.hidden()) {
        for (int d = 0; d < hidden; d++) {
          mean[d] += h[d];
          square[d] += (double) h[d] * h[d];
        }
        n++;
      }
    }
    double[] std = new double[hidden];
    for (int d = 0; d < hidden; d++) {
      mean[d] /= n;
      std[d] = Math.sqrt(Math.max(square[d] / n - mean[d] * mean[d], 0)) + 1e-6;
    }
    return new double[][] {mean, std};
  }

  /** W' = W / std, b' = b − W'·mean: the standardisation folded into the projection. */
  private static Probe fold(float[] w, float[] b, float[] outWeight, float outBias, double[][] standard,
      ProbeSettings s, int tap, int hidden, String fingerprint) {
    float[] folded = new float[w.length];
    float[] bias = new float[b.length];
    for (int j = 0; j < s.width(); j++) {
      double shift = 0;
      for (int d = 0; d < hidden; d++) {
        double wd = w[j * hidden + d] / standard[1][d];
        folded[j * hidden + d] = (float) wd;
        shift += wd * standard[0][d];
      }
      bias[j] = (float) (b[j] - shift);
    }
    Probe.Platt[] identity = {Probe.Platt.IDENTITY, Probe.Platt.IDENTITY, Probe.Platt.IDENTITY};
    return new Probe(tap, hidden, s.width(), s.maxPool(), folded, bias, outWeight, outBias, identity, fingerprint, null);
  }

  private static void shuffle(int[] order, SplittableRandom random) {
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  /** A batch of problems as arrays: standardised (and dropped-out) hidden states, labels and set masks per level. */
  private record Batch(NDArray hidden, NDArray tokenLabels, NDArray lineMask, NDArray lineLabels, NDArray problemMask,
      NDArray problemLabels) {

    static Batch of(List<ProblemFeatures> problems, double[][] standard, int hiddenSize, double dropout,
        SplittableRandom random, NDManager manager) {
      int tokens = 0;
      int lines = 0;
      for (ProblemFeatures p : problems) {
        tokens += p.size();
        lines += p.lines().length;
      }
      float[] x = new float[tokens * hiddenSize];
      float[] yToken = new float[tokens];
      float[] lineMask = new float[Math.max(1, lines) * tokens];
      float[] yLine = new float[Math.max(1, lines)];
      float[] problemMask = new float[problems.size() * tokens];
      float[] yProblem = new float[problems.size()];
      float keep = (float) (1 - dropout);
      int t0 = 0;
      int l0 = 0;
      for (int pi = 0; pi < problems.size(); pi++) {
        ProblemFeatures p = problems.get(pi);
        for (int i = 0; i < p.size(); i++) {
          float[] h = p.hidden()[i];
          int row = (t0 + i) * hiddenSize;
          for (int d = 0; d < hiddenSize; d++) {
            double v = (h[d] - standard[0][d]) / standard[1][d];
            // inverted dropout: zero with probability `dropout`, scale the rest so the expectation is unchanged
            x[row + d] = dropout > 0 && random.nextDouble() >= keep ? 0f : (float) (v / keep);
          }
          yToken[t0 + i] = p.tokenLabels()[i] ? 1 : 0;
          problemMask[pi * tokens + t0 + i] = 1;
        }
        yProblem[pi] = p.problemLabel() ? 1 : 0;
        for (int l = 0; l < p.lines().length; l++) {
          for (int i = p.lines()[l][0]; i < p.lines()[l][1]; i++) {
            lineMask[(l0 + l) * tokens + t0 + i] = 1;
          }
          yLine[l0 + l] = p.lineLabels()[l] ? 1 : 0;
        }
        t0 += p.size();
        l0 += p.lines().length;
      }
      if (lines == 0) { // no code line in the batch: a dummy set equal to the first token, weight-neutral enough
        lineMask[0] = 1;
        yLine[0] = yToken[0];
      }
      return new Batch(manager.create(x, new Shape(tokens, hiddenSize)), manager.create(yToken),
          manager.create(lineMask, new Shape(Math.max(1, lines), tokens)), manager.create(yLine),
          manager.create(problemMask, new Shape(problems.size(), tokens)), manager.create(yProblem));
    }
  }
}
