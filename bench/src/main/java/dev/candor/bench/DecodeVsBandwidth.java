package dev.candor.bench;

import dev.candor.models.Shapes;
import java.util.Collection;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the decode-step and bandwidth benchmarks in one JMH run and reports decode speed as a fraction of the
 * bandwidth limit: limit tokens/s = bandwidth / bytes per step. Error bars are JMH's 99.9% confidence intervals over
 * the measurement iterations of all forks.
 */
public final class DecodeVsBandwidth {
  public static void main(String[] args) throws Exception {
    String shape = args.length > 0 ? args[0] : "qwen2.5-0.5b";
    int forks = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    BenchCheckpoints.get(shape, 0); // generate before timing starts
    Options options = new OptionsBuilder()
        .include(DecodeStepBenchmark.class.getSimpleName())
        .include(MemoryBandwidthBenchmark.class.getSimpleName())
        .param("shape", shape)
        .forks(forks)
        .warmupIterations(3).warmupTime(TimeValue.seconds(3))
        .measurementIterations(5).measurementTime(TimeValue.seconds(4))
        .jvmArgsAppend("--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
            "-Dai.djl.offline=true", "-Xmx6g",
            "-DDJL_CACHE_DIR=" + BenchCheckpoints.repoRoot().resolve(".cache/djl"),
            "-DENGINE_CACHE_DIR=" + BenchCheckpoints.repoRoot().resolve(".cache/djl"),
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
        .build();
    Collection<RunResult> results = new Runner(options).run();
    double stepMs = 0;
    double stepErr = 0;
    double readMs = 0;
    double readErr = 0;
    for (RunResult r : results) {
      var p = r.getPrimaryResult();
      if (r.getParams().getBenchmark().endsWith("decodeStep")) {
        stepMs = p.getScore();
        stepErr = p.getScoreError();
      } else {
        readMs = p.getScore();
        readErr = p.getScoreError();
      }
    }
    var config = Shapes.get(shape);
    long bytes = DecodeStepBenchmark.bytesPerStep(config, 64);
    double bandwidth = MemoryBandwidthBenchmark.BYTES / (readMs / 1e3);
    double limitTokens = bandwidth / bytes;
    double tokens = 1e3 / stepMs;
    System.out.printf("%n| shape | decode step (ms) | tokens/s | bytes/step | read bandwidth (GB/s) | limit tokens/s | fraction of limit |%n");
    System.out.printf("|---|---|---|---|---|---|---|%n");
    System.out.printf("| %s | %.2f ± %.2f | %.2f | %.2f GB | %.1f ± %.1f | %.2f | %.2f |%n", shape, stepMs, stepErr, tokens,
        bytes / 1e9, bandwidth / 1e9, bandwidth / 1e9 * readErr / readMs, limitTokens, tokens / limitTokens);
  }
}
