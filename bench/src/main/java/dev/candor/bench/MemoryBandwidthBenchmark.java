package dev.candor.bench;

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

/** One streaming read of a buffer far larger than the caches, on every core: bandwidth = bytes / time. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MemoryBandwidthBenchmark {
  public static final long BYTES = 1L << 30;

  @Param({"0"})
  public int threads;

  private MemoryBandwidth probe;

  @Setup(Level.Trial)
  public void allocate() {
    probe = new MemoryBandwidth(BYTES, threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
  }

  @Benchmark
  public float streamRead() throws Exception {
    return probe.readOnce();
  }

  @TearDown(Level.Trial)
  public void free() {
    probe.close();
  }
}
