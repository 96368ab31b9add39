package dev.candor.engine.server;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceBreaker;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.Consistency;
import dev.candor.engine.generate.FinishReason;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.StreamDecoder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

/**
 * One API request: every prompt × n choices, each a session of the scheduler's batch, opened when the batch has room,
 * each streaming its released output to the HTTP thread as {@link Events}. With consistency asked for, each prompt
 * also runs its samples as sessions of the batch (nothing of them is streamed), and its choices' last events wait
 * until every sample of the prompt has finished, to carry each line's agreement with them. The engine never blocks on a client: a
 * slow reader only lets the event queue grow (bounded by the request's work budget), and a client that leaves
 * cancels the job, whose sessions end at their next step.
 */
final class GenerationJob extends Scheduler.Job {
  final BlockingQueue<Events> events = new LinkedBlockingQueue<>();
  private final ParsedRequest request;
  private final LoadedModel model;
  private final Generator generator;
  private final ConfidenceModel confidence;
  private final long seed;
  private final long deadlineNanos;
  private final ServerMetrics metrics;
  private final long arrivalNanos;
  private final Consumer<int[]> faultHook; // a test seam: see OpenAiServer#injectFault; null otherwise
  private final long bytesPerPosition; // KV cache of target and drafter, per position
  private final int perPrompt; // sessions per prompt: n choices, then the consistency samples
  private final int sessions;
  private final Map<Generator.Session, Opened> open = new HashMap<>();
  private final List<PromptState> prompts = new ArrayList<>();
  private int next; // the next session to open
  private int done;
  private int promptTokens;
  private int completionTokens;
  private int cachedTokens;
  private Generator.Session firstOfPrompt; // the current prompt's first choice: the others wait for its prefill
  private volatile boolean released;
  private Events.Echo echo; // the current prompt's echo, computed once for its n choices

  /** A session's prompt, its choice index (-1 for a consistency sample) and breaker. */
  private record Opened(int prompt, int choice, ConfidenceBreaker breaker) {}

  /** What a prompt's sessions left so far: the samples' texts, the choices that wait for them. */
  private static final class PromptState {
    final List<String> samples = new ArrayList<>();
    final List<Events.Finished> waiting = new ArrayList<>();
    int finished;
    int sampleTokens;
  }

  GenerationJob(String requestId, ParsedRequest request, LoadedModel model, Generator generator,
      ConfidenceModel confidence, long seed, long arrivalNanos, long deadlineNanos, ServerMetrics metrics,
      Consumer<int[]> faultHook, long bytesPerPosition) {
    super(requestId);
    this.request = request;
    this.model = model;
    this.generator = generator;
    this.confidence = confidence;
    this.seed = seed;
    this.deadlineNanos = deadlineNanos;
    this.metrics = metrics;
    this.arrivalNanos = arrivalNanos;
    this.faultHook = faultHook;
    this.bytesPerPosition = bytesPerPosition;
    this.perPrompt = request.n() + (request.consistency() == null ? 0 : request.consistency().samples());
    this.sessions = request.prompts().size() * perPrompt;
    for (int i = 0; i < request.prompts().size(); i++) {
      prompts.add(new PromptState());
    }
  }

  @Override
  boolean hasNextSession() {
    return next < sessions;
  }

  /**
   * With prefix caching, a prompt's other choices wait until its first one has prefilled, then copy its cache
   * instead of computing it again.
   */
  @Override
  boolean nextSessionReady() {
    return next % perPrompt == 0 || !generator.cachesPrefixes() || firstOfPrompt == null
        || !firstOfPrompt.prefilling();
  }

  @Override
  long nextSessionBytes() {
    int[] prompt = request.prompts().get(next / perPrompt);
    long output = maxTokens(prompt);
    long positions = Math.min(generator.contextWindow(), prompt.length + output + generator.draftLength() + 1);
    return positions * bytesPerPosition;
  }

  @Override
  Generator.Session nextSession() {
    int promptIndex = next / perPrompt;
    int slot = next % perPrompt;
    int[] prompt = request.prompts().get(promptIndex);
    if (faultHook != null) {
      faultHook.accept(prompt);
    }
    if (slot == 0) {
      promptTokens += prompt.length;
      echo = request.echo() ? echo(promptIndex, prompt) : null;
    }
    Generator.Session session;
    if (slot < request.n()) {
      session = openChoice(promptIndex, promptIndex * request.n() + slot, prompt);
    } else {
      session = generator.open(prompt, sampleRequest(prompt, slot - request.n()), (records, offsets, text) -> { });
      open.put(session, new Opened(promptIndex, -1, null));
    }
    if (slot == 0) {
      firstOfPrompt = session;
    }
    next++;
    return session;
  }

  /** A choice: its events stream to the client. */
  private Generator.Session openChoice(int promptIndex, int choice, int[] prompt) {
    if (echo != null) {
      events.add(new Events.Echo(choice, echo.text(), echo.records(), echo.offsets()));
    }
    ConfidenceBreaker breaker = breaker();
    Generator.Session session = generator.open(prompt, generationRequest(prompt, choice, breaker),
        (records, offsets, text) -> {
          if (!released) {
            released = true;
            metrics.firstToken(System.nanoTime() - arrivalNanos);
          }
          events.add(new Events.Released(choice, records, offsets, text));
        });
    open.put(session, new Opened(promptIndex, choice, breaker));
    return session;
  }

  @Override
  void finished(Generator.Session session) {
    Opened o = open.remove(session);
    GenerationResult result = session.result();
    metrics.generation(result);
    PromptState state = prompts.get(o.prompt());
    if (o.choice() < 0) { // a consistency sample
      state.samples.add(result.text());
      state.sampleTokens += result.generatedTokens();
    } else {
      completionTokens += result.generatedTokens();
      if (o.choice() % request.n() == 0) {
        cachedTokens += result.cachedPromptTokens(); // the prompt is counted once, with its first choice
      }
      state.waiting.add(new Events.Finished(o.choice(), result, o.breaker() == null ? null : o.breaker().report(),
          null));
    }
    if (++state.finished == perPrompt || request.consistency() == null) {
      release(state);
    }
    if (++done == sessions) {
      events.add(new Events.Done(promptTokens, completionTokens, cachedTokens));
    }
  }

  /** The finished choices of a prompt go out, scored against its samples when consistency was asked for. */
  private void release(PromptState state) {
    for (Events.Finished f : state.waiting) {
      Events.ConsistencyScore score = request.consistency() == null ? null : new Events.ConsistencyScore(
          Consistency.of(f.result().text(), state.samples), request.consistency().temperature(), state.sampleTokens);
      events.add(new Events.Finished(f.choice(), f.result(), f.breaker(), score));
    }
    state.waiting.clear();
  }

  private GenerationRequest generationRequest(int[] prompt, int choice, ConfidenceBreaker breaker) {
    int maxTokens = maxTokens(prompt);
    ParsedRequest.Sampling s = request.sampling();
    SamplingParams sampling = new SamplingParams(s.temperature(), s.topK(), s.topP(), seed + choice % request.n());
    boolean scored = request.confidence() || breaker != null;
    return GenerationRequest.builder(maxTokens, sampling)
        .stop(request.stop())
        .topLogprobs(request.logprobs() ? request.topLogprobs() : 0)
        .cancelled(this::stopReason)
        .taps(scored ? confidence.taps() : new int[0])
        .rawLogprobs(request.rawLogprobs())
        .scorer(scored ? confidence::token : null)
        .watcher(breaker)
        .adjustments(s.adjustments())
        .skipSpecialTokens(request.skipSpecialTokens())
        .ignoreEos(request.ignoreEos())
        .minTokens(Math.min(request.minTokens(), maxTokens))
        .constraint(request.constraint())
        .build();
  }

  /**
   * A consistency sample: the choice's request at the consistency temperature with a seed of its own, and nothing
   * a sample does not need (no logprobs, no probe, no breaker).
   */
  private GenerationRequest sampleRequest(int[] prompt, int sample) {
    int maxTokens = maxTokens(prompt);
    ParsedRequest.Sampling s = request.sampling();
    SamplingParams sampling = new SamplingParams(request.consistency().temperature(), s.topK(), s.topP(),
        seed + request.n() + sample); // the choices draw with seed + 0 .. n - 1
    return GenerationRequest.builder(maxTokens, sampling)
        .stop(request.stop())
        .cancelled(this::stopReason)
        .adjustments(s.adjustments())
        .skipSpecialTokens(request.skipSpecialTokens())
        .minTokens(Math.min(request.minTokens(), maxTokens))
        .constraint(request.constraint())
        .build();
  }

  /** The most tokens a session of this prompt may generate: max_tokens, or the rest of the context window. */
  private int maxTokens(int[] prompt) {
    return request.maxTokens() != null ? request.maxTokens() : generator.contextWindow() - prompt.length;
  }

  /** Why every session of this job must stop now (the client left, the deadline passed), or null. */
  private FinishReason stopReason() {
    return cancelled ? FinishReason.CANCELLED : System.nanoTime() > deadlineNanos ? FinishReason.LENGTH : null;
  }

  /** The request's confidence breaker, watching every token or one phase's; null when none was asked for. */
  private ConfidenceBreaker breaker() {
    ParsedRequest.Breaker b = request.breaker();
    if (b == null) {
      return null;
    }
    ConfidenceBreaker.Selection selection = b.phase() == null ? ConfidenceBreaker.Selection.ALL
        : ThinkingSplitter.watching(b.phase(), request.reply().thinking(), model.tokenizer(),
            request.skipSpecialTokens());
    return new ConfidenceBreaker(b.window(), b.threshold(), selection);
  }

  /**
   * Completions with echo: the prompt as the model saw it (its tokens decoded: a lone surrogate the client sent is
   * U+FFFD here, as it was to the model), each token's character offset, and with logprobs each prompt token's record
   * from one forward (the first token has none).
   */
  private Events.Echo echo(int promptIndex, int[] prompt) {
    StreamDecoder decoder = new StreamDecoder(model.tokenizer());
    StringBuilder text = new StringBuilder();
    List<Integer> offsets = new ArrayList<>();
    for (int token : prompt) {
      offsets.add(text.length());
      text.append(decoder.push(token));
    }
    text.append(decoder.flush());
    List<TokenRecord> records = new ArrayList<>();
    if (request.logprobs()) {
      records = promptRecords(prompt);
    } else {
      offsets.clear();
    }
    return new Events.Echo(promptIndex, text.toString(), records, offsets);
  }

  private List<TokenRecord> promptRecords(int[] prompt) {
    List<TokenRecord> records = new ArrayList<>();
    ParsedRequest.Sampling sampling = request.sampling();
    SamplingParams params = new SamplingParams(sampling.temperature(), sampling.topK(), sampling.topP(), 0);
    try (Sequence s = model.backend().newSequence(prompt.length)) {
      Forward forward = s.forward(prompt, prompt.length);
      for (int t = 0; t < prompt.length; t++) {
        byte[] bytes = model.tokenizer().bytes(prompt[t]);
        if (t == 0) {
          records.add(new TokenRecord(0, prompt[0], bytes, Double.NaN, Double.NaN, Double.NaN,
              new TokenDistribution.Alternative[0], Source.TARGET, Double.NaN, -1, Double.NaN, null));
        } else {
          TokenDistribution d = TokenDistribution.of(forward.logits()[t - 1], params);
          records.add(TokenRecord.of(t, prompt[t], bytes, d, request.topLogprobs(), Source.TARGET,
              request.rawLogprobs()));
        }
      }
    }
    return records;
  }

  @Override
  void drop(Scheduler.DropReason why) {
    open.clear();
    events.add(new Events.Failed(switch (why) {
      case MODEL_FAILURE -> ApiException.server(500, null,
          "the model failed on this request (" + requestId + "); the server log has the details");
      case CANCELLED_WHILE_QUEUED -> ApiException.server(503, "cancelled", "request cancelled before it ran");
      case SHUTDOWN -> Scheduler.shuttingDown();
    }));
  }
}
