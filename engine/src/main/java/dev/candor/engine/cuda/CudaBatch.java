package dev.candor.engine.cuda;

import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitSummary;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@link CudaBackend}'s batched forward ({@link dev.candor.engine.model.Backend#forward(List)}): the rows of several
 * sequences (decode steps, verify chunks, prefill chunks) through one pass of the kernels per
 * {@link CudaBackend#MAX_TOKENS} rows, so every weight is read once for all of them, each row attending over its own
 * sequence's cache up to its own position (candor.cu's {@code Row} and {@code RowCache} say whose and where). The
 * entries' rows are packed in entry order; an entry with more rows than a pass has left continues in the next, and a
 * long stretch that wants neither logits nor taps goes through the GEMM first, as it does alone.
 *
 * <p>Why a batch computes what its entries compute alone: every row runs the kernels it runs alone, whose sums do not
 * depend on how many rows share a launch (gemv_core's fixed lane order), with its own sequence's attention splits.
 * One batch at a time: the workspace and its graphs (one per batch shape, least recently used dropped) are shared.
 */
final class CudaBatch implements AutoCloseable {
  private static final int MAX_GRAPHS = 32;

  private final CudaBackend backend;
  private final Workspace work;

  /** One entry in flight: its sequence's memory, how far it has run, and what it returns. */
  private static final class Pending {
    final BatchEntry entry;
    final CudaBackend.CudaSequence memory;
    final int firstLogit; // tokens[firstLogit..] get a row back
    final float[][] logits; // [numRows][vocab], null when summarised
    final LogitSummary[] summaries; // [numRows], null when not
    final float[][][] taps; // [taps.length][tokens.length][hidden]
    int next; // tokens[next..] still to run

    Pending(BatchEntry entry, CudaBackend.CudaSequence memory) {
      this.entry = entry;
      this.memory = memory;
      int n = entry.tokens().length;
      firstLogit = n - entry.numRows();
      logits = entry.summaries() ? null : new float[entry.numRows()][];
      summaries = entry.summaries() ? new LogitSummary[entry.numRows()] : null;
      taps = new float[entry.taps().length][n][];
    }

    Forward result() {
      return new Forward(logits, taps, summaries);
    }
  }

  /** Rows from .. from + count - 1 of an entry's tokens, at rows row .. of a pass. */
  private record Part(Pending pending, int from, int count, int row) {}

  CudaBatch(CudaBackend backend, int splits) {
    this.backend = backend;
    this.work = new Workspace(backend, CudaBackend.MAX_TOKENS, splits, MAX_GRAPHS);
  }

  synchronized List<Forward> forward(List<BatchEntry> entries) {
    List<Pending> pending = admit(entries);
    if (pending.size() == 1) {
      return List.of(entries.getFirst().runAlone()); // its own workspace and graphs: nothing to share
    }
    for (Pending p : pending) {
      p.next = p.memory.gemmPrefix(p.entry.tokens(), p.entry.numRows(), p.entry.taps().length);
    }
    for (List<Part> pass = nextPass(pending); !pass.isEmpty(); pass = nextPass(pending)) {
      run(pass);
    }
    return pending.stream().map(Pending::result).toList();
  }

  /**
   * Every entry checked before anything runs, with the entry's index in the reason: a sequence of this backend, each
   * sequence once (two entries would write the same positions), and what {@link Sequence#checkForward} asks alone.
   */
  private List<Pending> admit(List<BatchEntry> entries) {
    List<Pending> out = new ArrayList<>(entries.size());
    Map<CudaBackend.CudaSequence, Integer> seen = new IdentityHashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      BatchEntry e = entries.get(i);
      if (e == null || e.sequence() == null || e.tokens() == null || e.taps() == null) {
        throw new IllegalArgumentException("entry " + i + " lacks its sequence, tokens or taps");
      }
      if (!(e.sequence() instanceof CudaBackend.PooledSequence s) || s.backend() != backend) {
        throw new IllegalArgumentException("entry " + i + ": a sequence of another backend");
      }
      CudaBackend.CudaSequence memory = s.memory(); // closed: IllegalStateException, as alone
      Integer other = seen.putIfAbsent(memory, i);
      if (other != null) {
        throw new IllegalArgumentException("entries " + other + " and " + i + " are the same sequence");
      }
      try {
        Sequence.checkForward(backend.c, memory.length(), s.capacity(), e.tokens(), e.numRows(), e.taps());
      } catch (IllegalArgumentException x) {
        throw new IllegalArgumentException("entry " + i + ": " + x.getMessage(), x);
      }
      out.add(new Pending(e, memory));
    }
    return out;
  }

  /** The next pass: up to MAX_TOKENS rows, taken from the entries in order. Empty when every row has run. */
  private static List<Part> nextPass(List<Pending> pending) {
    List<Part> parts = new ArrayList<>();
    int rows = 0;
    for (Pending p : pending) {
      int left = p.entry.tokens().length - p.next;
      if (left > 0 && rows < CudaBackend.MAX_TOKENS) {
        int m = Math.min(left, CudaBackend.MAX_TOKENS - rows);
        parts.add(new Part(p, p.next, m, rows));
        rows += m;
      }
    }
    return parts;
  }

  /** One pass: each row's token, position and cache uploaded, the shape's graph replayed, the results collected. */
  private void run(List<Part> parts) {
    int rows = 0, logitMask = 0;
    boolean summarise = false;
    TreeSet<Integer> taps = new TreeSet<>();
    int layers = backend.layers.length;
    for (Part part : parts) {
      Pending p = part.pending();
      CudaBackend.CudaSequence memory = p.memory;
      for (int t = 0; t < part.count(); t++) {
        int row = part.row() + t;
        work.setRow(row, p.entry.tokens()[part.from() + t], memory.length() + t, memory.splits());
        for (int l = 0; l < layers; l++) {
          work.setCache(l, row, memory.keys(l), memory.values(l));
        }
        if (part.from() + t >= p.firstLogit) {
          logitMask |= 1 << row;
          summarise |= p.entry.summaries();
        }
      }
      for (int tap : p.entry.taps()) {
        taps.add(tap);
      }
      rows += part.count();
    }
    work.upload(rows, true);
    Workspace.Shape shape = new Workspace.Shape(rows, logitMask, List.copyOf(taps), summarise);
    work.replay(shape);
    collectRows(parts, shape);
    collectTaps(parts, shape);
    if (logitMask == 0 && taps.isEmpty()) {
      backend.gpu.synchronize();
    }
    for (Part part : parts) {
      part.pending().memory.advance(part.count());
      part.pending().next += part.count();
    }
  }

  /** Each entry's logit rows of the pass (logit row i is the pass's i-th row that wants one), as it asked for them. */
  private void collectRows(List<Part> parts, Workspace.Shape shape) {
    boolean anyLogits = false;
    for (Part part : parts) {
      anyLogits |= !part.pending().entry.summaries();
    }
    if (shape.summarise()) {
      work.downloadSummaries(shape.logitRows());
    }
    if (anyLogits && shape.logitRows() > 0) {
      work.downloadLogits(shape.logitRows());
    }
    for (Part part : parts) {
      Pending p = part.pending();
      for (int t = 0; t < part.count(); t++) {
        int row = part.row() + t, index = part.from() + t - p.firstLogit;
        if (index < 0) {
          continue;
        }
        int logitRow = Integer.bitCount(shape.logitMask() & ((1 << row) - 1));
        if (p.entry.summaries()) {
          p.summaries[index] = work.summary(logitRow);
        } else {
          p.logits[index] = work.logitsRow(logitRow);
        }
      }
    }
  }

  /** Each entry's taps of its rows in the pass: every tapped state downloaded once for all rows. */
  private void collectTaps(List<Part> parts, Workspace.Shape shape) {
    for (int tap : shape.taps()) {
      float[][] rows = work.tapRows(tap, shape.rows());
      for (Part part : parts) {
        int[] asked = part.pending().entry.taps();
        for (int i = 0; i < asked.length; i++) {
          if (asked[i] == tap) {
            for (int t = 0; t < part.count(); t++) {
              part.pending().taps[i][part.from() + t] = rows[part.row() + t].clone();
            }
          }
        }
      }
    }
  }

  @Override
  public synchronized void close() {
    work.close();
  }
}
