package dev.candor.engine.cpu;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Rope;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.model.WeightFormat;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link Backend} in plain Java with the Vector API: the Qwen2 forward pass as llama2.c writes it, on float arrays,
 * with weights in the checkpoint's own precision read in place from the memory-mapped file (or 8-bit, {@code --weights
 * q8_0}), and the matrix products, attention included, split over {@code threads} threads. On CPU a DJL op costs
 * 3–13 µs of dispatch however small the tensor, so a small model's step is all overhead there; here it is arithmetic
 * and memory traffic (README, "Benchmarks"). Checked against the same plain-Java reference as {@code DjlBackend}.
 *
 * <p>Activations are float32 throughout; weights are widened to float32 in registers inside the products
 * ({@link Matrix}). A forward of several tokens (prefill, verification) goes through the layers in chunks of up to
 * {@link #CHUNK} tokens, each a matrix product per weight ({@link Gemm}); one token is a pass over the weights. A
 * batch ({@link #forward(List)}) is the same pass with the rows of every entry laid end to end ({@link ForwardPass}):
 * eight decode steps read the weights once, not eight times.
 */
public final class JavaBackend implements Backend {
  /** Tokens a forward runs through the layers at a time; a longer input (a prompt) is taken in chunks of this. */
  static final int CHUNK = 64;

  private final Qwen2Config c;
  private final CpuWeights weights;
  private final Parallel parallel;
  private final Gemm gemm;
  private final Attention attention;
  private final float[] ropeCos; // [maxPositions, headDim / 2]
  private final float[] ropeSin; // [maxPositions, headDim / 2]
  private final ForwardPass pass; // its run state: one forward at a time per backend

  private JavaBackend(Qwen2Config config, CpuWeights weights, Parallel parallel) {
    this.c = config;
    this.weights = weights;
    this.parallel = parallel;
    this.gemm = new Gemm(parallel);
    this.attention = new Attention(config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(), parallel);
    float[][] rope = Rope.ropeTables(config);
    this.ropeCos = rope[0];
    this.ropeSin = rope[1];
    this.pass = new ForwardPass(this);
  }

  /**
   * How the Java backend loads and runs a checkpoint.
   *
   * @param format the matrices' format: null for each as the checkpoint stores it, else converted at load
   * @param memory where the matrices kept in their stored format lie: the mapped file or a copy
   * @param threads threads for the matrix products, the calling one included
   */
  public record Options(WeightFormat format, WeightMemory memory, int threads) {
    public Options {
      Objects.requireNonNull(memory, "memory");
      if (threads < 1) {
        throw new IllegalArgumentException("threads must be at least 1, got " + threads);
      }
    }

    /** The checkpoint's own formats, mapped in place, on as many threads as there are cores. */
    public static Options defaults() {
      return new Options(null, WeightMemory.MAPPED, defaultThreads());
    }
  }

  /** Loads with the checkpoint's own weight types, on as many threads as there are cores. */
  public static JavaBackend load(Checkpoint checkpoint) {
    return load(checkpoint, Options.defaults());
  }

  /** As {@link #load(Checkpoint, Options)}, the matrices kept in their stored format used in place. */
  public static JavaBackend load(Checkpoint checkpoint, WeightFormat format, int threads) {
    return load(checkpoint, new Options(format, WeightMemory.MAPPED, threads));
  }

  /**
   * Loads a checkpoint. Matrices stored in the format asked for are used in place from the mapped file, which stays
   * mapped after the checkpoint is closed, or copied ({@link WeightMemory}); others are converted at load.
   */
  public static JavaBackend load(Checkpoint checkpoint, Options options) {
    Parallel parallel = new Parallel(options.threads());
    try {
      return new JavaBackend(checkpoint.config(), CpuWeights.load(checkpoint, options.format(), options.memory(),
          parallel), parallel);
    } catch (RuntimeException | Error e) {
      parallel.close();
      throw e;
    }
  }

  /** The cores this JVM may use. */
  public static int defaultThreads() {
    return Runtime.getRuntime().availableProcessors();
  }

  @Override
  public Qwen2Config config() {
    return c;
  }

  @Override
  public String description() {
    WeightFormat[] formats = weights.matrices().stream().map(Matrix::format).distinct().toArray(WeightFormat[]::new);
    return "java-vector cpu " + String.join("+", Arrays.stream(formats).map(WeightFormat::label).toList())
        + " weights, float32 compute (" + Vectors.LANES + " lanes, " + parallel.threads() + " threads)";
  }

  /** The format of the transformer's matrices (the embedding's may differ only if asked). */
  public WeightFormat weightFormat() {
    return weights.layers().getFirst().qProj().format();
  }

  /** Bytes of weights one decode step reads: every matrix once, the embedding only if it is also the lm_head. */
  public long bytesPerToken() {
    return weights.bytesPerToken();
  }

  /** Bytes of all weight matrices as held. */
  public long weightBytes() {
    return weights.bytes();
  }

  /** Whether every matrix is the checkpoint's bytes in place (nothing converted or copied). */
  public boolean weightsInPlace() {
    return weights.matrices().stream().allMatch(Matrix::mapped);
  }

  public int threads() {
    return parallel.threads();
  }

  @Override
  public Sequence newSequence(int capacity) {
    if (capacity <= 0 || capacity > c.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("sequence capacity " + capacity + " outside 1.." + c.maxPositionEmbeddings());
    }
    return new JavaSequence(this, capacity);
  }

  /**
   * One pass over the layers for every entry: the rows of all of them through one product per weight, attention per
   * sequence over its own cache. Every entry is checked before anything runs, so a bad one changes no cache; each
   * entry's result is, bit for bit, what it gives alone.
   */
  @Override
  public List<Forward> forward(List<BatchEntry> batch) {
    Set<Sequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (BatchEntry entry : batch) {
      if (!(entry.sequence() instanceof JavaSequence s) || s.backend() != this) {
        throw new IllegalArgumentException("a batch entry's sequence belongs to another backend");
      }
      if (!seen.add(s)) {
        throw new IllegalArgumentException("a sequence appears twice in one batch");
      }
      Sequence.checkForward(c, s.length(), s.capacity(), entry.tokens(), entry.numRows(), entry.taps());
    }
    synchronized (this) { // the run state and the threads' scratch are the backend's
      return pass.run(batch);
    }
  }

  @Override
  public void close() {
    parallel.close();
    weights.close();
  }

  Qwen2Config c() {
    return c;
  }

  CpuWeights weights() {
    return weights;
  }

  Gemm gemm() {
    return gemm;
  }

  Attention attention() {
    return attention;
  }

  /** Rotate-half RoPE on each of {@code count} heads of v[off ..] ([count * headDim]), at position pos. */
  void rope(float[] v, int off, int count, int pos) {
    int hd = c.headDim();
    int half = hd / 2;
    for (int head = 0; head < count; head++) {
      int base = off + head * hd;
      for (int i = 0; i < half; i++) {
        float cos = ropeCos[pos * half + i];
        float sin = ropeSin[pos * half + i];
        float x1 = v[base + i];
        float x2 = v[base + half + i];
        v[base + i] = x1 * cos - x2 * sin;
        v[base + half + i] = x2 * cos + x1 * sin;
      }
    }
  }

  /** out[t] = x[t] / sqrt(mean(x[t]²) + eps) · weight for t < n rows of width weight.length (out may be x). */
  void rmsNorm(float[] out, float[] x, int n, float[] weight) {
    int width = weight.length;
    for (int t = 0; t < n; t++) {
      int o = t * width;
      double sumSquares = 0;
      for (int i = 0; i < width; i++) {
        sumSquares += (double) x[o + i] * x[o + i];
      }
      float scale = (float) (1 / Math.sqrt(sumSquares / width + c.rmsNormEps()));
      for (int i = 0; i < width; i++) {
        out[o + i] = x[o + i] * scale * weight[i];
      }
    }
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "JavaBackend[%s, %.0f MB of weights]", description(), weightBytes() / 1e6);
  }
}
