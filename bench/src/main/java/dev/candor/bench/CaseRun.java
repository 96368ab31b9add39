package dev.candor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.confidence.StackedProbe;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.cpu.WeightMemory;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.model.WeightFormat;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One case of the end-to-end benchmark (a model at a weight format), in a JVM of its own so that its peak RSS is its
 * own: load, prompt processing, plain greedy decoding through the generator as the server runs it, the step costs,
 * and for a model with a drafter and probe the speculative speed and the record and probe costs. Writes the logits of
 * every position of prompt + greedy answer, teacher-forced, for {@link EndToEnd} to compare with the peer's. Prints
 * one JSON object.
 *
 * <pre>CaseRun TARGET_DIR FORMAT(native|f32|bf16|q8_0) MEMORY(mapped|copied) PROMPT_IDS DECODE_TOKENS REPS LOGITS_OUT
 *     [DRAFTER PROBE]</pre>
 */
public final class CaseRun {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws IOException {
    Path target = Path.of(args[0]);
    WeightFormat format = WeightFormat.parse(args[1]);
    WeightMemory memory = WeightMemory.parse(args[2]);
    int[] prompt = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
    int decodeTokens = Integer.parseInt(args[4]);
    int reps = Integer.parseInt(args[5]);
    Path logitsOut = Path.of(args[6]);
    Path drafter = args.length > 7 ? Path.of(args[7]) : null;
    Path probe = args.length > 8 ? Path.of(args[8]) : null;
    ObjectNode r = JSON.createObjectNode();
    var options = new JavaBackend.Options(format, memory, JavaBackend.defaultThreads());
    r.put("weight_memory", memory.label());
    long t0 = System.nanoTime();
    try (LoadedModel model = LoadedModel.load(target, "cpu", "java", options);
        LoadedModel draft = drafter == null ? null : LoadedModel.load(drafter, "cpu", "java", options)) {
      r.put("load_seconds", (System.nanoTime() - t0) / 1e9);
      measure(model, draft, probe, prompt, decodeTokens, reps, logitsOut, r);
    }
    if (r.get("parameters").asLong() <= 2_000_000_000L) {
      oneThreadCpu(target, new JavaBackend.Options(format, memory, 1), prompt, r);
    }
    r.put("peak_rss_mb", EndToEnd.peakRssMb());
    r.put("process_cpu_seconds",
        ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime()
            / 1e9);
    System.out.println(JSON.writeValueAsString(r));
  }

  static void measure(LoadedModel model, LoadedModel drafter, Path probe, int[] prompt, int decodeTokens, int reps,
      Path logitsOut, ObjectNode r) throws IOException {
    JavaBackend backend = (JavaBackend) model.backend();
    Qwen2Config config = backend.config();
    r.put("backend", backend.description());
    r.put("format", backend.weightFormat().label());
    r.put("threads", backend.threads());
    r.put("parameters", config.parameterCount());
    r.put("weight_bytes", backend.weightBytes());
    r.put("weights_in_place", backend.weightsInPlace());
    r.put("prompt_tokens", prompt.length);
    r.put("decode_tokens", decodeTokens);

    r.put("prefill_tokens_per_second", prefillTokensPerSecond(backend, prompt, reps));

    // plain greedy decoding through the generator, as the server runs it (a full record of every token)
    GenerationRequest request = plainRequest(decodeTokens);
    Run p = run(plainGenerator(model), prompt, request, reps);
    r.put("decode_tokens_per_second", p.tokensPerSecond());
    r.put("time_to_first_token_ms", p.firstTokenMs());
    r.put("inter_token_ms_p50", p.p50());
    r.put("inter_token_ms_p99", p.p99());
    int[] greedy = p.result().tokens().stream().mapToInt(TokenRecord::token).toArray();
    r.putPOJO("greedy_tokens", greedy);
    long kv = 2L * config.numHiddenLayers() * (prompt.length + decodeTokens / 2) * config.numKeyValueHeads()
        * config.headDim() * 4;
    r.put("bytes_per_token", backend.bytesPerToken() + kv);

    // the step costs that set speculative decoding's speed
    int k = 4;
    double decodeStep = stepSeconds(backend, new int[] {prompt[prompt.length - 1]});
    double verifyStep = stepSeconds(backend, Arrays.copyOf(prompt, k + 1));
    r.put("decode_step_ms", decodeStep * 1e3);
    r.put("verify_step_ms_k4", verifyStep * 1e3);
    if (drafter != null) {
      speculative(model, drafter, prompt, request, reps, k, verifyStep, p, r);
    }
    recordAndProbeCosts(backend, probe, prompt, decodeStep, r);
    writeTeacherForcedLogits(backend, prompt, greedy, logitsOut);
  }

  /**
   * Prompt processing: tokens/s of one forward over the whole prompt, the median of 3 at least (or as many as fill a
   * second, at most 200), after warming up for a second (a tiny model's prefill is done before the JIT has compiled
   * its kernels).
   */
  static double prefillTokensPerSecond(JavaBackend backend, int[] prompt, int reps) {
    long warm = System.nanoTime() + 1_000_000_000L;
    do {
      try (Sequence s = backend.newSequence(prompt.length)) {
        s.prefill(prompt);
      }
    } while (System.nanoTime() < warm);
    List<Double> prefill = new ArrayList<>();
    long start = System.nanoTime();
    while (prefill.size() < Math.max(3, reps)
        || (System.nanoTime() - start < 1_000_000_000L && prefill.size() < 200)) {
      try (Sequence s = backend.newSequence(prompt.length)) {
        long t0 = System.nanoTime();
        s.prefill(prompt);
        prefill.add((System.nanoTime() - t0) / 1e9);
      }
    }
    return prompt.length / EndToEnd.median(prefill.stream().mapToDouble(Double::doubleValue).toArray());
  }

  /** Plain greedy decoding of {@code tokens} tokens, as the server runs it: a full record of every token. */
  static GenerationRequest plainRequest(int tokens) {
    return GenerationRequest.of(tokens, SamplingParams.greedy()).withIgnoreEos(true).withTopLogprobs(20);
  }

  static Generator plainGenerator(LoadedModel model) {
    return new Generator(model.backend(), null, model.tokenizer(), model.eosTokens(), 4);
  }

  private static void speculative(LoadedModel model, LoadedModel drafter, int[] prompt, GenerationRequest request,
      int reps, int k, double verifyStep, Run plain, ObjectNode r) {
    Generator speculative = new Generator(model.backend(), drafter.backend(), model.tokenizer(), model.eosTokens(), k);
    Run s = run(speculative, prompt, request, reps);
    double draftStep = stepSeconds(drafter.backend(), new int[] {prompt[prompt.length - 1]});
    double alpha = s.result().stats().drafterAcceptance();
    // tokens per step with per-token acceptance a: (1 - a^(k+1)) / (1 - a); a from the measured rate over k drafts
    double perToken = perTokenAcceptance(alpha, k);
    double tokensPerStep = perToken >= 1 ? k + 1 : (1 - Math.pow(perToken, k + 1)) / (1 - perToken);
    r.put("speculative_tokens_per_second", s.tokensPerSecond());
    r.put("drafter_acceptance", alpha);
    r.put("draft_step_ms", draftStep * 1e3);
    r.put("expected_speculative_tokens_per_second", tokensPerStep / (k * draftStep + verifyStep));
    r.put("speedup", s.tokensPerSecond() / plain.tokensPerSecond());
    r.put("coverage", s.result().stats().coverage());
  }

  /** The cost of a full distribution record per token (softmax, entropy, top-20) and, with a probe, of the probe. */
  static void recordAndProbeCosts(JavaBackend backend, Path probePath, int[] prompt, double decodeStep,
      ObjectNode r) {
    float[] logits;
    try (Sequence s = backend.newSequence(prompt.length)) {
      logits = s.prefill(prompt);
    }
    double record = EndToEnd.medianNanos(300, () -> {
      TokenDistribution d = TokenDistribution.of(logits.clone(), SamplingParams.greedy());
      TokenRecord.of(0, d.argmax(), new byte[0], d, 20, Source.TARGET);
    }) / 1e9;
    r.put("distribution_record_us", record * 1e6);
    r.put("distribution_record_fraction_of_step", record / decodeStep);
    if (probePath != null) {
      Probe probe = Probe.load(probePath, backend.config());
      float[][] hidden;
      try (Sequence s = backend.newSequence(prompt.length)) {
        Forward f = s.forward(prompt, 0, probe.taps());
        hidden = f.taps()[0];
      }
      // the probe's own input (the hidden state, then its record features), every head, as the server scores a token
      List<float[]> inputs = new ArrayList<>();
      for (float[] h : hidden) {
        inputs.add(probe.input(h, -0.25, 0.5));
      }
      List<float[]> line = inputs.subList(0, Math.min(12, inputs.size()));
      double token = EndToEnd.medianNanos(2000, () -> probe.probability(inputs.subList(0, 1), Probe.Level.TOKEN)) / 1e9;
      r.put("probe_token_us", token * 1e6);
      r.put("probe_line_us_12_tokens",
          EndToEnd.medianNanos(500, () -> probe.probability(line, Probe.Level.LINE)) / 1e3);
      r.put("probe_fraction_of_step", token / decodeStep);
      if (StackedProbe.isStack(probePath)) {
        stackCost(backend, StackedProbe.load(probePath), prompt, decodeStep, r);
      }
    }
  }

  /** What the lines' stack costs: a 12-token line scored by every member's every head, per token of the line. */
  private static void stackCost(JavaBackend backend, StackedProbe stack, int[] prompt, double decodeStep,
      ObjectNode r) {
    float[][][] taps;
    try (Sequence s = backend.newSequence(prompt.length)) {
      taps = s.forward(prompt, 0, stack.taps()).taps();
    }
    int n = Math.min(12, prompt.length);
    int hidden = backend.config().hiddenSize();
    List<float[]> line = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      float[] h = new float[taps.length * hidden];
      for (int t = 0; t < taps.length; t++) {
        System.arraycopy(taps[t][i], 0, h, t * hidden, hidden);
      }
      line.add(h);
    }
    double[] logprob = new double[n];
    double[] entropy = new double[n];
    Arrays.fill(logprob, -0.25);
    Arrays.fill(entropy, 0.5);
    double perLine = EndToEnd.medianNanos(300, () -> stack.lineProbability(line, logprob, entropy, 2)) / 1e9;
    r.put("stack_line_us_12_tokens", perLine * 1e6);
    r.put("stack_fraction_of_step_per_token", perLine / n / decodeStep);
  }

  /** Logits at every position of prompt + greedy[0 .. n-1] in one forward, little-endian float32 [positions, vocab]. */
  private static void writeTeacherForcedLogits(JavaBackend backend, int[] prompt, int[] greedy, Path out)
      throws IOException {
    int[] sequence = EndToEnd.teacherForced(prompt, greedy);
    float[][] logits;
    try (Sequence s = backend.newSequence(sequence.length)) {
      logits = s.forward(sequence, sequence.length).logits();
    }
    try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer row = ByteBuffer.allocate(logits[0].length * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (float[] l : logits) {
        row.clear();
        row.asFloatBuffer().put(l);
        while (row.hasRemaining()) {
          ch.write(row);
        }
      }
    }
  }

  /**
   * CPU time per token on one thread (the calling thread does all the work when there is one): prefill of the prompt
   * and plain decode steps. Unlike the wall clock it hardly changes when other jobs share the machine, so it compares
   * with the peer's own CPU time on one thread even then.
   */
  static void oneThreadCpu(Path target, JavaBackend.Options oneThread, int[] prompt, ObjectNode r) {
    var mx = ManagementFactory.getThreadMXBean();
    try (var checkpoint = dev.candor.engine.checkpoint.Checkpoint.open(target);
        JavaBackend one = JavaBackend.load(checkpoint, oneThread)) {
      double[] prefill = new double[3];
      double[] decode = new double[3];
      for (int rep = 0; rep < prefill.length + 1; rep++) { // the first is a warm-up
        try (Sequence s = one.newSequence(prompt.length + 16)) {
          long c0 = mx.getCurrentThreadCpuTime();
          s.prefill(prompt);
          long c1 = mx.getCurrentThreadCpuTime();
          for (int i = 0; i < 16; i++) {
            s.decode(prompt[i]);
          }
          long c2 = mx.getCurrentThreadCpuTime();
          if (rep > 0) {
            prefill[rep - 1] = (c1 - c0) / 1e9;
            decode[rep - 1] = (c2 - c1) / 1e9 / 16;
          }
        }
      }
      ObjectNode o = r.putObject("one_thread");
      o.put("prefill_cpu_seconds", EndToEnd.median(prefill));
      o.put("decode_cpu_seconds_per_token", EndToEnd.median(decode));
    }
  }

  /** One decode's figures: tokens/s after the first, time to first token, inter-token latency quantiles. */
  record Run(GenerationResult result, double tokensPerSecond, double firstTokenMs, double p50, double p99) {}

  /**
   * The median of at least {@code reps} generations, after warm-up generations for a second at least (one at the
   * least); a tiny model's generations repeat until they too fill a second (at most 200), since one of 96 tokens in
   * 0.1 ms steps, before the JIT has compiled the loop, measured the compiler more than the engine.
   */
  static Run run(Generator generator, int[] prompt, GenerationRequest request, int reps) {
    long warm = System.nanoTime() + 1_000_000_000L;
    do {
      generator.generate(prompt, request, (records, offsets, text) -> {});
    } while (System.nanoTime() < warm);
    List<Run> runs = new ArrayList<>();
    long start = System.nanoTime();
    while (runs.size() < reps || (System.nanoTime() - start < 1_000_000_000L && runs.size() < 200)) {
      List<Long> releases = new ArrayList<>();
      GenerationResult result = generator.generate(prompt, request, (records, offsets, text) -> {
        for (int t = 0; t < records.size(); t++) {
          releases.add(System.nanoTime());
        }
      });
      double[] gaps = new double[Math.max(0, releases.size() - 1)];
      for (int g = 0; g < gaps.length; g++) {
        gaps[g] = (releases.get(g + 1) - releases.get(g)) / 1e6;
      }
      Arrays.sort(gaps);
      var t = result.timings();
      double decodeSeconds = (t.totalNanos() - t.firstTokenNanos()) / 1e9;
      runs.add(new Run(result, (result.tokens().size() - 1) / decodeSeconds, t.firstTokenNanos() / 1e6,
          EndToEnd.quantile(gaps, 0.5), EndToEnd.quantile(gaps, 0.99)));
    }
    runs.sort((a, b) -> Double.compare(a.tokensPerSecond(), b.tokensPerSecond()));
    return runs.get(runs.size() / 2);
  }

  /** Median seconds of one forward of {@code tokens} at a 64-position context. */
  static double stepSeconds(dev.candor.engine.model.Backend backend, int[] tokens) {
    try (Sequence s = backend.newSequence(64 + tokens.length)) {
      int[] context = new int[64];
      Arrays.fill(context, tokens[0]);
      s.prefill(context);
      return EndToEnd.medianNanos(20, () -> {
        s.forward(tokens, tokens.length);
        s.truncate(64);
      }) / 1e9;
    }
  }

  /**
   * The per-token agreement a whose k-draft acceptance rate (a + a² + ... + a^k) / k equals the measured rate, by
   * bisection (the verifier stops at the first rejection, so later drafts of a step are never accepted).
   */
  static double perTokenAcceptance(double rate, int k) {
    double lo = 0;
    double hi = 1;
    for (int i = 0; i < 60; i++) {
      double a = (lo + hi) / 2;
      double sum = 0;
      for (int j = 1; j <= k; j++) {
        sum += Math.pow(a, j);
      }
      if (sum / k < rate) {
        lo = a;
      } else {
        hi = a;
      }
    }
    return (lo + hi) / 2;
  }
}
