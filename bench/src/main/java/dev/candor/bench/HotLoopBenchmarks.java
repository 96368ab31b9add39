package dev.candor.bench;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.generate.Draft;
import dev.candor.engine.generate.RejectionSampler;
import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.StreamDecoder;
import dev.candor.engine.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The parts of the hot decode loop, each alone: a target decode step, a drafter step and a (k+1)-token verify step on
 * each backend; the full distribution record over Qwen's 151,936-token vocabulary; the rejection sampler; streamed
 * detokenization; probe scoring of a token and a line. Settings: 2 forks, 3 warm-up and 5 measured iterations of 2 s;
 * JMH's ± is the 99.9% confidence interval over the 10 measured iterations.
 */
public final class HotLoopBenchmarks {
  private HotLoopBenchmarks() {}

  static final String JVM = "--add-modules=jdk.incubator.vector";

  /** Forward passes: decode (1 token) and verify (k + 1 = 5 tokens) at a 64-token context. */
  @State(Scope.Benchmark)
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Fork(value = 2, jvmArgsAppend = {JVM, "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true", "-Xmx6g"})
  @Warmup(iterations = 3, time = 2)
  @Measurement(iterations = 5, time = 2)
  public static class Steps {
    @Param({"default-target", "default-drafter", "qwen2.5-0.5b"})
    public String model;

    @Param({"java", "djl"})
    public String backend;

    private LoadedModel loaded;
    private Sequence sequence;
    private final int[] five = {40, 41, 42, 43, 44};

    @Setup(Level.Trial)
    public void load() {
      Path dir = switch (model) {
        case "default-target" -> BenchCheckpoints.repoRoot().resolve("models/default/target");
        case "default-drafter" -> BenchCheckpoints.repoRoot().resolve("models/default/drafter");
        default -> BenchCheckpoints.get(model, 0);
      };
      loaded = LoadedModel.load(dir, "cpu", backend);
      sequence = loaded.backend().newSequence(80);
      int[] prompt = new int[64];
      for (int i = 0; i < prompt.length; i++) {
        prompt[i] = 32 + i % 90;
      }
      sequence.prefill(prompt);
    }

    @Benchmark
    public float[] decodeStep() {
      float[] logits = sequence.decode(42);
      sequence.truncate(64);
      return logits;
    }

    @Benchmark
    public float[][] verifyStepK4() {
      float[][] logits = sequence.verify(five);
      sequence.truncate(64);
      return logits;
    }

    @TearDown(Level.Trial)
    public void close() {
      sequence.close();
      loaded.close();
    }
  }

  /** Per-token work on the host: the distribution record, rejection sampling, detokenization, probe scoring. */
  @State(Scope.Benchmark)
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Fork(value = 2, jvmArgsAppend = {JVM, "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true"})
  @Warmup(iterations = 3, time = 2)
  @Measurement(iterations = 5, time = 2)
  public static class PerToken {
    static final int QWEN_VOCAB = 151936;

    private float[] logits; // Qwen-sized, Gaussian with scale 3: a realistic spread of logits
    private TokenDistribution target;
    private TokenDistribution draft;
    private Sampler sampler;
    private Tokenizer tokenizer;
    private int[] stream;
    private int streamAt;
    private StreamDecoder decoder;
    private Probe probe;
    private Probe qwenSizedProbe;
    private List<float[]> line;
    private List<float[]> qwenLine;

    @Setup(Level.Trial)
    public void setUp() {
      SplittableRandom random = new SplittableRandom(1);
      logits = new float[QWEN_VOCAB];
      float[] other = new float[QWEN_VOCAB];
      for (int i = 0; i < QWEN_VOCAB; i++) {
        logits[i] = (float) (3 * random.nextGaussian());
        other[i] = logits[i] + (float) random.nextGaussian();
      }
      SamplingParams params = new SamplingParams(0.8, 0, 0.95, 0);
      target = TokenDistribution.of(logits, params);
      draft = TokenDistribution.of(other, params);
      sampler = new Sampler(3);
      tokenizer = Tokenizer.load(BenchCheckpoints.repoRoot().resolve("models/tokenizers/qwen2.5/tokenizer.json"));
      stream = tokenizer.encode("Hello, y'all! How are you 😁 ?我想在apple工作1314151天～ def f(x): return x * 2\n".repeat(20));
      decoder = new StreamDecoder(tokenizer);
      probe = Probe.load(BenchCheckpoints.repoRoot().resolve("models/default/probe"), null);
      line = randomStates(random, 12, probe.hiddenSize());
      qwenSizedProbe = randomProbe(random, 896);
      qwenLine = randomStates(random, 12, 896);
    }

    static List<float[]> randomStates(SplittableRandom random, int n, int hidden) {
      List<float[]> states = new ArrayList<>();
      for (int t = 0; t < n; t++) {
        float[] h = new float[hidden];
        for (int d = 0; d < hidden; d++) {
          h[d] = (float) random.nextGaussian();
        }
        states.add(h);
      }
      return states;
    }

    static Probe randomProbe(SplittableRandom random, int hidden) {
      float[] w = new float[32 * hidden];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (random.nextGaussian() / Math.sqrt(hidden));
      }
      Probe.Platt[] identity = {Probe.Platt.IDENTITY, Probe.Platt.IDENTITY, Probe.Platt.IDENTITY};
      return new Probe(12, hidden, 32, true, w, new float[32], new float[32], 0, identity, "random", null);
    }

    /** softmax, entropy, logprob and top-20 over 151,936 logits: what every emitted token carries (greedy). */
    @Benchmark
    public TokenRecord distributionRecordGreedy() {
      TokenDistribution d = TokenDistribution.of(logits, SamplingParams.greedy());
      return TokenRecord.of(0, d.argmax(), new byte[0], d, 20, Source.TARGET);
    }

    /** The same with temperature 0.8 and top-p 0.95, where the sampling distribution is built too. */
    @Benchmark
    public TokenRecord distributionRecordSampled() {
      TokenDistribution d = TokenDistribution.of(logits, new SamplingParams(0.8, 0, 0.95, 0));
      return TokenRecord.of(0, 7, new byte[0], d, 20, Source.TARGET);
    }

    /** Verifying one drafted token against the target (accept, or draw from the residual). */
    @Benchmark
    public RejectionSampler.Verdict rejectionSampler() {
      int x = sampler.sample(draft);
      return RejectionSampler.verify(new Draft(new int[] {x}, new TokenDistribution[] {draft}),
          new TokenDistribution[] {target, target}, sampler);
    }

    /** One streamed token's text, whole UTF-8 characters only. */
    @Benchmark
    public String detokenizeStreamedToken() {
      if (streamAt == stream.length) {
        streamAt = 0;
      }
      return decoder.push(stream[streamAt++]);
    }

    @Benchmark
    public double probeTokenDefaultModel() {
      return probe.logit(line.subList(0, 1));
    }

    @Benchmark
    public double probeLineDefaultModel() {
      return probe.logit(line);
    }

    @Benchmark
    public double probeTokenQwen05bShape() {
      return qwenSizedProbe.logit(qwenLine.subList(0, 1));
    }

    @Benchmark
    public double probeLineQwen05bShape() {
      return qwenSizedProbe.logit(qwenLine);
    }

    @TearDown(Level.Trial)
    public void close() {
      tokenizer.close();
    }
  }
}
