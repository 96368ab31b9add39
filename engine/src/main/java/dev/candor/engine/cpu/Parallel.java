package dev.candor.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The Java backend's threads: a fixed pool that runs one parallel region at a time, the calling thread included. A
 * decode step of a Qwen2.5-0.5B has about a hundred regions (four a layer), each a few hundred microseconds, so a
 * region must start in microseconds: workers spin briefly for the next one, then park.
 *
 * <p>A region is done when its chunks are, not when every thread has checked in: chunks are handed out from one
 * counter, so a thread the OS has descheduled (this machine is shared) simply takes none, where a barrier would hold
 * everyone until it runs again (llama.cpp's OpenMP barriers lose whole time slices that way, see
 * bench/peer/README.md). The counter carries the region's number in its high half, so a late thread can never take a
 * chunk of a region it did not read.
 *
 * <p>Which thread computes a chunk never changes the result: each output element is computed by one thread, in one
 * fixed order.
 */
final class Parallel implements AutoCloseable {
  /** What a region does with one chunk; {@code worker} (0 .. threads - 1) indexes per-thread scratch. */
  @FunctionalInterface
  interface Body {
    void run(int chunk, int worker);
  }

  /** Spins before a worker parks: tens of µs, longer than the gap between a step's regions, far shorter than a slice. */
  private static final int SPINS = 1 << 14;

  /** One parallel region: its body, its chunk count, the chunks finished, the first failure. */
  private record Region(long id, Body body, int chunks, AtomicInteger done, Thread caller, Throwable[] failure) {}

  private final int threads;
  private final Thread[] workers;
  /** (region id << 32) | next chunk index. */
  private final AtomicLong cursor = new AtomicLong();
  private volatile Region region;
  private volatile boolean closed;
  private long regions;

  Parallel(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.threads = threads;
    this.workers = new Thread[threads - 1];
    for (int i = 0; i < workers.length; i++) {
      int worker = i + 1;
      workers[i] = Thread.ofPlatform().daemon().name("candor-cpu-" + worker).unstarted(() -> work(worker));
      workers[i].start();
    }
  }

  int threads() {
    return threads;
  }

  /** Runs {@code body} for chunks 0 .. chunks - 1 on every thread and returns when all of them are done. */
  synchronized void run(int chunks, Body body) {
    if (chunks <= 0) {
      return;
    }
    if (threads == 1 || chunks == 1) {
      for (int c = 0; c < chunks; c++) {
        body.run(c, 0);
      }
      return;
    }
    long id = ++regions & 0x7fff_ffffL;
    Region r = new Region(id, body, chunks, new AtomicInteger(), Thread.currentThread(), new Throwable[1]);
    cursor.set(id << 32);
    region = r;
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
    take(r, 0);
    while (r.done().get() < chunks) {
      LockSupport.park(this);
    }
    Throwable t;
    synchronized (r.failure()) {
      t = r.failure()[0];
    }
    if (t instanceof RuntimeException e) {
      throw e;
    } else if (t instanceof Error e) {
      throw e;
    } else if (t != null) {
      throw new IllegalStateException(t);
    }
  }

  /** Takes chunks of {@code r} until none is left (or {@code r} is no longer the current region). */
  private void take(Region r, int worker) {
    while (true) {
      long c = cursor.get();
      int chunk = (int) c;
      if ((c >>> 32) != r.id() || chunk >= r.chunks()) {
        return;
      }
      if (!cursor.compareAndSet(c, c + 1)) {
        continue;
      }
      try {
        r.body().run(chunk, worker);
      } catch (Throwable t) {
        synchronized (r.failure()) {
          if (r.failure()[0] == null) {
            r.failure()[0] = t;
          }
        }
      }
      if (r.done().incrementAndGet() == r.chunks()) {
        LockSupport.unpark(r.caller());
      }
    }
  }

  private void work(int worker) {
    Region seen = null;
    while (!closed) {
      Region r = region;
      for (int spin = 0; r == seen && spin < SPINS; spin++) {
        Thread.onSpinWait();
        r = region;
      }
      if (r == seen) {
        LockSupport.park(this);
        continue;
      }
      seen = r;
      take(r, worker);
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
  }
}
