package dev.candor.engine.generate;

import dev.candor.engine.model.Backend;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
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
  private PrefixCache targetPrefixes; // null: no prefix caching
  private PrefixCache drafterPrefixes;

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

  /** KV-cache bytes one position takes in the target's and the drafter's caches (keys and values, float32). */
  public long kvBytesPerPosition() {
    long bytes = kvBytes(target);
    return drafter == null ? bytes : bytes + kvBytes(drafter);
  }

  private static long kvBytes(Backend backend) {
    var c = backend.config();
    return 2L * c.numHiddenLayers() * c.numKeyValueHeads() * c.headDim() * Float.BYTES;
  }

  /** The most positions a request needs: prompt, output, and room for one step's draft and bonus. */
  public int contextWindow() {
    return target.config().maxPositionEmbeddings();
  }

  Backend drafterBackend() {
    return drafter;
  }

  /**
   * Keeps the KV of prompt prefixes across generations, within {@code budgetBytes} (split between the target's and
   * the drafter's caches in proportion to what a position costs each): a later prompt that starts with the same
   * tokens copies their cache instead of computing it. Only on backends that copy KV caches; 0 turns it off.
   */
  public void cachePrefixes(long budgetBytes) {
    if (budgetBytes <= 0) {
      targetPrefixes = null;
      drafterPrefixes = null;
      return;
    }
    long total = kvBytesPerPosition();
    long targetShare = drafter == null ? budgetBytes : budgetBytes * kvBytes(target) / total;
    targetPrefixes = new PrefixCache(targetShare);
    drafterPrefixes = drafter == null ? null : new PrefixCache(budgetBytes - targetShare);
  }

  /** Whether prompt prefixes are cached. */
  public boolean cachesPrefixes() {
    return targetPrefixes != null;
  }

  PrefixCache targetPrefixes() {
    return targetPrefixes;
  }

  PrefixCache drafterPrefixes() {
    return drafterPrefixes;
  }

  /** The target's prefix cache figures, or null without one. */
  public PrefixCache.Stats prefixStats() {
    return targetPrefixes == null ? null : targetPrefixes.stats();
  }

  Tokenizer tokenizer() {
    return tokenizer;
  }

  Set<Integer> eosTokens() {
    return eosTokens;
  }

  RejectionSampler.Verifier verifier() {
    return verifier;
  }

  /** One generation, start to end, on its own. */
  public GenerationResult generate(int[] prompt, GenerationRequest request, Emitter.Listener listener) {
    try (Session session = open(prompt, request, listener)) {
      List<Session> alone = List.of(session);
      while (!session.finished()) {
        step(alone, Integer.MAX_VALUE);
      }
      return session.result();
    }
  }

  /**
   * A generation to run in a batch with others ({@link #step}): its caches are allocated here; close it when done
   * (or to drop it: {@link Session#cancel} first).
   */
  public Session open(int[] prompt, GenerationRequest request, Emitter.Listener listener) {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt is empty");
    }
    if (prompt.length >= contextWindow()) {
      throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the context window is "
          + contextWindow());
    }
    return new Decoding(this, prompt, request, listener);
  }

  /** A generation in progress, stepped by {@link #step} together with others. */
  public interface Session extends AutoCloseable {
    boolean finished();

    /** Whether its prompt is still being prefilled (its prefix is not yet in the prefix cache). */
    boolean prefilling();

    /** The finished generation (or what it has so far). */
    GenerationResult result();

    /** Ends the generation now with {@code reason}, if it has not ended. */
    void cancel(FinishReason reason);

    @Override
    void close();
  }

  /**
   * One step of every unfinished session, with the weights read once per forward for all of them: sessions still
   * prefilling take their next chunk of at most {@code prefillChunk} prompt tokens (so a long prompt does not hold
   * back the others), the others one decode step. The drafter runs one batched forward per drafted position for all
   * drafting sessions (and the prefill chunks of its own cache), then the target one forward over every session's
   * prefill chunk or pending token and draft. Each session draws only from its own sampler, in the same order as
   * alone, so what it generates does not depend on the company it keeps.
   */
  public void step(List<? extends Session> sessions, int prefillChunk) {
    if (prefillChunk < 1) {
      throw new IllegalArgumentException("prefill chunks must hold at least one token, got " + prefillChunk);
    }
    List<Decoding> prefilling = new ArrayList<>();
    List<Decoding> decoding = new ArrayList<>();
    for (Session s : sessions) {
      if (!(s instanceof Decoding d) || d.generator() != this) {
        throw new IllegalArgumentException("a session of another generator");
      }
      if (d.finished()) {
        continue;
      }
      if (d.prefilling()) {
        prefilling.add(d);
      } else {
        d.beginStep();
        if (d.inStep()) {
          decoding.add(d);
        }
      }
    }
    draftRounds(prefilling, decoding, prefillChunk);
    targetForward(prefilling, decoding, prefillChunk);
  }

  /** Which of a sequence's needs an entry of a batched forward serves. */
  private enum Need { PREFILL, DRAFT, VERIFY }

  /** A batched forward's entries, with the session and need each serves. */
  private record Batch(List<BatchEntry> entries, List<Decoding> owners, List<Need> needs) {
    Batch() {
      this(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    }

    void add(BatchEntry entry, Decoding owner, Need need) {
      if (entry != null) {
        entries.add(entry);
        owners.add(owner);
        needs.add(need);
      }
    }
  }

  /** The drafter's forwards: its prefill chunks, then one batched forward per drafted position. */
  private void draftRounds(List<Decoding> prefilling, List<Decoding> decoding, int prefillChunk) {
    if (drafter == null) {
      return;
    }
    Batch round = new Batch();
    for (Decoding d : prefilling) {
      round.add(d.drafterPrefillEntry(prefillChunk), d, Need.PREFILL);
    }
    for (Decoding d : decoding) {
      round.add(d.beginDraft(), d, Need.DRAFT);
    }
    while (!round.entries().isEmpty()) {
      long t0 = System.nanoTime();
      List<Forward> out = drafter.forward(round.entries());
      long nanos = System.nanoTime() - t0;
      Batch next = new Batch();
      for (int i = 0; i < out.size(); i++) {
        Decoding d = round.owners().get(i);
        if (round.needs().get(i) == Need.PREFILL) {
          d.prefilled();
        } else {
          next.add(d.absorbDraft(out.get(i), nanos), d, Need.DRAFT);
        }
      }
      round = next;
    }
  }

  /** The target's one forward: every prefilling session's next chunk, every decoding session's verification. */
  private void targetForward(List<Decoding> prefilling, List<Decoding> decoding, int prefillChunk) {
    Batch batch = new Batch();
    for (Decoding d : prefilling) {
      batch.add(d.prefillEntry(prefillChunk), d, Need.PREFILL);
    }
    for (Decoding d : decoding) {
      batch.add(d.verifyEntry(), d, Need.VERIFY);
    }
    if (batch.entries().isEmpty()) {
      return;
    }
    long t0 = System.nanoTime();
    List<Forward> out = target.forward(batch.entries());
    long nanos = System.nanoTime() - t0;
    for (int i = 0; i < out.size(); i++) {
      Decoding d = batch.owners().get(i);
      if (batch.needs().get(i) == Need.PREFILL) {
        d.prefilled();
      } else {
        d.absorbVerify(out.get(i), nanos);
      }
    }
  }
}
