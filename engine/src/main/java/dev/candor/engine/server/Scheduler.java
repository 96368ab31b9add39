package dev.candor.engine.server;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs jobs one at a time on a single worker thread, from a bounded queue: a full queue is a 429, not a pile-up. One
 * worker because a decode step already uses every core; jobs that were cancelled while they waited are skipped.
 */
final class Scheduler implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

  /** A unit of work with a cancel flag its body polls. */
  abstract static class Job {
    volatile boolean cancelled;
    final String requestId;

    Job(String requestId) {
      this.requestId = requestId;
    }

    abstract void run();

    /** Called instead of {@link #run} when the job is dropped (cancelled while queued, or at shutdown). */
    abstract void abandon(String why);

    void cancel() {
      cancelled = true;
    }
  }

  private final BlockingQueue<Job> queue;
  private final Thread worker;
  private final AtomicInteger running = new AtomicInteger();
  private volatile boolean stopping;
  private volatile java.util.function.Consumer<String> onAbandon = why -> { };

  Scheduler(int capacity) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.worker = Thread.ofPlatform().name("candor-worker").daemon(true).start(this::loop);
  }

  /** Queues a job, or fails with 429 when the queue is full (503 when shutting down). */
  void submit(Job job) {
    if (stopping) {
      throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
    }
    if (!queue.offer(job)) {
      throw new ApiException(429, "rate_limit_error", null, "queue_full",
          "the server is busy: " + queue.size() + " requests are already queued; retry later");
    }
  }

  /** Tells {@code listener} why each dropped job was dropped (for the server's metrics). */
  void onAbandon(java.util.function.Consumer<String> listener) {
    this.onAbandon = listener;
  }

  private void abandon(Job job, String why) {
    onAbandon.accept(why);
    job.abandon(why);
  }

  int queued() {
    return queue.size();
  }

  int running() {
    return running.get();
  }

  private void loop() {
    while (!stopping || !queue.isEmpty()) {
      Job job;
      try {
        job = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (job == null) {
        continue;
      }
      if (job.cancelled) {
        abandon(job, "cancelled while queued");
        continue;
      }
      running.incrementAndGet();
      try {
        job.run();
      } catch (Throwable t) {
        LOG.error("request {}: job failed", job.requestId, t);
        abandon(job, "internal error");
      } finally {
        running.decrementAndGet();
      }
    }
    Job left;
    while ((left = queue.poll()) != null) {
      abandon(left, "server shutting down");
    }
  }

  /**
   * Stops taking jobs; lets queued and running ones finish for up to {@code graceMillis}, then cancels what is left.
   */
  void shutdown(long graceMillis) {
    stopping = true;
    try {
      worker.join(graceMillis);
      if (worker.isAlive()) {
        queue.forEach(Job::cancel);
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
    queue.forEach(Job::cancel);
    shutdown(0);
  }

  boolean cancelRunning(Job job) {
    job.cancel();
    return true;
  }
}
