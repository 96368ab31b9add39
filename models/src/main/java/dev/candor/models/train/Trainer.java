package dev.candor.models.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.candor.engine.checkpoint.CheckpointWriter;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.checkpoint.RandomCheckpoint;
import dev.candor.engine.djl.Qwen2Model;
import dev.candor.engine.djl.Qwen2Weights;
import dev.candor.engine.training.AdamW;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a Qwen2 model with DJL's PyTorch autograd through the engine's own forward pass ({@link Qwen2Model}), so the
 * checkpoint it writes is exactly the model the engine serves. AdamW (decoupled weight decay on matrices only), linear
 * warm-up then cosine decay, gradient clipping by global norm, and a guard that skips a step whose loss is not finite.
 *
 * <p>Memory discipline (see README, "Stack"): every array a step creates lives in an {@link NDScope} closed at the end
 * of the step; {@link AdamW} zeroes gradients after each update (PyTorch accumulates them) and creates its state once,
 * outside any step.
 */
public final class Trainer implements AutoCloseable {
  /**
   * How to train.
   *
   * @param steps optimizer steps (fixed, so a seed reproduces the run on any machine)
   * @param batch rows per step
   * @param maxLength longest training row, tokens
   * @param learningRate peak learning rate
   * @param minLearningRate floor of the cosine decay
   * @param warmup linear warm-up steps
   * @param weightDecay AdamW's decoupled decay, applied to matrices
   * @param clip global gradient-norm clip
   * @param seed weight initialisation and data
   */
  public record Settings(int steps, int batch, int maxLength, double learningRate, double minLearningRate, int warmup,
      double weightDecay, double clip, long seed) {}


  private final Qwen2Config config;
  private final Settings settings;
  private final NDManager manager;
  private final Map<String, NDArray> parameters = new LinkedHashMap<>();
  private final AdamW optimizer;
  private final Qwen2Model model;
  private int step;

  public Trainer(Qwen2Config config, Settings settings) {
    this.config = config;
    this.settings = settings;
    this.manager = NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
    // deterministic initialisation: the same values RandomCheckpoint writes (std 0.02; norms ≈ 1; small biases)
    for (CheckpointWriter.Entry e : RandomCheckpoint.entries(config, settings.seed(), 0.02)) {
      int n = (int) java.util.Arrays.stream(e.shape()).reduce(1, (a, b) -> a * b);
      float[] values = new float[n];
      e.values().fill(0, values, n);
      NDArray p = manager.create(values, new Shape(e.shape()));
      p.setRequiresGradient(true);
      parameters.put(e.name(), p);
    }
    List<NDArray> all = new ArrayList<>(parameters.values());
    List<Boolean> decay = all.stream().map(p -> p.getShape().dimension() == 2).toList(); // matrices only
    this.optimizer = new AdamW(manager, all, decay, 0.9, 0.95, 1e-8, settings.weightDecay(), settings.clip());
    Qwen2Weights weights = Qwen2Weights.build(config, parameters::get);
    this.model = new Qwen2Model(config, weights, manager);
  }

  public Qwen2Config config() {
    return config;
  }

  public int step() {
    return step;
  }

  /** The learning rate at step s: linear warm-up, then cosine decay to the floor. */
  double learningRate(int s) {
    if (s < settings.warmup()) {
      return settings.learningRate() * (s + 1) / settings.warmup();
    }
    double progress = (double) (s - settings.warmup()) / Math.max(1, settings.steps() - settings.warmup());
    return settings.minLearningRate()
        + 0.5 * (settings.learningRate() - settings.minLearningRate()) * (1 + Math.cos(Math.PI * Math.min(1, progress)));
  }

  /** Mean cross-entropy over the masked positions of a batch, with or without recording for backward. */
  private NDArray loss(TraceBatches.Batch batch) {
    NDArray inputs = manager.create(batch.inputs(), new Shape(batch.rows(), batch.length()));
    NDArray targets = manager.create(batch.targets(), new Shape(batch.rows(), batch.length(), 1));
    NDArray mask = manager.create(batch.mask(), new Shape(batch.rows(), batch.length()));
    NDArray hidden = model.forward(inputs, 0, null, new int[0], new NDArray[0]); // [rows, length, hidden]
    NDArray logProbs = model.logits(hidden).logSoftmax(-1); // [rows, length, vocab]
    NDArray picked = logProbs.gather(targets, -1).reshape(batch.rows(), batch.length());
    return picked.mul(mask).sum().neg().div(mask.sum());
  }

  /** One optimizer step on a batch; returns its loss (NaN when the step was skipped as non-finite). */
  public double trainStep(TraceBatches.Batch batch) {
    double lr = learningRate(step);
    double lossValue;
    try (NDScope scope = new NDScope()) {
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        NDArray loss = loss(batch);
        collector.backward(loss);
        lossValue = loss.getFloat();
      }
      if (Double.isFinite(lossValue)) {
        if (!Double.isFinite(optimizer.step(lr))) {
          lossValue = Double.NaN;
        }
      } else {
        for (NDArray p : parameters.values()) {
          p.getGradient().muli(0);
        }
      }
    }
    step++;
    return lossValue;
  }

  /** Mean loss over batches without gradients. */
  public double evaluate(List<TraceBatches.Batch> batches) {
    double total = 0;
    double weight = 0;
    for (TraceBatches.Batch b : batches) {
      try (NDScope scope = new NDScope()) {
        double n = b.answerTokens();
        total += loss(b).getFloat() * n;
        weight += n;
      }
    }
    return total / weight;
  }

  /** Writes the weights as a float32 Hugging Face checkpoint (config.json, generation_config.json, safetensors). */
  public void save(Path dir, List<Integer> eosTokenIds) throws IOException {
    List<CheckpointWriter.Entry> entries = new ArrayList<>();
    for (Qwen2Tensors.Spec spec : Qwen2Tensors.all(config)) {
      float[] values = parameters.get(spec.name()).toFloatArray();
      entries.add(new CheckpointWriter.Entry(spec.name(), spec.shape(), CheckpointWriter.Values.of(values)));
    }
    CheckpointWriter.write(dir, config, entries, DType.F32, 0, eosTokenIds);
  }

  /** A one-line progress bar with loss, speed and time left. */
  static void progress(PrintStream out, int step, int steps, double loss, double tokensPerSecond, double elapsedSeconds) {
    int width = 30;
    int filled = (int) Math.round(width * (double) step / steps);
    double eta = step == 0 ? 0 : elapsedSeconds / step * (steps - step);
    out.printf("\r[%s%s] %3d%% step %d/%d  loss %.4f  %.1fk tok/s  elapsed %s  ETA %s ", "#".repeat(filled),
        ".".repeat(width - filled), 100 * step / steps, step, steps, loss, tokensPerSecond / 1000,
        clock(elapsedSeconds), clock(eta));
    out.flush();
  }

  static String clock(double seconds) {
    long s = Math.round(seconds);
    return String.format("%d:%02d", s / 60, s % 60);
  }

  @Override
  public void close() {
    manager.close();
  }
}
