package dev.candor.engine.server;

import dev.candor.engine.generate.FinishReason;
import dev.candor.engine.generate.Generator;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching on one engine thread: every request is a job of sessions (one per choice), and the engine steps
 * all admitted sessions together ({@link Generator#step}: one batched target forward a step, prefill in chunks). A
 * request joins the batch at the next step and each of its sessions leaves when it is done; sessions are admitted a
 * job at a time in turn (so a request with 128 choices cannot keep a short one out), up to {@code maxBatch} at once
 * and within the KV-cache budget. Beyond {@code maxQueue} requests waiting to start, a request gets 429, not a
 * pile-up. Jobs cancelled while they wait are dropped, not run; a cancelled or timed-out session ends at its next
 * step.
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

  /** A request: sessions opened one at a time, each reported back when it finishes. */
  abstract static class Job {
    volatile boolean cancelled;
    final String requestId;
    private int open; // sessions in the batch now (engine thread only)
    private boolean started; // a session was opened

    Job(String requestId) {
      this.requestId = requestId;
    }

    /** Whether sessions remain to be opened. */
    abstract boolean hasNextSession();

    /** Whether the next session may open now (it may wait for a sibling's prefill to reuse its prefix). */
    boolean nextSessionReady() {
      return true;
    }

    /** KV-cache bytes the next session will hold. */
    abstract long nextSessionBytes();

    /** Opens the next session (its caches allocated); may throw, which fails the job. */
    abstract Generator.Session nextSession();

    /** A session of this job finished (its result is final); the job reports it, and its end once all are done. */
    abstract void finished(Generator.Session session);

    /** Called instead of the rest when the job is dropped: its open sessions are closed by the scheduler. */
    abstract void drop(DropReason why);

    void cancel() {
      cancelled = true;
    }
  }

  /** A session in the batch, with its job and the bytes it holds. */
  private record Member(Generator.Session session, Job job, long bytes) {}

  private final Generator generator;
  private final int maxQueue;
  private final int maxBatch;
  private final long kvBudgetBytes;
  private final int prefillChunk;
  private final LinkedBlockingDeque<Job> waiting = new LinkedBlockingDeque<>(); // sessions left to open
  private final AtomicInteger notStarted = new AtomicInteger(); // jobs in waiting that opened nothing yet
  private final AtomicInteger runningJobs = new AtomicInteger();
  private final AtomicInteger batchSize = new AtomicInteger();
  private final List<Member> batch = new ArrayList<>(); // engine thread only
  private final Thread engine;
  private long kvBytes; // held by the batch (engine thread only)
  private volatile boolean stopping;
  private volatile boolean hardStop;
  private volatile Consumer<DropReason> onDrop = why -> { };

  Scheduler(Generator generator, int maxQueue, int maxBatch, long kvBudgetBytes, int prefillChunk) {
    this.generator = generator;
    this.maxQueue = maxQueue;
    this.maxBatch = maxBatch;
    this.kvBudgetBytes = kvBudgetBytes;
    this.prefillChunk = prefillChunk;
    this.engine = Thread.ofPlatform().name("candor-engine").daemon(true).start(this::loop);
  }

  /** Admits a job, or fails with 429 when maxQueue requests already wait to start (503 when shutting down). */
  void submit(Job job) {
    if (stopping) {
      throw shuttingDown();
    }
    if (job.hasNextSession() && job.nextSessionBytes() > kvBudgetBytes) {
      throw ApiException.invalid("max_tokens", "request_too_large", "one choice of this request needs "
          + job.nextSessionBytes() / (1024 * 1024) + " MB of KV cache; the server holds at most "
          + kvBudgetBytes / (1024 * 1024) + " MB (--kv-cache-mb): lower max_tokens or the prompt");
    }
    if (notStarted.incrementAndGet() > maxQueue) {
      notStarted.decrementAndGet();
      throw new ApiException(429, ErrorType.RATE_LIMIT, null, "queue_full",
          "the server is busy: " + maxQueue + " requests are already waiting; retry later");
    }
    waiting.addLast(job);
  }

  static ApiException shuttingDown() {
    return ApiException.server(503, "shutting_down", "the server is shutting down");
  }

  /** Tells {@code listener} why each dropped job was dropped (for the server's metrics). */
  void onDrop(Consumer<DropReason> listener) {
    this.onDrop = listener;
  }

  /** Requests waiting to start. */
  int queued() {
    return notStarted.get();
  }

  /** Requests with sessions in the batch. */
  int running() {
    return runningJobs.get();
  }

  /** Sessions in the batch. */
  int batchSize() {
    return batchSize.get();
  }

  private void loop() {
    while (!hardStop && (!stopping || !waiting.isEmpty() || !batch.isEmpty())) {
      admit();
      if (batch.isEmpty()) {
        try {
          Job next = waiting.pollFirst(100, TimeUnit.MILLISECONDS);
          if (next != null) {
            waiting.addFirst(next);
          }
        } catch (InterruptedException e) {
          break;
        }
        continue;
      }
      step();
    }
    for (Member m : new ArrayList<>(batch)) {
      m.session().cancel(FinishReason.CANCELLED);
    }
    reap();
    for (Job left; (left = waiting.poll()) != null; ) {
      drop(left, DropReason.SHUTDOWN);
    }
  }

  /**
   * Sessions of the waiting jobs in turn, while the batch has room and the KV budget allows: the job at the head opens
   * one session and, if it has more, goes to the back. The head waits for memory rather than letting others pass it
   * (first come, first served), unless the batch is empty.
   */
  private void admit() {
    int notReady = 0; // jobs passed over in a row because their next session must wait
    while (batch.size() < maxBatch && notReady < waiting.size()) {
      Job job = waiting.peekFirst();
      if (job == null) {
        return;
      }
      if (job.cancelled) {
        drop(job, DropReason.CANCELLED_WHILE_QUEUED);
        continue;
      }
      if (!job.nextSessionReady()) {
        waiting.remove(job);
        waiting.addLast(job);
        notReady++;
        continue;
      }
      notReady = 0;
      long bytes = job.nextSessionBytes();
      if (kvBytes + bytes > kvBudgetBytes && !batch.isEmpty()) {
        return; // waits for memory to free up
      }
      if (!open(job, bytes)) {
        continue; // dropped
      }
      waiting.remove(job);
      if (job.hasNextSession()) {
        waiting.addLast(job);
      }
    }
  }

  /** Opens the job's next session into the batch; false when opening failed (the job is then dropped). */
  private boolean open(Job job, long bytes) {
    if (!job.started) {
      job.started = true;
      notStarted.decrementAndGet();
      runningJobs.incrementAndGet();
    }
    Generator.Session session;
    try {
      session = job.nextSession();
    } catch (Throwable t) {
      LOG.error("request {}: job failed", job.requestId, t);
      drop(job, DropReason.MODEL_FAILURE);
      return false;
    }
    job.open++;
    batch.add(new Member(session, job, bytes));
    kvBytes += bytes;
    batchSize.set(batch.size());
    return true;
  }

  private void step() {
    List<Generator.Session> sessions = new ArrayList<>(batch.size());
    batch.forEach(m -> sessions.add(m.session()));
    try {
      generator.step(sessions, prefillChunk);
    } catch (Throwable t) {
      LOG.error("a batched step of {} sessions failed", sessions.size(), t);
      Map<Job, Boolean> jobs = new LinkedHashMap<>();
      batch.forEach(m -> jobs.put(m.job(), true));
      jobs.keySet().forEach(job -> drop(job, DropReason.MODEL_FAILURE));
      return;
    }
    reap();
  }

  /** Finished sessions leave the batch; their jobs report them. */
  private void reap() {
    for (Iterator<Member> it = batch.iterator(); it.hasNext(); ) {
      Member m = it.next();
      if (!m.session().finished()) {
        continue;
      }
      it.remove();
      kvBytes -= m.bytes();
      m.session().close();
      m.job().open--;
      m.job().finished(m.session());
      if (m.job().open == 0 && !m.job().hasNextSession()) {
        runningJobs.decrementAndGet();
      }
    }
    batchSize.set(batch.size());
  }

  /** Drops a job: its sessions leave the batch closed, its client is told why. */
  private void drop(Job job, DropReason why) {
    boolean wasStarted = job.started;
    waiting.remove(job);
    for (Iterator<Member> it = batch.iterator(); it.hasNext(); ) {
      Member m = it.next();
      if (m.job() == job) {
        it.remove();
        kvBytes -= m.bytes();
        m.session().close();
      }
    }
    batchSize.set(batch.size());
    if (!wasStarted) {
      notStarted.decrementAndGet();
    } else {
      runningJobs.decrementAndGet();
    }
    job.started = true;
    job.open = 0;
    onDrop.accept(why);
    job.drop(why);
  }

  /** Whether {@link #shutdown} has begun: new work is refused. */
  boolean stopping() {
    return stopping;
  }

  /**
   * Stops taking jobs; lets admitted ones finish for up to {@code graceMillis}, then cancels what is left (their
   * sessions end with what they have, their clients get the end of their streams).
   */
  void shutdown(long graceMillis) {
    stopping = true;
    try {
      engine.join(graceMillis);
      if (engine.isAlive()) {
        waiting.forEach(Job::cancel);
        hardStop = true;
        engine.join(5000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops at once. */
  @Override
  public void close() {
    waiting.forEach(Job::cancel);
    shutdown(0);
  }
}
