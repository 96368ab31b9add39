package dev.candor.engine.server;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One API request on the worker thread: every prompt × n choices, generated in turn, each streaming its released
 * output to the HTTP thread as {@link Events}. The worker never blocks on a client: a slow reader only lets the event
 * queue grow (bounded by max_tokens), and a client that leaves cancels the job at the next step.
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
  private boolean released;
  final int context;

  GenerationJob(String requestId, ParsedRequest request, LoadedModel model, Generator generator,
      ConfidenceModel confidence, long seed, long arrivalNanos, long deadlineNanos, ServerMetrics metrics) {
    super(requestId);
    this.request = request;
    this.model = model;
    this.generator = generator;
    this.confidence = confidence;
    this.seed = seed;
    this.deadlineNanos = deadlineNanos;
    this.metrics = metrics;
    this.arrivalNanos = arrivalNanos;
    this.context = generator.contextWindow();
  }

  /**
   * Fault injection for tests: called with each request's first prompt before it is generated; whatever it throws
   * fails that request as a model failure would. Null (always, outside tests).
   */
  static volatile java.util.function.Consumer<int[]> faultHook;

  @Override
  void run() {
    java.util.function.Consumer<int[]> hook = faultHook;
    if (hook != null) {
      hook.accept(request.prompts().get(0));
    }
    int promptTokens = 0;
    int completionTokens = 0;
    for (int p = 0; p < request.prompts().size(); p++) {
      int[] prompt = request.prompts().get(p);
      promptTokens += prompt.length;
      for (int i = 0; i < request.n(); i++) {
        int choice = p * request.n() + i;
        if (cancelled) {
          events.add(new Events.Failed(new ApiException(499, "cancelled", null, null, "cancelled")));
          return;
        }
        if (request.echo()) {
          echo(choice, p, prompt);
        }
        Breaker breaker = request.breaker() == null ? null : new Breaker(request.breaker(), confidence);
        GenerationResult result = generator.generate(prompt, generationRequest(prompt, i, breaker),
            (records, offsets, text) -> {
              if (breaker != null) {
                records.forEach(breaker::observe);
              }
              if (!released) {
                released = true;
                metrics.firstToken(System.nanoTime() - arrivalNanos);
              }
              events.add(new Events.Released(choice, records, offsets, text));
            });
        completionTokens += result.generatedTokens();
        metrics.generation(result);
        events.add(new Events.Finished(choice, result, breaker == null ? null : breaker.report()));
      }
    }
    events.add(new Events.Done(promptTokens, completionTokens));
  }

  private GenerationRequest generationRequest(int[] prompt, int choice, Breaker breaker) {
    int maxTokens = request.maxTokens() != null ? request.maxTokens() : context - prompt.length;
    SamplingParams sampling = new SamplingParams(request.temperature(), request.topK(), request.topP(), seed + choice);
    GenerationRequest.StopCheck stop = () -> {
      if (cancelled) {
        return FinishReason.CANCELLED;
      }
      if (System.nanoTime() > deadlineNanos) {
        return FinishReason.LENGTH;
      }
      return breaker != null && breaker.tripped() ? FinishReason.LOW_CONFIDENCE : null;
    };
    int tap = request.confidence() || breaker != null ? confidence.tap() : -1;
    return new GenerationRequest(maxTokens, sampling, request.stop(), request.logprobs() ? request.topLogprobs() : 0,
        false, stop, tap, null, request.rawLogprobs());
  }

  /** Completions with echo: the prompt's text, and with logprobs the prompt tokens' records from one forward. */
  private void echo(int choice, int promptIndex, int[] prompt) {
    String text = request.promptTexts().get(promptIndex);
    List<TokenRecord> records = new ArrayList<>();
    List<Integer> offsets = new ArrayList<>();
    if (request.logprobs()) {
      SamplingParams params = new SamplingParams(request.temperature(), request.topK(), request.topP(), 0);
      try (Sequence s = model.backend().newSequence(prompt.length)) {
        Forward forward = s.forward(prompt, prompt.length);
        int offset = 0;
        for (int t = 0; t < prompt.length; t++) {
          byte[] bytes = model.tokenizer().bytes(prompt[t]);
          TokenRecord r;
          if (t == 0) {
            r = new TokenRecord(0, prompt[0], bytes, Double.NaN, Double.NaN, Double.NaN,
                new TokenDistribution.Alternative[0], Source.TARGET, Double.NaN, -1, Double.NaN, null);
          } else {
            TokenDistribution d = TokenDistribution.of(forward.logits()[t - 1], params);
            r = TokenRecord.of(t, prompt[t], bytes, d, request.topLogprobs(), Source.TARGET, request.rawLogprobs());
          }
          records.add(r);
          offsets.add(Math.min(offset, text.length()));
          offset += new String(bytes, java.nio.charset.StandardCharsets.UTF_8).length();
        }
      }
    }
    events.add(new Events.Echo(choice, text, records, offsets));
  }

  @Override
  void abandon(String why) {
    events.add(new Events.Failed(why.equals("internal error")
        ? new ApiException(500, "server_error", null, null, "the model failed on this request")
        : new ApiException(503, "server_error", null, "cancelled", "request not run: " + why)));
  }

  /**
   * What the breaker saw: its settings, whether it tripped and at which token, and the mean p(correct) of the last
   * full window (NaN when fewer than window tokens were measured: "nothing to measure", not "measured and low").
   */
  record BreakerReport(int window, double threshold, boolean tripped, int trippedAt, double windowMean, int measured) {}

  /** The confidence circuit breaker: trips when the mean p(correct) of the last window tokens drops below threshold. */
  static final class Breaker {
    private final ParsedRequest.Breaker settings;
    private final ConfidenceModel model;
    private final Deque<Double> window = new ArrayDeque<>();
    private double sum;
    private int measured;
    private volatile boolean tripped;
    private double windowMean = Double.NaN;
    private int trippedAt = -1;

    Breaker(ParsedRequest.Breaker settings, ConfidenceModel model) {
      this.settings = settings;
      this.model = model;
    }

    void observe(TokenRecord record) {
      double p = model.token(record);
      if (Double.isNaN(p)) {
        return;
      }
      measured++;
      window.addLast(p);
      sum += p;
      if (window.size() > settings.window()) {
        sum -= window.removeFirst();
      }
      if (window.size() == settings.window()) {
        windowMean = sum / window.size();
        if (windowMean < settings.threshold() && !tripped) {
          tripped = true;
          trippedAt = record.index();
        }
      }
    }

    boolean tripped() {
      return tripped;
    }

    BreakerReport report() {
      return new BreakerReport(settings.window(), settings.threshold(), tripped, trippedAt, windowMean, measured);
    }
  }
}
