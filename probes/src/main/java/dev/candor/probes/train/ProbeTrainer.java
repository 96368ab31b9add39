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
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Trains a probe with DJL's PyTorch autograd. Each step takes a batch of problems and scores three kinds of token
 * sets at once: every token alone, every code line (its tokens pooled), and every problem (all its tokens pooled), the
 * shared output layer giving one logit per set; the loss is the per-level loss summed with equal weight.
 *
 * <p>A token's input is whatever {@link ProbeInput} built: a hidden state, several concatenated, and record features.
 * Inputs are standardised per dimension with the training rows' mean and deviation (middle-layer hidden states of
 * different dimensions differ in scale by orders of magnitude, and a log-probability is on another scale again); the
 * standardisation is folded into the projection when training ends, so the saved head is still exactly
 * Linear(input → width) on the raw input.
 */
public final class ProbeTrainer {
  private ProbeTrainer() {}

  /**
   * One problem as the trainer sees it.
   *
   * @param inputs each token's input [C][input]
   * @param tokenLabels [C]
   * @param lines code lines as token ranges [L][2]
   * @param lineLabels [L]
   * @param problemLabel the whole completion is right
   */
  public record Problem(float[][] inputs, boolean[] tokenLabels, int[][] lines, boolean[] lineLabels,
      boolean problemLabel) {
    int size() {
      return inputs.length;
    }
  }

  /** A trained head without Platt scaling (identity at every level), on inputs of {@code hidden} values. */
  public static Probe.Head train(List<Problem> problems, ProbeSettings s, int hidden) {
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
          List<Problem> batch = new ArrayList<>();
          for (int i = from; i < Math.min(order.length, from + s.batch()); i++) {
            batch.add(problems.get(order[i]));
          }
          try (NDScope scope = new NDScope()) {
            Batch b = Batch.of(batch, standard, hidden, s.dropout(), random, manager);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
              NDArray z = gelu(linear(b.hidden, projWeight, projBias)); // [tokens, width]
              NDArray linePool = pool(z, b.lines, s.maxPool(), projWeight, projBias); // [lines, width]
              NDArray problemPool = pool(z, b.problems, s.maxPool(), projWeight, projBias); // [problems, width]
              NDArray loss = levelLoss(logit(z, outWeight, outBias), b.tokenLabels, s.loss())
                  .add(levelLoss(logit(linePool, outWeight, outBias), b.lineLabels, s.loss()))
                  .add(levelLoss(logit(problemPool, outWeight, outBias), b.problemLabels, s.loss()));
              collector.backward(loss);
            }
            optimizer.step(s.learningRate());
          }
        }
      }
      return fold(projWeight.toFloatArray(), projBias.toFloatArray(), outWeight.toFloatArray(), outBias.getFloat(),
          standard, s, hidden);
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

  /**
   * Pools the token vectors of each set [sets, width]: the max of GELU(W x + b) over the set's inputs, gathered (on
   * the host) into a padded block [sets, longest, input] whose padding the penalty keeps from winning; or the mean of
   * z [tokens, width] by the membership mask. {@link #poolByMask}'s [sets, tokens, width] broadcast is its oracle in
   * the tests. Measured interleaved in one JVM with one intra-op thread, the two train at the same speed (2.8–9.9 s an
   * epoch of 960 problems either way on a shared machine); what made training 4–8× faster there was the thread count
   * (see make-probe.sh). The block form stays because the committed probe was trained with it.
   */
  static NDArray pool(NDArray z, Sets sets, boolean max, NDArray projWeight, NDArray projBias) {
    if (max) {
      long width = projWeight.getShape().get(0);
      NDArray block = gelu(linear(sets.inputs(), projWeight, projBias)); // [sets · longest, width]
      return block.reshape(sets.count(), sets.longest(), width).add(sets.penalty()).max(new int[] {1});
    }
    return poolByMask(z, sets.mask(), false);
  }

  /** Pools z [tokens, width] over each set of mask [sets, tokens]: max (by a masked broadcast) or mean. */
  static NDArray poolByMask(NDArray z, NDArray mask, boolean max) {
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
  static double[][] standardisation(List<Problem> problems, int hidden) {
    double[] mean = new double[hidden];
    double[] square = new double[hidden];
    long n = 0;
    for (Problem p : problems) {
      for (float[] h : p.inputs()) {
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
  private static Probe.Head fold(float[] w, float[] b, float[] outWeight, float outBias, double[][] standard,
      ProbeSettings s, int hidden) {
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
    return new Probe.Head(folded, bias, outWeight, outBias, identity);
  }

  private static void shuffle(int[] order, SplittableRandom random) {
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  /**
   * The token sets of one level of a batch: the membership mask [sets, tokens] (mean pooling) and, for max pooling,
   * every set's inputs copied into a block padded to the longest set [sets · longest, input], with the padding's
   * penalty [sets, longest, 1] (0 for a member, −1e9 for padding).
   */
  record Sets(NDArray mask, NDArray inputs, NDArray penalty, int count, int longest) {
    /** Sets given as token lists over the batch's inputs {@code x} [tokens · input]. */
    static Sets of(List<int[]> members, float[] x, int tokens, int input, NDManager manager) {
      int longest = 1;
      for (int[] m : members) {
        longest = Math.max(longest, m.length);
      }
      float[] mask = new float[members.size() * tokens];
      float[] block = new float[members.size() * longest * input];
      float[] penalty = new float[members.size() * longest];
      for (int s = 0; s < members.size(); s++) {
        int[] m = members.get(s);
        for (int k = 0; k < longest; k++) {
          int token = k < m.length ? m[k] : m[0];
          System.arraycopy(x, token * input, block, (s * longest + k) * input, input);
          penalty[s * longest + k] = k < m.length ? 0 : -1e9f;
        }
        for (int t : m) {
          mask[s * tokens + t] = 1;
        }
      }
      return new Sets(manager.create(mask, new Shape(members.size(), tokens)),
          manager.create(block, new Shape((long) members.size() * longest, input)),
          manager.create(penalty, new Shape(members.size(), longest, 1)), members.size(), longest);
    }
  }

  /** A batch of problems as arrays: standardised (and dropped-out) hidden states, labels and the sets per level. */
  private record Batch(NDArray hidden, NDArray tokenLabels, Sets lines, NDArray lineLabels, Sets problems,
      NDArray problemLabels) {

    static Batch of(List<Problem> problems, double[][] standard, int hiddenSize, double dropout,
        SplittableRandom random, NDManager manager) {
      int tokens = 0;
      for (Problem p : problems) {
        tokens += p.size();
      }
      float[] x = new float[tokens * hiddenSize];
      float[] yToken = new float[tokens];
      List<int[]> lineSets = new ArrayList<>();
      List<Float> yLine = new ArrayList<>();
      List<int[]> problemSets = new ArrayList<>();
      float[] yProblem = new float[problems.size()];
      float keep = (float) (1 - dropout);
      int t0 = 0;
      for (int pi = 0; pi < problems.size(); pi++) {
        Problem p = problems.get(pi);
        for (int i = 0; i < p.size(); i++) {
          float[] h = p.inputs()[i];
          int row = (t0 + i) * hiddenSize;
          for (int d = 0; d < hiddenSize; d++) {
            double v = (h[d] - standard[0][d]) / standard[1][d];
            // inverted dropout: zero with probability `dropout`, scale the rest so the expectation is unchanged
            x[row + d] = dropout > 0 && random.nextDouble() >= keep ? 0f : (float) (v / keep);
          }
          yToken[t0 + i] = p.tokenLabels()[i] ? 1 : 0;
        }
        problemSets.add(range(t0, t0 + p.size()));
        yProblem[pi] = p.problemLabel() ? 1 : 0;
        for (int l = 0; l < p.lines().length; l++) {
          lineSets.add(range(t0 + p.lines()[l][0], t0 + p.lines()[l][1]));
          yLine.add(p.lineLabels()[l] ? 1f : 0f);
        }
        t0 += p.size();
      }
      if (lineSets.isEmpty()) { // no code line in the batch: a dummy set, the first token, weight-neutral enough
        lineSets.add(new int[] {0});
        yLine.add(yToken[0]);
      }
      float[] lineLabels = new float[yLine.size()];
      for (int l = 0; l < lineLabels.length; l++) {
        lineLabels[l] = yLine.get(l);
      }
      return new Batch(manager.create(x, new Shape(tokens, hiddenSize)), manager.create(yToken),
          Sets.of(lineSets, x, tokens, hiddenSize, manager), manager.create(lineLabels),
          Sets.of(problemSets, x, tokens, hiddenSize, manager),
          manager.create(yProblem));
    }

    private static int[] range(int from, int to) {
      int[] r = new int[to - from];
      for (int i = 0; i < r.length; i++) {
        r[i] = from + i;
      }
      return r;
    }
  }
}
