package dev.candor.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's read bandwidth, the limit of a decode step (which reads every weight once): bytes per token over this
 * is the fastest a step can be, and Candor reports decode speed as a fraction of it, measured in the same run.
 *
 * <p>Measured so that it cannot come out low by accident, which made an earlier run report 1.6 GB/s while decoding
 * streamed 16 GB/s (decode "9.88 of the limit"): its first timed passes ran before the JIT had compiled the loop. Here
 * every pattern is compiled on a small slice first, then timed over a buffer far larger than the caches, several
 * times; each pattern's median counts, and the limit is the best of them:
 *
 * <ul>
 *   <li>{@code stream}: each thread sums its contiguous share with SIMD loads, four accumulators;
 *   <li>{@code rows}: each thread reads four streams of its share at once, as a four-row matrix-vector kernel does;
 *   <li>{@code copy}: each thread copies its share through a small buffer in L1 (the JDK's memcpy).
 * </ul>
 */
public final class MemoryBandwidth implements AutoCloseable {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int STEP = SPECIES.vectorByteSize();
  private static final long WARM_SLICE = 1 << 22;

  /** One measurement: each pattern's median GB/s and the best of them. */
  public record Result(double bestGbs, String bestPattern, Map<String, Double> medianGbs, int repetitions,
      int threads) {}

  /** A way of reading [from, to) of the buffer on one thread; returns something the JIT cannot drop. */
  @FunctionalInterface
  private interface Pattern {
    float read(MemorySegment segment, long from, long to, MemorySegment scratch);
  }

  private static final Map<String, Pattern> PATTERNS = new LinkedHashMap<>();

  static {
    PATTERNS.put("stream", MemoryBandwidth::stream);
    PATTERNS.put("rows", MemoryBandwidth::rows);
    PATTERNS.put("copy", MemoryBandwidth::copy);
  }

  private final Arena arena = Arena.ofShared();
  private final MemorySegment buffer;
  private final MemorySegment[] scratch;
  private final int threads;
  private final ExecutorService pool;

  public MemoryBandwidth(long bytes, int threads) {
    this.buffer = arena.allocate(bytes, 64);
    this.threads = threads;
    this.pool = Executors.newFixedThreadPool(threads);
    this.scratch = new MemorySegment[threads];
    for (int t = 0; t < threads; t++) {
      scratch[t] = arena.allocate(16 * 1024, 64);
    }
    buffer.fill((byte) 1); // touch every page: no lazy zero pages
  }

  public long bytes() {
    return buffer.byteSize();
  }

  /** Each pattern compiled, then timed {@code repetitions} times over the whole buffer on every thread. */
  public Result measure(int repetitions) throws Exception {
    Map<String, Double> medians = new LinkedHashMap<>();
    String best = null;
    for (var p : PATTERNS.entrySet()) {
      for (int i = 0; i < 300; i++) { // compiled before anything is timed
        p.getValue().read(buffer, 0, WARM_SLICE, scratch[0]);
      }
      readAll(p.getValue());
      double[] gbs = new double[repetitions];
      for (int r = 0; r < repetitions; r++) {
        long t0 = System.nanoTime();
        readAll(p.getValue());
        gbs[r] = buffer.byteSize() / ((System.nanoTime() - t0) / 1e9) / 1e9;
      }
      Arrays.sort(gbs);
      medians.put(p.getKey(), gbs[repetitions / 2]);
      if (best == null || gbs[repetitions / 2] > medians.get(best)) {
        best = p.getKey();
      }
    }
    return new Result(medians.get(best), best, medians, repetitions, threads);
  }

  /** One full read of the buffer by all threads with the "stream" pattern (the JMH benchmark's body). */
  public float readOnce() throws Exception {
    return readAll(PATTERNS.get("stream"));
  }

  private float readAll(Pattern pattern) throws Exception {
    long share = buffer.byteSize() / threads / (4L * STEP) * (4L * STEP);
    @SuppressWarnings("unchecked")
    Future<Float>[] parts = new Future[threads];
    for (int t = 0; t < threads; t++) {
      long from = t * share;
      MemorySegment own = scratch[t];
      parts[t] = pool.submit(() -> pattern.read(buffer, from, from + share, own));
    }
    float total = 0;
    for (Future<Float> f : parts) {
      total += f.get();
    }
    return total;
  }

  private static FloatVector load(MemorySegment s, long offset) {
    return FloatVector.fromMemorySegment(SPECIES, s, offset, ByteOrder.nativeOrder());
  }

  private static float stream(MemorySegment segment, long from, long to, MemorySegment scratch) {
    FloatVector a = FloatVector.zero(SPECIES);
    FloatVector b = a;
    FloatVector c = a;
    FloatVector d = a;
    for (long i = from; i + 4L * STEP <= to; i += 4L * STEP) {
      a = a.add(load(segment, i));
      b = b.add(load(segment, i + STEP));
      c = c.add(load(segment, i + 2L * STEP));
      d = d.add(load(segment, i + 3L * STEP));
    }
    return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
  }

  private static float rows(MemorySegment segment, long from, long to, MemorySegment scratch) {
    long quarter = (to - from) / 4 / STEP * STEP;
    FloatVector a = FloatVector.zero(SPECIES);
    FloatVector b = a;
    FloatVector c = a;
    FloatVector d = a;
    for (long i = 0; i < quarter; i += STEP) {
      a = a.add(load(segment, from + i));
      b = b.add(load(segment, from + quarter + i));
      c = c.add(load(segment, from + 2 * quarter + i));
      d = d.add(load(segment, from + 3 * quarter + i));
    }
    return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
  }

  private static float copy(MemorySegment segment, long from, long to, MemorySegment scratch) {
    long block = scratch.byteSize();
    for (long i = from; i + block <= to; i += block) {
      MemorySegment.copy(segment, i, scratch, 0, block);
    }
    return scratch.get(ValueLayout.JAVA_FLOAT, 0);
  }

  @Override
  public void close() {
    pool.shutdownNow();
    arena.close();
  }
}
