package dev.candor.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Sequence;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What one batched forward of B decode steps saves against the same steps in turn, in the backend alone (no server),
 * at B = 1, 2, 4, 8, every sequence 64 positions deep; wall clock and this process's CPU time (the machine is shared:
 * CPU time is what batching saves, wall clock what it got).
 *
 * <p>Both backends: {@code Backend.forward(List)} of B decode entries on B sequences against the same B steps run
 * alone, one after another.
 */
final class BackendBatching {
  private BackendBatching() {}

  static ObjectNode measure(String name, Path checkpoint, String backend, int reps) {
    ObjectNode out = ServingBenchmark.JSON.createObjectNode();
    CpuShare share = CpuShare.start();
    try (LoadedModel m = LoadedModel.load(checkpoint, "cpu", backend)) {
      Backend measured = m.backend(); // java or djl
      out.put("backend", measured.description());
      SplittableRandom random = new SplittableRandom(3);
      int vocab = measured.config().vocabSize();
      List<Sequence> sequences = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        Sequence s = measured.newSequence(128);
        s.forward(random.ints(64, 0, vocab).toArray(), 0);
        sequences.add(s);
      }
      for (int b : ServingBenchmark.STREAMS) {
        int[] tokens = random.ints(b, 0, vocab).toArray();
        Runnable inTurn = () -> {
          for (int i = 0; i < b; i++) {
            sequences.get(i).forward(new int[] {tokens[i]}, 1);
            sequences.get(i).truncate(64);
          }
        };
        Runnable batched = () -> {
          List<BatchEntry> batch = new ArrayList<>();
          for (int i = 0; i < b; i++) {
            batch.add(new BatchEntry(sequences.get(i), new int[] {tokens[i]}, 1, false, new int[0]));
          }
          measured.forward(batch);
          for (int i = 0; i < b; i++) {
            sequences.get(i).truncate(64);
          }
        };
        Timing alone = Timing.of(reps, inTurn);
        Timing together = Timing.of(reps, batched);
        ObjectNode o = out.putObject(Integer.toString(b));
        o.put("in_turn_ms", alone.wallNanos() / 1e6);
        o.put("batched_ms", together.wallNanos() / 1e6);
        o.put("speedup", alone.wallNanos() / together.wallNanos());
        o.put("in_turn_cpu_ms", alone.cpuNanos() / 1e6);
        o.put("batched_cpu_ms", together.cpuNanos() / 1e6);
        o.put("cpu_speedup", alone.cpuNanos() / together.cpuNanos());
        System.err.printf(Locale.ROOT, "  %s %s B=%d: in turn %.2f ms (CPU %.2f), batched %.2f ms (CPU %.2f)%n",
            backend, name, b, alone.wallNanos() / 1e6, alone.cpuNanos() / 1e6, together.wallNanos() / 1e6,
            together.cpuNanos() / 1e6);
      }
      sequences.forEach(Sequence::close);
    } catch (RuntimeException e) {
      out.put("error", String.valueOf(e.getMessage()));
    }
    out.put("others_cpu_fraction", share.othersFraction());
    return out;
  }

  /**
   * One run of body: the medians over n samples of wall clock and this process's CPU time. A warm-up of at least half
   * a second first (the JIT compiles the path measured, not the one before it); each sample repeats body until it
   * lasts 50 ms, since the process CPU clock ticks in 10 ms and a tiny model's step takes a fraction of one.
   */
  record Timing(double wallNanos, double cpuNanos) {
    private static final long WARM_UP_NANOS = 500_000_000L;
    private static final long SAMPLE_NANOS = 50_000_000L;

    static Timing of(int n, Runnable body) {
      var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
          .getOperatingSystemMXBean();
      long start = System.nanoTime();
      int warmRuns = 0;
      while (warmRuns < 3 || System.nanoTime() - start < WARM_UP_NANOS) {
        body.run();
        warmRuns++;
      }
      double perRun = (double) (System.nanoTime() - start) / warmRuns;
      int inner = (int) Math.max(1, Math.ceil(SAMPLE_NANOS / perRun));
      double[] wall = new double[n];
      double[] cpu = new double[n];
      for (int i = 0; i < n; i++) {
        long c0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        for (int r = 0; r < inner; r++) {
          body.run();
        }
        wall[i] = (double) (System.nanoTime() - t0) / inner;
        cpu[i] = (double) (os.getProcessCpuTime() - c0) / inner;
      }
      return new Timing(EndToEnd.median(wall), EndToEnd.median(cpu));
    }
  }
}
