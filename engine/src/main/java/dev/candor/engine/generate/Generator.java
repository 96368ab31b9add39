package dev.candor.engine.generate;

import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.LogitSummary;
import dev.candor.engine.sampling.Sampler;
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
 * the next forward computes, so the last token of each step is released one step later.
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
    int context = contextWindow();
    if (prompt.length >= context) {
      throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the context window is " + context);
    }
    long start = System.nanoTime();
    long[] firstRelease = {0};
    Emitter emitter = new Emitter(tokenizer, request.ignoreEos() ? Set.of() : eosTokens, request.stop(),
        request.maxTokens(), (records, offsets, text) -> {
          if (firstRelease[0] == 0) {
            firstRelease[0] = System.nanoTime();
          }
          listener.released(records, offsets, text);
        });
    int capacity = (int) Math.min(context, (long) prompt.length + request.maxTokens() + draftLength + 1);
    Sampler sampler = new Sampler(request.sampling().seed());
    int[] taps = request.tap() >= 0 ? new int[] {request.tap()} : new int[0];
    // a greedy step needs only each position's summary (argmax, log partition, entropy, top 20), which a GPU backend
    // computes on the device; an observer (the distribution dump) wants the full logits
    boolean summarise = request.sampling().isGreedy() && request.observer() == null
        && request.topLogprobs() <= LogitSummary.TOP;
    long prefillNanos;
    long draftNanos = 0;
    long verifyNanos = 0;
    int drafted = 0;
    int acceptedDecisions = 0;
    int steps = 0;
    int[] histogram = new int[draftLength + 1];

    try (Sequence targetSequence = target.newSequence(capacity);
        Drafter draft = drafter == null ? null : new Drafter(drafter, capacity, target.config().vocabSize())) {
      IntList committed = new IntList(prompt);
      // prefill everything but the last prompt token, which the first step feeds as the pending token
      int[] head = committed.slice(0, prompt.length - 1);
      if (head.length > 0) {
        targetSequence.forward(head, 0);
      }
      if (draft != null) {
        draft.prefill(head);
      }
      prefillNanos = System.nanoTime() - start;
      TokenRecord held = null; // the last token of the previous step, waiting for its hidden state
      TokenDistribution heldDistribution = null;

      while (!emitter.finished()) {
        FinishReason stopped = request.cancelled().stopReason();
        if (stopped != null) {
          emitter.finish(stopped);
          break;
        }
        int room = capacity - targetSequence.length() - 1; // positions left after the pending token
        if (room < 0) {
          emitter.finish(FinishReason.LENGTH);
          break;
        }
        int remaining = request.maxTokens() - emitter.generated() - (held == null ? 0 : 1);
        int k = Math.max(0, Math.min(draftLength, Math.min(room, remaining - 1)));

        // draft k tokens
        long t0 = System.nanoTime();
        Draft proposal = k > 0 ? draft.propose(committed, k, request.sampling(), sampler) : Draft.EMPTY;
        long t1 = System.nanoTime();

        // one target forward over the pending token and the draft: k + 1 distributions
        int base = targetSequence.length();
        int[] feed = concat(committed.slice(base, committed.size()), proposal.tokens());
        Forward forward = summarise ? targetSequence.forwardSummaries(feed, k + 1, taps)
            : targetSequence.forward(feed, k + 1, taps);
        verifyNanos += System.nanoTime() - t1;
        draftNanos += t1 - t0;
        steps++;

        if (held != null) {
          offer(emitter, held.withHidden(forward.taps()[0][0]), heldDistribution, request);
          held = null;
          if (emitter.finished()) {
            break;
          }
        }

        TokenDistribution[] targetDistributions = new TokenDistribution[k + 1];
        for (int i = 0; i <= k; i++) {
          targetDistributions[i] = summarise ? TokenDistribution.of(forward.summaries()[i])
              : TokenDistribution.of(forward.logits()[i], request.sampling());
        }
        RejectionSampler.Verdict verdict = verifier.verify(proposal, targetDistributions, sampler);
        drafted += k;
        acceptedDecisions += verdict.accepted();
        histogram[verdict.accepted()]++;

        // emit the accepted drafts: their hidden states are in this forward (position i + 1 of the feed)
        boolean done = false;
        for (int i = 0; i < verdict.accepted() && !done; i++) {
          int x = proposal.tokens()[i];
          TokenRecord r = TokenRecord.of(0, x, tokenizer.bytes(x), targetDistributions[i], request.topLogprobs(),
              Source.ACCEPTED, request.rawLogprobs()).withDrafter(proposal.distributions()[i].samplingProb(x),
              proposal.distributions()[i].argmax(), verdict.acceptanceProbs()[i]);
          if (taps.length > 0) {
            r = r.withHidden(forward.taps()[0][i + 1]);
          }
          done = !offer(emitter, r, targetDistributions[i], request);
        }
        if (done) {
          break;
        }

        // the resampled or bonus token closes the step
        int a = verdict.accepted();
        int y = verdict.next();
        Source source = k == 0 ? Source.TARGET : verdict.nextSource();
        TokenRecord next = TokenRecord.of(0, y, tokenizer.bytes(y), targetDistributions[a], request.topLogprobs(), source,
            request.rawLogprobs());
        if (source == Source.RESAMPLED) {
          next = next.withDrafter(proposal.distributions()[a].samplingProb(y), proposal.distributions()[a].argmax(),
              verdict.acceptanceProbs()[a]);
        }

        // roll back: keep the pending token and the accepted drafts
        targetSequence.truncate(base + 1 + a);
        if (draft != null) {
          draft.truncate(base + 1 + a);
        }
        for (int i = 0; i < a; i++) {
          committed.add(proposal.tokens()[i]);
        }
        committed.add(y);

        boolean ends = eosTokens.contains(y) && !request.ignoreEos();
        if (taps.length > 0 && !ends) {
          held = next;
          heldDistribution = targetDistributions[a];
        } else {
          offer(emitter, next, targetDistributions[a], request);
        }
      }
      if (held != null && !emitter.finished()) {
        // generation stopped with a token still waiting for its hidden state: one forward of it, no logits
        if (targetSequence.length() < capacity) {
          Forward last = targetSequence.forward(new int[] {committed.get(committed.size() - 1)}, 0, taps);
          held = held.withHidden(last.taps()[0][0]);
        }
        offer(emitter, held, heldDistribution, request);
      }
      if (!emitter.finished()) {
        emitter.finish(FinishReason.LENGTH);
      }
    }
    long end = System.nanoTime();
    List<TokenRecord> tokens = new ArrayList<>(emitter.tokens());
    return new GenerationResult(emitter.text(), tokens, new ArrayList<>(emitter.textOffsets()), emitter.finishReason(),
        prompt.length, emitter.generated(),
        SpeculationStats.of(tokens, drafted, acceptedDecisions, steps, histogram),
        new GenerationResult.Timings(prefillNanos, firstRelease[0] == 0 ? end - start : firstRelease[0] - start,
            end - start, draftNanos, verifyNanos));
  }

  /** Hands a record to the emitter (and the observer), numbered by its position in the generation. */
  private static boolean offer(Emitter emitter, TokenRecord record, TokenDistribution distribution,
      GenerationRequest request) {
    record = record.withIndex(emitter.generated());
    if (request.observer() != null && !emitter.isStop(record.token())) {
      request.observer().observe(record, distribution);
    }
    return emitter.offer(record);
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
