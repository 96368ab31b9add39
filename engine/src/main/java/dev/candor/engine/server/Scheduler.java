package dev.candor.engine.server;

import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs jobs on one worker thread (a decode step already uses every core), fairly: a job is a series of units (one
 * generated choice each), and the worker takes one unit from the job at the head of a ring, then puts the job back at
 * the tail. A request with 16 prompts × 8 choices therefore delays a short one by at most one choice, not by all 128.
 * Admission is bounded: beyond one running and {@code maxQueue} waiting jobs a request gets 429, not a pile-up. Jobs
 * cancelled while they wait are dropped, not run.
 */
final class Scheduler implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

  /** Why a job was dropped instead of run to its end. */
  enum DropReason {
    CANCELLED_WHILE_QUEUED("cancelled_while_queued"),
    MODEL_FAILURE("model_error"),
    SHUTDOWN("shutdown");

    /** The metric label. */
    final String label;

    DropReason(String label) {
      this.label = label;
    }
  }

  /** A unit of work with a cancel flag its body polls. */
  abstract static class Job {
    volatile boolean cancelled;
    final String requestId;

    Job(String requestId) {
      this.requestId = requestId;
    }

    /** Runs the next unit; returns whether units remain. */
    abstract boolean runUnit();

    /** Called instead of (the rest of) the units when the job is dropped. */
    abstract void drop(DropReason why);

    void cancel() {
      cancelled = true;
    }
  }

  private final int maxQueue;
  private final LinkedBlockingDeque<Job> ring = new LinkedBlockingDeque<>();
  private final AtomicInteger admitted = new AtomicInteger(); // waiting + running
  private final AtomicInteger running = new AtomicInteger();
  private final Thread worker;
  private volatile Job current; // the job whose unit is running, or null
  private volatile boolean stopping;
  private volatile Consumer<DropReason> onDrop = why -> { };

  Scheduler(int maxQueue) {
    this.maxQueue = maxQueue;
    this.worker = Thread.ofPlatform().name("candor-worker").daemon(true).start(this::loop);
  }

  /** Admits a job, or fails with 429 when one is running and maxQueue are waiting (503 when shutting down). */
  void submit(Job job) {
    if (stopping) {
      throw shuttingDown();
    }
    if (admitted.incrementAndGet() > maxQueue + 1) {
      admitted.decrementAndGet();
      throw new ApiException(429, ErrorType.RATE_LIMIT, null, "queue_full",
          "the server is busy: " + maxQueue + " requests are already waiting; retry later");
    }
    ring.addLast(job);
  }

  static ApiException shuttingDown() {
    return ApiException.server(503, "shutting_down", "the server is shutting down");
  }

  /** Tells {@code listener} why each dropped job was dropped (for the server's metrics). */
  void onDrop(Consumer<DropReason> listener) {
    this.onDrop = listener;
  }

  int queued() {
    return ring.size();
  }

  int running() {
    return running.get();
  }

  private void loop() {
    while (!stopping || !ring.isEmpty()) {
      Job job;
      try {
        job = ring.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (job != null) {
        runOneUnit(job);
      }
    }
    for (Job left; (left = ring.poll()) != null; ) {
      drop(left, DropReason.SHUTDOWN);
    }
  }

  private void runOneUnit(Job job) {
    if (job.cancelled) {
      drop(job, DropReason.CANCELLED_WHILE_QUEUED);
      return;
    }
    running.incrementAndGet();
    current = job;
    boolean more;
    try {
      more = job.runUnit();
    } catch (Throwable t) {
      LOG.error("request {}: job failed", job.requestId, t);
      drop(job, DropReason.MODEL_FAILURE);
      return;
    } finally {
      current = null;
      running.decrementAndGet();
    }
    if (more && !job.cancelled) {
      ring.addLast(job);
    } else {
      admitted.decrementAndGet();
    }
  }

  private void drop(Job job, DropReason why) {
    admitted.decrementAndGet();
    onDrop.accept(why);
    job.drop(why);
  }

  /** Whether {@link #shutdown} has begun: new work is refused. */
  boolean stopping() {
    return stopping;
  }

  /**
   * Stops taking jobs; lets admitted ones finish for up to {@code graceMillis}, then cancels what is left (their
   * clients get a 503 event, or the end of their stream).
   */
  void shutdown(long graceMillis) {
    stopping = true;
    try {
      worker.join(graceMillis);
      if (worker.isAlive()) {
        ring.forEach(Job::cancel);
        Job now = current;
        if (now != null) {
          now.cancel();
        }
        worker.interrupt();
        worker.join(5000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops at once, cancelling queued work. */
  @Override
  public void close() {
    ring.forEach(Job::cancel);
    shutdown(0);
  }
}
