package dev.candor.engine.generate;

import dev.candor.engine.grammar.TokenAutomaton;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitAdjustments;
import dev.candor.engine.sampling.LogitSummary;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.TokenCounts;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The decode loop: plain decoding, or speculative decoding when a drafter is given (plain decoding is the k = 0
 * case of the same loop). Each step drafts k tokens, runs the target once over the pending token and the draft,
 * verifies with the {@link RejectionSampler}, emits a {@link TokenRecord} for every token (accepted, resampled,
 * bonus, or plain) from the target distribution verification computed, and rolls both caches back to what was
 * accepted.
 *
 * <p>Cache invariant between steps: the target holds every committed token but the last one ("pending"); the drafter
 * holds at most that many. When a probe tap is requested, a token's hidden state is the one at its own position, which
 * the next forward computes, so the last token of each step is emitted one step later ({@link HeldToken}). Every
 * emitted record is scored once ({@link GenerationRequest#scorer}) and shown to the watcher (the confidence breaker),
 * which can end the generation right after any token: with a drafter exactly as without one.
 */
public final class Generator {
  public static final int MAX_DRAFT = 16;

  private final Backend target;
  private final Backend drafter;
  private final Tokenizer tokenizer;
  private final Set<Integer> eosTokens;
  private final int draftLength;
  private final RejectionSampler.Verifier verifier;

  /**
   * @param drafter the drafting model, or null for plain decoding
   * @param draftLength k, tokens drafted per step (1..16)
   */
  public Generator(Backend target, Backend drafter, Tokenizer tokenizer, Set<Integer> eosTokens, int draftLength) {
    this(target, drafter, tokenizer, eosTokens, draftLength, RejectionSampler::verify);
  }

  /** With another verifier: only tests use this, to show that a broken one is caught. */
  Generator(Backend target, Backend drafter, Tokenizer tokenizer, Set<Integer> eosTokens, int draftLength,
      RejectionSampler.Verifier verifier) {
    if (drafter != null && (draftLength < 1 || draftLength > MAX_DRAFT)) {
      throw new IllegalArgumentException("draft length k must lie in 1.." + MAX_DRAFT + ", got " + draftLength);
    }
    this.target = target;
    this.drafter = drafter;
    this.tokenizer = tokenizer;
    this.eosTokens = Set.copyOf(eosTokens);
    this.draftLength = drafter == null ? 0 : draftLength;
    this.verifier = verifier;
  }

  public Backend target() {
    return target;
  }

  public boolean speculative() {
    return drafter != null;
  }

  public int draftLength() {
    return draftLength;
  }

  /** The most positions a request needs: prompt, output, and room for one step's draft and bonus. */
  public int contextWindow() {
    return target.config().maxPositionEmbeddings();
  }

  public GenerationResult generate(int[] prompt, GenerationRequest request, Emitter.Listener listener) {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt is empty");
    }
    if (prompt.length >= contextWindow()) {
      throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the context window is "
          + contextWindow());
    }
    try (Decoding decoding = new Decoding(prompt, request, listener)) {
      decoding.prefill();
      while (!decoding.emitter.finished()) {
        decoding.step();
      }
      return decoding.result();
    }
  }

  /**
   * One generation's state and its steps: prefill, then steps of draft, verify (one target forward), accept and emit,
   * the closing record, rollback. Between steps the target's cache holds every committed token but the last one (the
   * pending token, which the next forward feeds); the drafter's holds at most that many.
   */
  private final class Decoding implements AutoCloseable, Drafter.Adjusted {
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
    private long prefillNanos;
    private long draftNanos;
    private long verifyNanos;
    private int drafted;
    private int acceptedDecisions;
    private int steps;
    private final int[] histogram = new int[draftLength + 1];
    private int stepBase; // the target's cache length before this step's forward

    Decoding(int[] prompt, GenerationRequest request, Emitter.Listener listener) {
      this.request = request;
      this.promptLength = prompt.length;
      this.emitter = new Emitter(tokenizer, request.ignoreEos() ? Set.of() : eosTokens, request.stop(),
          request.maxTokens(), request.skipSpecialTokens(), (records, offsets, text) -> {
            if (firstRelease == 0) {
              firstRelease = System.nanoTime();
            }
            listener.released(records, offsets, text);
          });
      this.capacity = (int) Math.min(contextWindow(), (long) prompt.length + request.maxTokens() + draftLength + 1);
      this.sampler = new Sampler(request.sampling().seed());
      this.taps = request.tap() >= 0 ? new int[] {request.tap()} : new int[0];
      // a greedy step needs only each position's summary (argmax, log partition, entropy, top 20), which a GPU backend
      // computes on the device; an observer (the distribution dump) wants the full logits
      this.adjustments = request.adjustments();
      this.counts = adjustments.isNone() ? null : new TokenCounts(target.config().vocabSize(), prompt);
      this.automaton = request.constraint();
      this.state = automaton == null ? null : automaton.start();
      if (automaton != null && request.ignoreEos()) {
        throw new IllegalArgumentException("a constrained generation ends where its grammar does: no ignore_eos");
      }
      this.summarise = request.sampling().isGreedy() && request.observer() == null
          && request.topLogprobs() <= LogitSummary.TOP && counts == null && automaton == null;
      this.committed = new IntList(prompt);
      this.targetSequence = target.newSequence(capacity);
      try {
        this.draft = drafter == null ? null : new Drafter(drafter, capacity, target.config().vocabSize());
      } catch (RuntimeException e) {
        targetSequence.close();
        throw e;
      }
    }

    /** Everything but the last prompt token, which the first step feeds as the pending token. */
    void prefill() {
      int[] head = committed.slice(0, committed.size() - 1);
      if (head.length > 0) {
        targetSequence.forward(head, 0);
      }
      if (draft != null) {
        draft.prefill(head);
      }
      prefillNanos = System.nanoTime() - start;
    }

    /** One decode step: up to k drafts verified by one target forward, then every token it settles emitted. */
    void step() {
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
      Draft proposal = propose(draftSize(room));
      Forward forward = verifyForward(proposal);
      if (!emitHeld(forward)) {
        return;
      }
      TokenDistribution[] targetDistributions = targetDistributions(forward, proposal);
      RejectionSampler.Verdict verdict = verifier.verify(proposal, targetDistributions, sampler);
      drafted += proposal.size();
      acceptedDecisions += verdict.accepted();
      histogram[verdict.accepted()]++;
      if (emitAccepted(proposal, verdict, targetDistributions, forward)) {
        closeStep(proposal, verdict, targetDistributions);
      }
    }

    /** k: no more drafts than the cache has room for, nor than the output may still hold beyond the closing token. */
    private int draftSize(int room) {
      int remaining = request.maxTokens() - emitter.generated() - (held.isEmpty() ? 0 : 1);
      return Math.max(0, Math.min(draftLength, Math.min(room, remaining - 1)));
    }

    private Draft propose(int k) {
      long t0 = System.nanoTime();
      Draft proposal = k > 0
          ? draft.propose(committed, k, request.sampling(), sampler, plain() ? null : this)
          : Draft.EMPTY;
      draftNanos += System.nanoTime() - t0;
      return proposal;
    }

    /** One target forward over the pending token and the draft: k + 1 distributions (and the taps of all). */
    private Forward verifyForward(Draft proposal) {
      long t0 = System.nanoTime();
      stepBase = targetSequence.length();
      int[] feed = concat(committed.slice(stepBase, committed.size()), proposal.tokens());
      Forward forward = summarise ? targetSequence.forwardSummaries(feed, proposal.size() + 1, taps)
          : targetSequence.forward(feed, proposal.size() + 1, taps);
      verifyNanos += System.nanoTime() - t0;
      steps++;
      return forward;
    }

    /** The previous step's closing token, now that this forward computed its hidden state (position 0). */
    private boolean emitHeld(Forward forward) {
      if (held.isEmpty()) {
        return true;
      }
      TokenDistribution distribution = held.distribution();
      return emit(held.take(forward.taps()[0][0]), distribution);
    }

    private TokenDistribution[] targetDistributions(Forward forward, Draft proposal) {
      TokenDistribution[] out = new TokenDistribution[proposal.size() + 1];
      for (int i = 0; i < out.length; i++) {
        out[i] = summarise ? TokenDistribution.of(forward.summaries()[i])
            : distribution(forward.logits()[i], proposal.tokens(), i);
      }
      return out;
    }

    /** Whether positions are distributed as the model says (no adjustments, no grammar). */
    private boolean plain() {
      return counts == null && automaton == null;
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

    /** The accepted drafts, each with the target's record at its position; their hidden states are in this forward. */
    private boolean emitAccepted(Draft proposal, RejectionSampler.Verdict verdict, TokenDistribution[] targetDists,
        Forward forward) {
      for (int i = 0; i < verdict.accepted(); i++) {
        int x = proposal.tokens()[i];
        TokenDistribution drafted = proposal.distributions()[i];
        TokenRecord r = TokenRecord.of(0, x, tokenizer.bytes(x), targetDists[i], request.topLogprobs(),
            Source.ACCEPTED, request.rawLogprobs()).withDrafter(drafted.samplingProb(x), drafted.argmax(),
            verdict.acceptanceProbs()[i]);
        if (taps.length > 0) {
          r = r.withHidden(forward.taps()[0][i + 1]);
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
      TokenRecord next = TokenRecord.of(0, y, tokenizer.bytes(y), targetDists[a], request.topLogprobs(), source,
          request.rawLogprobs());
      if (source == Source.RESAMPLED) {
        TokenDistribution rejected = proposal.distributions()[a];
        next = next.withDrafter(rejected.samplingProb(y), rejected.argmax(), verdict.acceptanceProbs()[a]);
      }
      rollback(proposal, a, y);
      boolean ends = eosTokens.contains(y) && !request.ignoreEos();
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
          hidden = targetSequence.forward(new int[] {pending}, 0, taps).taps()[0][0];
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

    GenerationResult result() {
      long end = System.nanoTime();
      List<TokenRecord> tokens = new ArrayList<>(emitter.tokens());
      return new GenerationResult(emitter.text(), tokens, new ArrayList<>(emitter.textOffsets()),
          emitter.finishReason(), promptLength, emitter.generated(), SpeculationStats.of(tokens, drafted, acceptedDecisions, steps, histogram),
          new GenerationResult.Timings(prefillNanos, firstRelease == 0 ? end - start : firstRelease - start,
              end - start, draftNanos, verifyNanos));
    }

    @Override
    public void close() {
      try (Sequence s = targetSequence) {
        if (draft != null) {
          draft.close();
        }
      }
    }
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
