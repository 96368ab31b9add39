package dev.candor.engine.cpu;

import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.sampling.LogitSummary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Java backend's forward pass, as llama2.c writes it, over the rows of one sequence or of several: a batch's
 * decode steps, k + 1-token verifications and prefill chunks are laid end to end and go through the layers in chunks
 * of up to {@link JavaBackend#CHUNK} rows, so every projection is one {@link Gemm} call for all of them and each
 * weight is read once per chunk, not once per sequence. Only attention and the KV cache are per sequence: each
 * sequence's rows attend over its own cache from its own position ({@link JavaSequence#attend}).
 *
 * <p>A row's result does not depend on the rows beside it: every product element is one row of W against one row of
 * x in a fixed order ({@link Gemm}), attention of a query does not depend on the other queries of its call
 * ({@link Attention}), norms, RoPE and SwiGLU are per row. So an entry run in a batch gives, bit for bit, what it
 * gives alone, however the chunks cut it (BatchedForwardTest).
 *
 * <p>The run state (llama2.c's RunState) is allocated once per backend; {@link JavaBackend} runs one pass at a time.
 */
final class ForwardPass {
  private final JavaBackend backend;
  private final Qwen2Config c;
  private final int hidden, heads, kvHeads, qDim, kvDim, inter;
  // run state for a chunk of up to CHUNK rows, of one sequence or several
  private final float[] x; // [chunk, hidden]: the residual stream
  private final float[] h; // [chunk, hidden]: its normed copy, the input of a projection
  private final float[] q; // [chunk, heads * headDim]
  private final float[] k; // [chunk, kvHeads * headDim]
  private final float[] v; // [chunk, kvHeads * headDim]
  private final float[] att; // [chunk, heads * headDim]: attention output
  private final float[] gate; // [chunk, intermediate]; SwiGLU's output afterwards
  private final float[] up; // [chunk, intermediate]
  private final float[] last; // [chunk, hidden]: the rows whose logits are asked for, gathered

  /**
   * One sequence's rows in a chunk: rows [row, row + count) of the run state are its tokens [token, token + count),
   * at positions sequence.length() ..
   */
  private record Piece(int entry, JavaSequence sequence, int row, int token, int count) {}

  /** What an entry gets back, filled as its pieces pass: logits rows, taps [taps.length][n][hidden]. */
  private record Out(float[][] logits, float[][][] taps) {}

  ForwardPass(JavaBackend backend) {
    this.backend = backend;
    this.c = backend.c();
    hidden = c.hiddenSize();
    heads = c.numAttentionHeads();
    kvHeads = c.numKeyValueHeads();
    qDim = heads * c.headDim();
    kvDim = kvHeads * c.headDim();
    inter = c.intermediateSize();
    int chunk = JavaBackend.CHUNK;
    x = new float[chunk * hidden];
    h = new float[chunk * hidden];
    q = new float[chunk * qDim];
    k = new float[chunk * kvDim];
    v = new float[chunk * kvDim];
    att = new float[chunk * qDim];
    gate = new float[chunk * inter];
    up = new float[chunk * inter];
    last = new float[chunk * hidden];
  }

  /** Every entry's tokens through the model, in chunks of rows taken from the entries in order; checked already. */
  List<Forward> run(List<BatchEntry> batch) {
    Out[] outs = new Out[batch.size()];
    for (int e = 0; e < outs.length; e++) {
      BatchEntry entry = batch.get(e);
      outs[e] = new Out(new float[entry.numRows()][], new float[entry.taps().length][entry.tokens().length][]);
    }
    List<Piece> pieces = new ArrayList<>();
    int e = 0;
    int token = 0; // entry e's next token
    while (e < batch.size()) {
      pieces.clear();
      int rows = 0;
      while (rows < JavaBackend.CHUNK && e < batch.size()) {
        BatchEntry entry = batch.get(e);
        int count = Math.min(JavaBackend.CHUNK - rows, entry.tokens().length - token);
        pieces.add(new Piece(e, (JavaSequence) entry.sequence(), rows, token, count));
        rows += count;
        token += count;
        if (token == entry.tokens().length) {
          e++;
          token = 0;
        }
      }
      chunk(batch, pieces, rows, outs);
    }
    List<Forward> forwards = new ArrayList<>(outs.length);
    for (int i = 0; i < outs.length; i++) {
      forwards.add(batch.get(i).summaries() ? new Forward(null, outs[i].taps(), summaries(outs[i].logits()))
          : new Forward(outs[i].logits(), outs[i].taps()));
    }
    return forwards;
  }

  /** Each row as a {@link LogitSummary}, as {@link dev.candor.engine.model.Sequence#forwardSummaries} makes them. */
  private static LogitSummary[] summaries(float[][] logits) {
    LogitSummary[] out = new LogitSummary[logits.length];
    for (int i = 0; i < logits.length; i++) {
      out[i] = LogitSummary.of(logits[i]);
    }
    return out;
  }

  /** One chunk of n rows through the model: the pieces' caches grow by their rows, their outputs are filled in. */
  private void chunk(List<BatchEntry> batch, List<Piece> pieces, int n, Out[] outs) {
    CpuWeights w = backend.weights();

    // token embedding: x [n, hidden]
    for (Piece p : pieces) {
      int[] tokens = batch.get(p.entry()).tokens();
      for (int t = 0; t < p.count(); t++) {
        w.embedTokens().row(tokens[p.token() + t], x, (p.row() + t) * hidden);
      }
    }
    capture(0, batch, pieces, outs);

    for (int l = 0; l < w.layers().size(); l++) {
      CpuWeights.Layer layer = w.layers().get(l);
      attention(layer, l, pieces, n);
      mlp(layer, n);
      if (l + 1 < w.layers().size()) {
        capture(l + 1, batch, pieces, outs);
      }
    }

    // final rmsnorm (Hugging Face's last hidden state is taken after it)
    backend.rmsNorm(x, x, n, w.norm());
    capture(w.layers().size(), batch, pieces, outs);

    logits(batch, pieces, outs);
    for (Piece p : pieces) {
      p.sequence().advance(p.count());
    }
  }

  /** The attention half of a decoder layer, residual connection included. */
  private void attention(CpuWeights.Layer layer, int l, List<Piece> pieces, int n) {
    Gemm gemm = backend.gemm();

    // attention rmsnorm
    backend.rmsNorm(h, x, n, layer.inputLayernorm());

    // q, k, v projections, with bias where the model has it (Qwen2), in one parallel region
    gemm.run(h, n, new Gemm.Product(layer.qProj(), layer.qProjBias(), q, false),
        new Gemm.Product(layer.kProj(), layer.kProjBias(), k, false),
        new Gemm.Product(layer.vProj(), layer.vProjBias(), v, false));

    // Qwen3: an RMSNorm on each head of q and k ([n * heads, headDim] rows), before the rotation
    if (layer.qNorm() != null) {
      backend.rmsNorm(q, q, n * heads, layer.qNorm());
      backend.rmsNorm(k, k, n * kvHeads, layer.kNorm());
    }

    // rotary position embedding on q and k, then k and v into each row's own sequence's cache
    for (Piece p : pieces) {
      for (int t = p.row(); t < p.row() + p.count(); t++) {
        int pos = p.sequence().length() + t - p.row();
        backend.rope(q, t * qDim, heads, pos);
        backend.rope(k, t * kvDim, kvHeads, pos);
        p.sequence().store(l, k, v, t, pos);
      }
    }

    // grouped-query attention over positions 0 .. pos, in tiles, each sequence over its own cache
    for (Piece p : pieces) {
      p.sequence().attend(l, q, p.row(), p.count(), att);
    }

    // output projection, added to the residual stream
    gemm.run(att, n, new Gemm.Product(layer.oProj(), null, x, true));
  }

  /** The MLP half: rmsnorm, SwiGLU down(silu(gate(h)) · up(h)), residual connection. */
  private void mlp(CpuWeights.Layer layer, int n) {
    Gemm gemm = backend.gemm();

    // mlp rmsnorm
    backend.rmsNorm(h, x, n, layer.postAttentionLayernorm());

    // gate and up projections in one parallel region, then silu(gate) · up into gate
    gemm.run(h, n, new Gemm.Product(layer.gateProj(), null, gate, false),
        new Gemm.Product(layer.upProj(), null, up, false));
    Vectors.swiglu(gate, up, gate, 0, n * inter);

    // down projection, added to the residual stream
    gemm.run(gate, n, new Gemm.Product(layer.downProj(), null, x, true));
  }

  /**
   * The logits of every row of the chunk that is among its entry's last numRows, in one product with the lm_head:
   * the rows gathered into {@code last} [m, hidden], the result [m, vocab] split into the entries' rows.
   */
  private void logits(List<BatchEntry> batch, List<Piece> pieces, Out[] outs) {
    int m = 0;
    for (Piece p : pieces) {
      int first = firstLogitToken(batch.get(p.entry()), p);
      for (int t = first; t < p.token() + p.count(); t++) {
        System.arraycopy(x, (p.row() + t - p.token()) * hidden, last, m++ * hidden, hidden);
      }
    }
    if (m == 0) {
      return;
    }
    Matrix head = backend.weights().lmHead();
    float[] rows = new float[m * head.rows];
    backend.gemm().run(last, m, new Gemm.Product(head, null, rows, false));
    int r = 0;
    for (Piece p : pieces) {
      BatchEntry entry = batch.get(p.entry());
      int firstRow = entry.tokens().length - entry.numRows(); // the token whose logits are row 0
      for (int t = firstLogitToken(entry, p); t < p.token() + p.count(); t++, r++) {
        outs[p.entry()].logits()[t - firstRow] = m == 1 ? rows : Arrays.copyOfRange(rows, r * head.rows,
            (r + 1) * head.rows);
      }
    }
  }

  /** The first of the piece's tokens whose logits the entry asks for (past the piece's end if none). */
  private static int firstLogitToken(BatchEntry entry, Piece p) {
    return Math.max(p.token(), entry.tokens().length - entry.numRows());
  }

  /** x's rows into the taps that ask for hidden state {@code index}. */
  private void capture(int index, List<BatchEntry> batch, List<Piece> pieces, Out[] outs) {
    for (Piece p : pieces) {
      int[] taps = batch.get(p.entry()).taps();
      for (int i = 0; i < taps.length; i++) {
        if (taps[i] == index) {
          for (int t = 0; t < p.count(); t++) {
            int row = p.row() + t;
            outs[p.entry()].taps()[i][p.token() + t] = Arrays.copyOfRange(x, row * hidden, (row + 1) * hidden);
          }
        }
      }
    }
  }
}
