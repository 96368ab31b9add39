package dev.candor.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's streaming read bandwidth: every core sums its share of a buffer far larger than the caches, with SIMD
 * loads. A decode step reads every weight once, so bytes-per-token over this bandwidth is the fastest a decode step can
 * be; Candor reports decode speed as a fraction of it, measured in the same run.
 */
public final class MemoryBandwidth implements AutoCloseable {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  private final Arena arena = Arena.ofShared();
  private final MemorySegment buffer;
  private final int threads;
  private final ExecutorService pool;

  public MemoryBandwidth(long bytes, int threads) {
    this.buffer = arena.allocate(bytes, 64);
    this.threads = threads;
    this.pool = Executors.newFixedThreadPool(threads);
    for (long i = 0; i < bytes; i += 4) {
      buffer.set(ValueLayout.JAVA_FLOAT, i, (i % 1024) * 1e-3f); // touch every page: no lazy zero pages
    }
  }

  public long bytes() {
    return buffer.byteSize();
  }

  /** One full read of the buffer by all threads; returns the sum so the JIT cannot drop it. */
  public float readOnce() throws Exception {
    long share = buffer.byteSize() / threads / SPECIES.vectorByteSize() * SPECIES.vectorByteSize();
    @SuppressWarnings("unchecked")
    Future<Float>[] parts = new Future[threads];
    for (int t = 0; t < threads; t++) {
      long from = t * share;
      parts[t] = pool.submit(() -> sum(buffer, from, from + share));
    }
    float total = 0;
    for (Future<Float> f : parts) {
      total += f.get();
    }
    return total;
  }

  private static float sum(MemorySegment segment, long from, long to) {
    int step = SPECIES.vectorByteSize();
    FloatVector a = FloatVector.zero(SPECIES);
    FloatVector b = FloatVector.zero(SPECIES);
    FloatVector c = FloatVector.zero(SPECIES);
    FloatVector d = FloatVector.zero(SPECIES);
    long i = from;
    for (; i + 4L * step <= to; i += 4L * step) {
      a = a.add(FloatVector.fromMemorySegment(SPECIES, segment, i, ByteOrder.nativeOrder()));
      b = b.add(FloatVector.fromMemorySegment(SPECIES, segment, i + step, ByteOrder.nativeOrder()));
      c = c.add(FloatVector.fromMemorySegment(SPECIES, segment, i + 2L * step, ByteOrder.nativeOrder()));
      d = d.add(FloatVector.fromMemorySegment(SPECIES, segment, i + 3L * step, ByteOrder.nativeOrder()));
    }
    return a.add(b).add(c).add(d).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
  }

  @Override
  public void close() {
    pool.shutdownNow();
    arena.close();
  }
}
