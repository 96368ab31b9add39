package dev.candor.bench;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.djl.DjlBackend;
import dev.candor.engine.model.Sequence;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One target decode step (forward of one token at context {@link #context}, logits copied to the host), the
 * number the whole engine's speed rests on. The cache is truncated back after each step so every call sees the same
 * context length.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class DecodeStepBenchmark {
  @Param({"qwen2.5-0.5b"})
  public String shape;

  @Param({"64"})
  public int context;

  private Checkpoint checkpoint;
  private DjlBackend backend;
  private Sequence sequence;

  @Setup(Level.Trial)
  public void load() {
    checkpoint = Checkpoint.open(BenchCheckpoints.get(shape, 0));
    backend = DjlBackend.load(checkpoint, "cpu");
    checkpoint.close();
    sequence = backend.newSequence(context + 8);
    int[] prompt = new int[context];
    for (int i = 0; i < context; i++) {
      prompt[i] = (i * 7919) % 30000;
    }
    sequence.prefill(prompt);
  }

  @Benchmark
  public float[] decodeStep() {
    float[] logits = sequence.decode(42);
    sequence.truncate(context);
    return logits;
  }

  @TearDown(Level.Trial)
  public void close() {
    sequence.close();
    backend.close();
  }

  /** Bytes a decode step must read from memory: every weight (float32) and the KV cache at this context. */
  public static long bytesPerStep(dev.candor.engine.checkpoint.Qwen2Config c, int context) {
    long weights = c.parameterCount() - (long) c.vocabSize() * c.hiddenSize() // embedding rows: only one is gathered
        + (c.tieWordEmbeddings() ? (long) c.vocabSize() * c.hiddenSize() : 0); // ...but a tied lm_head reads it all
    long kv = 2L * c.numHiddenLayers() * context * c.numKeyValueHeads() * c.headDim();
    return (weights + kv) * 4;
  }
}
