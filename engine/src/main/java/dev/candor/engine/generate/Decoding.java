package dev.candor.engine.generate;

import dev.candor.engine.grammar.TokenAutomaton;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitAdjustments;
import dev.candor.engine.sampling.LogitSummary;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.TokenCounts;
import dev.candor.engine.sampling.TokenDistribution;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One generation's state and its steps, driven by {@link Generator#step}: the prompt's prefill (in chunks, so other
 * sequences of a batch keep decoding), then steps of draft, verify (one target forward), accept and emit, the
 * closing record, rollback. Between steps the target's cache holds every committed token but the last one (the
 * pending token, which the next forward feeds); the drafter's holds at most that many.
 *
 * <p>A step is split where the batch's forwards happen: {@link #beginStep} decides k, {@link #beginDraft} and
 * {@link #absorbDraft} build the draft one drafter forward at a time, {@link #verifyEntry} is this sequence's part of
 * the target forward and {@link #absorbVerify} takes its rows. Each sequence uses only its own sampler, caches and
 * state, in the same order as alone: the batch it shares changes nothing it generates.
 */
final class Decoding implements Generator.Session, Drafter.Adjusted {
  private static final int[] NO_TAPS = new int[0];

  private final Generator g;
  private final GenerationRequest request;
  private final int promptLength;
  private final long start = System.nanoTime();
  private final Emitter emitter;
  private final int capacity;
  private final Sampler sampler;
  private final int[] taps;
  private final boolean summarise;
  private final Sequence targetSequence;
  private final Drafter draft;
  private final IntList committed;
  private final HeldToken held = new HeldToken();
  private final LogitAdjustments adjustments;
  private final TokenCounts counts; // the history the adjustments read; null without adjustments
  private final TokenAutomaton automaton; // the grammar the output follows, or null
  private TokenAutomaton.State state; // the automaton's state after the committed output
  private long firstRelease;
  private long prefillNanos = -1;
  private long draftNanos;
  private long verifyNanos;
  private int drafted;
  private int acceptedDecisions;
  private int steps;
  private final int[] histogram;
  private int k; // this step's draft size; -1 outside a step
  private Draft proposal = Draft.EMPTY; // this step's draft
  private int stepBase; // the target's cache length before this step's forward
  private boolean closed;
  private int cachedTokens; // prompt positions restored from the prefix cache

  Decoding(Generator g, int[] prompt, GenerationRequest request, Emitter.Listener listener) {
    this.g = g;
    this.request = request;
    this.promptLength = prompt.length;
    this.histogram = new int[g.draftLength() + 1];
    this.emitter = new Emitter(g.tokenizer(), request.ignoreEos() ? Set.of() : g.eosTokens(), request.stop(),
        request.maxTokens(), request.skipSpecialTokens(), (records, offsets, text) -> {
          if (firstRelease == 0) {
            firstRelease = System.nanoTime();
          }
          listener.released(records, offsets, text);
        });
    int vocab = g.target().config().vocabSize();
    this.capacity = (int) Math.min(g.contextWindow(), (long) prompt.length + request.maxTokens() + g.draftLength() + 1);
    this.sampler = new Sampler(request.sampling().seed());
    this.taps = request.taps();
    this.adjustments = request.adjustments();
    this.counts = adjustments.isNone() ? null : new TokenCounts(vocab, prompt);
    this.automaton = request.constraint();
    this.state = automaton == null ? null : automaton.start();
    if (automaton != null && request.ignoreEos()) {
      throw new IllegalArgumentException("a constrained generation ends where its grammar does: no ignore_eos");
    }
    // a greedy step needs only each position's summary (argmax, log partition, entropy, top 20), which a GPU backend
    // computes on the device; an observer (the distribution dump), adjustments and a grammar want the full logits
    this.summarise = request.sampling().isGreedy() && request.observer() == null
        && request.topLogprobs() <= LogitSummary.TOP && plain();
    this.committed = new IntList(prompt);
    this.targetSequence = g.target().newSequence(capacity);
    try {
      this.draft = g.drafterBackend() == null ? null : new Drafter(g.drafterBackend(), capacity, vocab);
    } catch (RuntimeException e) {
      targetSequence.close();
      throw e;
    }
    restorePrefix(prompt);
  }

  /** The longest cached prefix of the prompt's head, copied into both caches (they need not restore as much). */
  private void restorePrefix(int[] prompt) {
    if (g.targetPrefixes() != null) {
      cachedTokens = g.targetPrefixes().restore(targetSequence, prompt, headLength());
    }
    if (draft != null && g.drafterPrefixes() != null) {
      draft.restorePrefix(g.drafterPrefixes(), prompt, headLength());
    }
  }

  Generator generator() {
    return g;
  }

  @Override
  public boolean finished() {
    return emitter.finished();
  }

  // ---- prefill: everything but the last prompt token, which the first step feeds as the pending token

  private int headLength() {
    return promptLength - 1;
  }

  @Override
  public boolean prefilling() {
    return targetSequence.length() < headLength() || (draft != null && draft.length() < headLength());
  }

  /** The target's next prefill chunk (no rows), or null when its cache holds the whole head. */
  BatchEntry prefillEntry(int maxChunk) {
    int from = targetSequence.length();
    if (from >= headLength()) {
      return null;
    }
    return new BatchEntry(targetSequence, committed.slice(from, (int) Math.min(headLength(), (long) from + maxChunk)), 0, false,
        NO_TAPS);
  }

  /** The drafter's next prefill chunk, or null when it holds the whole head (or there is no drafter). */
  BatchEntry drafterPrefillEntry(int maxChunk) {
    return draft == null ? null : draft.prefillEntry(committed, headLength(), maxChunk);
  }

  /** Called after each forward that carried a prefill chunk of this sequence: once done, the prefix is kept. */
  void prefilled() {
    if (!prefilling() && prefillNanos < 0) {
      prefillNanos = System.nanoTime() - start;
      int[] head = committed.slice(0, headLength());
      if (g.targetPrefixes() != null) {
        g.targetPrefixes().store(targetSequence, head, head.length);
      }
      if (draft != null && g.drafterPrefixes() != null) {
        draft.storePrefix(g.drafterPrefixes(), head);
      }
    }
  }

  // ---- a decode step

  /**
   * Starts a step: a stop the request asks for (cancelled, deadline) or a full context ends the generation here;
   * otherwise k is chosen: no more drafts than the cache has room for, nor than the output may still hold beyond the
   * closing token.
   */
  void beginStep() {
    k = -1;
    if (prefillNanos < 0) {
      prefillNanos = System.nanoTime() - start;
    }
    FinishReason stop = request.cancelled().stopReason();
    if (stop != null) {
      finishEarly(stop);
      return;
    }
    int room = capacity - targetSequence.length() - 1; // positions left after the pending token
    if (room < 0) {
      finishEarly(FinishReason.LENGTH);
      return;
    }
    int remaining = request.maxTokens() - emitter.generated() - (held.isEmpty() ? 0 : 1);
    k = Math.max(0, Math.min(g.draftLength(), Math.min(room, remaining - 1)));
    proposal = Draft.EMPTY;
  }

  /** Whether this step is under way (beginStep chose k and did not finish the generation). */
  boolean inStep() {
    return k >= 0 && !emitter.finished();
  }

  /** The first drafter forward of this step, or null when it drafts nothing. */
  BatchEntry beginDraft() {
    return k > 0 ? draft.begin(committed, k, summarise) : null;
  }

  /** A drafter row came back: the next drafter forward, or null when the draft is complete. */
  BatchEntry absorbDraft(Forward forward, long nanos) {
    draftNanos += nanos;
    BatchEntry next = draft.absorb(forward, request.sampling(), sampler, plain() ? null : this);
    if (next == null) {
      proposal = draft.draft();
    }
    return next;
  }

  /** This sequence's part of the target forward: the pending token and the draft, k + 1 rows (and the taps). */
  BatchEntry verifyEntry() {
    stepBase = targetSequence.length();
    int[] feed = concat(committed.slice(stepBase, committed.size()), proposal.tokens());
    return new BatchEntry(targetSequence, feed, proposal.size() + 1, summarise, taps);
  }

  /** The target's rows came back: the held token, the verdict, every token it settles, and the rollback. */
  void absorbVerify(Forward forward, long nanos) {
    verifyNanos += nanos;
    steps++;
    k = -1;
    if (!emitHeld(forward)) {
      return;
    }
    TokenDistribution[] targetDistributions = targetDistributions(forward, proposal);
    RejectionSampler.Verdict verdict = g.verifier().verify(proposal, targetDistributions, sampler);
    drafted += proposal.size();
    acceptedDecisions += verdict.accepted();
    histogram[verdict.accepted()]++;
    if (emitAccepted(proposal, verdict, targetDistributions, forward)) {
      closeStep(proposal, verdict, targetDistributions);
    }
  }

  /** The previous step's closing token, now that this forward computed its hidden state (position 0). */
  private boolean emitHeld(Forward forward) {
    if (held.isEmpty()) {
      return true;
    }
    TokenDistribution distribution = held.distribution();
    return emit(held.take(hidden(forward, 0)), distribution);
  }

  /** A row's hidden states at every requested tap, concatenated in the request's order (one tap: that one). */
  private float[] hidden(Forward forward, int row) {
    float[][][] t = forward.taps();
    if (t.length == 1) {
      return t[0][row];
    }
    int width = t[0][row].length;
    float[] all = new float[t.length * width];
    for (int k = 0; k < t.length; k++) {
      System.arraycopy(t[k][row], 0, all, k * width, width);
    }
    return all;
  }

  private TokenDistribution[] targetDistributions(Forward forward, Draft proposal) {
    TokenDistribution[] out = new TokenDistribution[proposal.size() + 1];
    for (int i = 0; i < out.length; i++) {
      out[i] = summarise ? TokenDistribution.of(forward.summaries()[i])
          : distribution(forward.logits()[i], proposal.tokens(), i);
    }
    return out;
  }

  /** The accepted drafts, each with the target's record at its position; their hidden states are in this forward. */
  private boolean emitAccepted(Draft proposal, RejectionSampler.Verdict verdict, TokenDistribution[] targetDists,
      Forward forward) {
    for (int i = 0; i < verdict.accepted(); i++) {
      int x = proposal.tokens()[i];
      TokenDistribution drafted = proposal.distributions()[i];
      TokenRecord r = TokenRecord.of(0, x, g.tokenizer().bytes(x), targetDists[i], request.topLogprobs(),
          Source.ACCEPTED, request.rawLogprobs()).withDrafter(drafted.samplingProb(x), drafted.argmax(),
          verdict.acceptanceProbs()[i]);
      if (taps.length > 0) {
        r = r.withHidden(hidden(forward, i + 1));
      }
      if (!emit(r, targetDists[i])) {
        return false;
      }
    }
    return true;
  }

  /**
   * The resampled or bonus token that closes the step: both caches roll back to the accepted prefix, and the token
   * is emitted now, or held for its hidden state when a probe wants one (an end-of-sequence token needs none).
   */
  private void closeStep(Draft proposal, RejectionSampler.Verdict verdict, TokenDistribution[] targetDists) {
    int a = verdict.accepted();
    int y = verdict.next();
    Source source = proposal.size() == 0 ? Source.TARGET : verdict.nextSource();
    TokenRecord next = TokenRecord.of(0, y, g.tokenizer().bytes(y), targetDists[a], request.topLogprobs(), source,
        request.rawLogprobs());
    if (source == Source.RESAMPLED) {
      TokenDistribution rejected = proposal.distributions()[a];
      next = next.withDrafter(rejected.samplingProb(y), rejected.argmax(), verdict.acceptanceProbs()[a]);
    }
    rollback(proposal, a, y);
    boolean ends = g.eosTokens().contains(y) && !request.ignoreEos();
    if (taps.length > 0 && !ends) {
      held.hold(next, targetDists[a]);
    } else {
      emit(next, targetDists[a]);
    }
  }

  /** Keeps the pending token and the accepted drafts in both caches, and commits them and the closing token. */
  private void rollback(Draft proposal, int accepted, int closing) {
    targetSequence.truncate(stepBase + 1 + accepted);
    if (draft != null) {
      draft.truncate(stepBase + 1 + accepted);
    }
    for (int i = 0; i < accepted; i++) {
      commit(proposal.tokens()[i]);
    }
    commit(closing);
  }

  private void commit(int token) {
    committed.add(token);
    if (counts != null) {
      counts.addOutput(token);
    }
    if (automaton != null && !automaton.isEnded(state)) {
      state = automaton.advance(state, token);
    }
  }

  /**
   * Ends the generation before its natural end (cancelled, deadline, context full). A held token is emitted first,
   * with its hidden state from one last forward when the cache has room for it.
   */
  private void finishEarly(FinishReason reason) {
    if (!held.isEmpty()) {
      TokenDistribution distribution = held.distribution();
      float[] hidden = null;
      if (targetSequence.length() < capacity) {
        int pending = committed.get(committed.size() - 1);
        hidden = hidden(targetSequence.forward(new int[] {pending}, 0, taps), 0);
      }
      emit(held.take(hidden), distribution);
    }
    emitter.finish(reason);
  }

  /**
   * Hands a record to the emitter, numbered by its position in the generation and scored once; the observer and the
   * watcher (the breaker) see it first, and a watcher that says stop ends the generation right after it. Returns
   * false once the generation has finished.
   */
  private boolean emit(TokenRecord record, TokenDistribution distribution) {
    record = record.withIndex(emitter.generated());
    boolean stopToken = emitter.isStop(record.token());
    if (request.scorer() != null && !stopToken) {
      record = record.withPCorrect(request.scorer().pCorrect(record));
    }
    if (request.observer() != null && !stopToken) {
      request.observer().observe(record, distribution);
    }
    FinishReason watched = request.watcher() == null || stopToken ? null : request.watcher().afterToken(record);
    return emitter.offer(record, watched);
  }

  // ---- the distribution of a position: the model's, adjusted and masked

  /** Whether positions are distributed as the model says (no adjustments, no grammar, no minimum length). */
  private boolean plain() {
    return counts == null && automaton == null && request.minTokens() == 0;
  }

  /** Whether a position whose history holds {@code drafted} drafted tokens comes before min_tokens. */
  private boolean tooEarlyToEnd(int drafted) {
    int before = emitter.generated() + (held.isEmpty() ? 0 : 1) + drafted;
    return before < request.minTokens();
  }

  /**
   * The distribution after the committed tokens and draft[0..drafted): the request's adjustments (penalties, bias)
   * applied with exactly that history and the grammar's mask at the state that history reaches, for the target and
   * the drafter alike. The raw logits stay as the model gave them (raw logprobs, entropy).
   */
  @Override
  public TokenDistribution distribution(float[] logits, int[] draft, int drafted) {
    if (plain()) {
      return TokenDistribution.of(logits, request.sampling());
    }
    float[] processed = counts == null ? logits.clone() : adjusted(logits, draft, drafted);
    if (!request.ignoreEos() && tooEarlyToEnd(drafted)) {
      for (int eos : g.eosTokens()) {
        if (eos >= 0 && eos < processed.length) {
          processed[eos] = Float.NEGATIVE_INFINITY;
        }
      }
    }
    if (automaton != null) {
      TokenAutomaton.State at = stateAfter(draft, drafted);
      if (!automaton.isEnded(at)) { // past an end token nothing is allowed; that row only serves an unused bonus
        automaton.allowed(at).applyTo(processed);
      }
    }
    return TokenDistribution.of(logits, processed, request.sampling());
  }

  /** Whether draft[0..drafted) ends the grammar (an end token was drafted): nothing is drafted after it. */
  @Override
  public boolean ends(int[] draft, int drafted) {
    return automaton != null && automaton.isEnded(stateAfter(draft, drafted));
  }

  private float[] adjusted(float[] logits, int[] draft, int drafted) {
    for (int j = 0; j < drafted; j++) {
      counts.addOutput(draft[j]);
    }
    try {
      return adjustments.apply(logits, counts);
    } finally {
      for (int j = 0; j < drafted; j++) {
        counts.removeOutput(draft[j]);
      }
    }
  }

  private TokenAutomaton.State stateAfter(int[] draft, int drafted) {
    TokenAutomaton.State at = state;
    for (int j = 0; j < drafted && !automaton.isEnded(at); j++) {
      at = automaton.advance(at, draft[j]);
    }
    return at;
  }

  // ---- the end

  @Override
  public GenerationResult result() {
    long end = System.nanoTime();
    List<TokenRecord> tokens = new ArrayList<>(emitter.tokens());
    return new GenerationResult(emitter.text(), tokens, new ArrayList<>(emitter.textOffsets()),
        emitter.finishReason(), promptLength, cachedTokens, emitter.generated(),
        SpeculationStats.of(tokens, drafted, acceptedDecisions, steps, histogram),
        new GenerationResult.Timings(Math.max(0, prefillNanos), firstRelease == 0 ? end - start : firstRelease - start,
            end - start, draftNanos, verifyNanos));
  }

  /** Ends the generation where it stands (the caller closes a session it no longer steps). */
  @Override
  public void cancel(FinishReason reason) {
    if (!emitter.finished()) {
      emitter.finish(reason);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try (Sequence s = targetSequence) {
      if (draft != null) {
        draft.close();
      }
    }
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
