package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.cuda.CudaBackend;
import dev.candor.engine.cuda.DriverGpu;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.BatchEntry;
import dev.candor.engine.model.Forward;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The CUDA backend on a GPU, in one run per checkpoint (bench/gpu/run.sh calls it): the bandwidth limit measured by a
 * device-to-device copy, decode speed as a fraction of it, the costs of a verify step and a draft step, speculative
 * decoding against plain decoding (with the given drafter and with a self-draft, the ceiling), the host-side cost of
 * the full distribution record per token, and agreement with the CPU path (Java backend, same BF16 weights) and with
 * Hugging Face transformers' logits and greedy tokens (written by bench/gpu/hf.py), and the aggregate decode speed of
 * 1, 2, 4 and 8 sequences through the batched forward against the same steps in turn. Writes one JSON object.
 *
 * <pre>
 * GpuBench --model DIR [--drafter DIR] [--hf DIR] [--cpu-check] [--tokens N] --out FILE.json
 * </pre>
 */
public final class GpuBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws IOException {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + args[i]);
      }
      boolean flag = i + 1 >= args.length || args[i + 1].startsWith("--");
      options.put(args[i].substring(2), flag ? "true" : args[++i]);
    }
    Path model = Path.of(require(options, "model"));
    Path out = Path.of(require(options, "out"));
    int tokens = Integer.parseInt(options.getOrDefault("tokens", "256"));
    ObjectNode r = JSON.createObjectNode();
    r.put("model", model.getFileName().toString());
    try (DriverGpu gpu = DriverGpu.open(0)) {
      r.put("device", gpu.name());
      r.put("bandwidth_gb_per_s", bandwidth(gpu) / 1e9);
      run(r, gpu, model, options, tokens);
    } catch (RuntimeException e) {
      r.put("error", e.toString());
      e.printStackTrace();
    }
    Files.writeString(out, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r));
    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r));
  }

  private static String require(Map<String, String> options, String name) {
    String value = options.get(name);
    if (value == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }

  /**
   * Bytes read plus bytes written per second by a 1 GiB device-to-device copy: the median of five timings of ten
   * copies each, after a warm-up.
   */
  static double bandwidth(DriverGpu gpu) {
    long bytes = 1L << 30;
    long a = gpu.alloc(bytes);
    long b = gpu.alloc(bytes);
    try {
      for (int i = 0; i < 3; i++) {
        gpu.copy(b, a, bytes);
      }
      gpu.synchronize();
      double[] rates = new double[5];
      for (int r = 0; r < rates.length; r++) {
        long from = r % 2 == 0 ? a : b;
        long to = r % 2 == 0 ? b : a;
        float ms = gpu.time(() -> {
          for (int i = 0; i < 10; i++) {
            gpu.copy(to, from, bytes);
          }
        });
        rates[r] = 2.0 * bytes * 10 / (ms / 1e3);
      }
      return EndToEnd.median(rates);
    } finally {
      gpu.free(a);
      gpu.free(b);
    }
  }

  private static void run(ObjectNode r, DriverGpu gpu, Path model, Map<String, String> options, int tokens)
      throws IOException {
    long t0 = System.nanoTime();
    try (Checkpoint checkpoint = Checkpoint.open(model); CudaBackend target = CudaBackend.load(checkpoint, gpu);
        Tokenizer tokenizer = Tokenizer.load(checkpoint.tokenizerJson())) {
      r.put("load_seconds", (System.nanoTime() - t0) / 1e9);
      r.put("gemm_library", String.valueOf(gpu.gemmLibrary()));
      r.put("gemm_prefill", target.gemmPrefill());
      Path hf = options.containsKey("hf") ? Path.of(options.get("hf")) : null;
      JavaBackend cpu = options.containsKey("cpu-check") ? JavaBackend.load(checkpoint) : null;
      Checkpoint drafterCheckpoint = options.containsKey("drafter") ? Checkpoint.open(Path.of(options.get("drafter")))
          : null;
      try (CudaBackend drafter = drafterCheckpoint == null ? null : CudaBackend.load(drafterCheckpoint, gpu)) {
        if (drafter != null) {
          r.put("drafter_model", drafterCheckpoint.dir().getFileName().toString());
        }
        measure(r, checkpoint, target, target.bytesReadPerToken(), r.get("bandwidth_gb_per_s").asDouble() * 1e9,
            tokenizer, drafter, hf, cpu, tokens);
        deviceTime(r, checkpoint, target, r.get("bandwidth_gb_per_s").asDouble() * 1e9, tokens);
      } finally {
        if (drafterCheckpoint != null) {
          drafterCheckpoint.close();
        }
        if (cpu != null) {
          cpu.close();
        }
      }
    }
  }

  /**
   * The device's own time for a decode step (graph replays back to back, events around them), against the bandwidth
   * limit, and what the host adds to a step (upload, launch, download, Java).
   */
  static void deviceTime(ObjectNode r, Checkpoint checkpoint, CudaBackend target, double bandwidth, int tokens) {
    int[] prompt = prompt(null, checkpoint.config().vocabSize());
    for (int context : new int[] {prompt.length, 2048}) {
      int[] ids = new int[Math.min(context, checkpoint.config().maxPositionEmbeddings() - 16)];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = prompt[i % prompt.length];
      }
      try (Sequence s = target.newSequence(ids.length + 8)) {
        int next = s.forwardSummaries(ids, 1).summaries()[0].argmax();
        s.forwardSummaries(new int[] {next}, 1);
        double ms = target.replayMillis(s, 200);
        long bytes = target.bytesReadPerToken() + kvBytes(checkpoint, ids.length + 1);
        String key = context == prompt.length ? "" : "_at_2k_context";
        r.put("device_step_ms" + key, ms);
        r.put("device_fraction_of_bandwidth_limit" + key, (bytes / bandwidth) / (ms / 1e3));
      }
    }
    double step = r.get("decode_step_ms").asDouble();
    r.put("host_fraction_of_step", (step - r.get("device_step_ms").asDouble()) / step);
  }

  /**
   * Everything but the GPU itself, on any backend (the bench's test runs it on the Java backend): agreement with
   * transformers' reference in {@code hf} and with {@code cpu}, decode and verify step costs, the generator with
   * full records, the host cost of a record, and speculative decoding with a self-draft and with {@code drafter}.
   */
  static void measure(ObjectNode r, Checkpoint checkpoint, Backend target, long weightBytes, double bandwidth,
      Tokenizer tokenizer, Backend drafter, Path hf, Backend cpu, int tokens) throws IOException {
    r.put("backend", target.description());
    r.put("parameters", checkpoint.config().parameterCount());
    int[] prompt = prompt(hf, checkpoint.config().vocabSize());
    r.put("prompt_tokens", prompt.length);

    // agreement: Hugging Face on this GPU, and Candor's CPU path, on the same weights
    if (hf != null) {
      r.set("vs_transformers", compareWithTransformers(target, hf, prompt));
    }
    if (cpu != null) {
      r.set("vs_cpu", compare(cpu, target, prompt, 32));
    }

    // decode: the raw greedy loop on summaries (graph replay with the summary kernel, 44 floats to the host), and the
    // same on full logits (the vocabulary to the host, argmax there), as sampling at T > 0 still needs
    double step = decodeStepSeconds(target, prompt, tokens);
    double logitsStep = decodeStepOnLogitsSeconds(target, prompt, tokens);
    r.put("decode_step_on_logits_ms", logitsStep * 1e3);
    long bytes = weightBytes + kvBytes(checkpoint, prompt.length + tokens / 2);
    r.put("decode_step_ms", step * 1e3);
    r.put("decode_tokens_per_second", 1 / step);
    r.put("bytes_per_token", bytes);
    r.put("bandwidth_limit_tokens_per_second", bandwidth / bytes);
    r.put("fraction_of_bandwidth_limit", (1 / step) / (bandwidth / bytes));
    int[] longPrompt = new int[Math.min(2048, checkpoint.config().maxPositionEmbeddings() - 128)];
    for (int i = 0; i < longPrompt.length; i++) {
      longPrompt[i] = prompt[i % prompt.length];
    }
    r.put("decode_step_ms_at_2k_context", decodeStepSeconds(target, longPrompt, 64) * 1e3);
    r.put("long_context_tokens", longPrompt.length);
    r.put("prefill_tokens_per_second", longPrompt.length / prefillSeconds(target, longPrompt));

    // several sequences decoding at once: one batched forward a step against the same steps in turn
    r.set("batched_decode", batchedDecode(target, prompt, Math.max(8, tokens / 4), weightBytes, bandwidth));

    int k = 4;
    double verify = verifyStepSeconds(target, prompt, k + 1);
    r.put("verify_step_ms_k4", verify * 1e3);
    r.put("verify_over_decode", verify / step);

    // the generator as the server runs it: every token's full distribution record
    GenerationRequest request = GenerationRequest.of(tokens, SamplingParams.greedy()).withIgnoreEos(true)
        .withTopLogprobs(20);
    Generator plain = new Generator(target, null, tokenizer, Set.of(), k);
    double plainRate = generate(plain, prompt, request).rate();
    r.put("generator_tokens_per_second", plainRate);
    // what the generator adds to a step: records from the summaries, detokenizing, the emitter
    r.put("generator_overhead_fraction_of_step", (1 / plainRate - step) / step);
    // the record from full logits (softmax, entropy, top-20 over the vocabulary), on the host, as sampling needs
    float[] logits;
    try (Sequence s = target.newSequence(prompt.length)) {
      logits = s.prefill(prompt);
    }
    double record = EndToEnd.medianNanos(200, () -> {
      TokenDistribution d = TokenDistribution.of(logits.clone(), SamplingParams.greedy());
      TokenRecord.of(0, d.argmax(), new byte[0], d, 20, Source.TARGET);
    }) / 1e9;
    r.put("distribution_record_us", record * 1e6);
    r.put("distribution_record_fraction_of_step", record / step);

    // the probe: a middle layer's hidden state to the host each step, and the probe's arithmetic there (a random
    // probe of the real width: 32 down-projections of the hidden state, max-pooled, logistic)
    int tap = checkpoint.config().numHiddenLayers() / 2;
    double tapStep = decodeStepSeconds(target, prompt, tokens, tap);
    Probe probe = randomProbe(tap, checkpoint.config().hiddenSize());
    float[] hidden;
    try (Sequence seq = target.newSequence(prompt.length)) {
      hidden = seq.forward(prompt, 0, tap).taps()[0][prompt.length - 1];
    }
    double probeToken = EndToEnd.medianNanos(2000, () -> probe.logit(List.of(hidden))) / 1e9;
    r.put("tap_download_fraction_of_step", (tapStep - step) / step);
    r.put("probe_token_us", probeToken * 1e6);
    r.put("probe_fraction_of_step", (tapStep - step + probeToken) / step);

    // speculative decoding: self-draft (every draft accepted at T=0: the ceiling), then the given drafter
    ObjectNode self = r.putObject("self_draft");
    Generated s = generate(new Generator(target, target, tokenizer, Set.of(), k), prompt, request);
    self.put("tokens_per_second", s.rate());
    self.put("acceptance", s.result().stats().drafterAcceptance());
    self.put("speedup_over_generator", s.rate() / plainRate);
    if (drafter != null) {
      ObjectNode d = r.putObject("drafter");
      double draftStep = decodeStepSeconds(drafter, prompt, 64);
      d.put("draft_step_ms", draftStep * 1e3);
      d.put("draft_over_decode", draftStep / step);
      Generated g = generate(new Generator(target, drafter, tokenizer, Set.of(), k), prompt, request);
      d.put("tokens_per_second", g.rate());
      d.put("acceptance", g.result().stats().drafterAcceptance());
      d.put("speedup_over_generator", g.rate() / plainRate);
      // what acceptance a would buy with these step costs: tokens per step (1 - a^(k+1)) / (1 - a)
      ObjectNode expected = d.putObject("expected_speedup_at_acceptance");
      for (double a : new double[] {0.5, 0.7, 0.8, 0.9}) {
        double perStep = (1 - Math.pow(a, k + 1)) / (1 - a);
        expected.put(String.valueOf(a), perStep / ((k * draftStep + verify) / step));
      }
    }
  }

  /** The prompt ids bench/gpu/hf.py wrote (hf/reference.json), else 64 fixed ids. */
  static int[] prompt(Path hf, int vocab) {
    if (hf != null) {
      JsonNode meta;
      try {
        meta = JSON.readTree(hf.resolve("reference.json").toFile());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      int[] ids = new int[meta.get("prompt").size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = meta.get("prompt").get(i).asInt();
      }
      return ids;
    }
    int[] ids = new int[64];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = (int) ((i * 2654435761L) % Math.min(vocab, 150000));
    }
    return ids;
  }

  /** Candor against transformers' logits for the prompt's last rows and its greedy continuation. */
  static ObjectNode compareWithTransformers(Backend target, Path hf, int[] prompt) throws IOException {
    JsonNode meta = JSON.readTree(hf.resolve("reference.json").toFile());
    int rows = meta.get("logit_rows").asInt();
    int vocab = target.config().vocabSize();
    float[][] expected = new float[rows][vocab];
    try (FileChannel channel = FileChannel.open(hf.resolve("logits.f32"), StandardOpenOption.READ);
        Arena arena = Arena.ofConfined()) {
      MemorySegment data = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
      for (int i = 0; i < rows; i++) {
        MemorySegment.copy(data, ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i * vocab,
            expected[i], 0, vocab);
      }
    }
    int[] greedy = new int[meta.get("greedy").size()];
    for (int i = 0; i < greedy.length; i++) {
      greedy[i] = meta.get("greedy").get(i).asInt();
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("transformers", meta.path("transformers").asText());
    try (Sequence s = target.newSequence(prompt.length + greedy.length + 1)) {
      float[][] actual = s.forward(prompt, rows).logits();
      o.put("logits_relative_error", relativeError(expected, actual));
      o.put("argmax_agreeing_rows", agreeingArgmax(expected, actual));
      o.put("rows", rows);
      int[] ours = greedy(s, actual[rows - 1], greedy.length);
      o.put("greedy_tokens_agreeing", prefix(greedy, ours));
      o.put("greedy_tokens", greedy.length);
    }
    return o;
  }

  /** Two backends on the same prompt: logits of every position, and the greedy continuation. */
  static ObjectNode compare(Backend expected, Backend actual, int[] prompt, int continuation) {
    ObjectNode o = JSON.createObjectNode();
    try (Sequence a = expected.newSequence(prompt.length + continuation + 1);
        Sequence b = actual.newSequence(prompt.length + continuation + 1)) {
      float[][] e = a.forward(prompt, prompt.length).logits();
      float[][] g = b.forward(prompt, prompt.length).logits();
      o.put("logits_relative_error", relativeError(e, g));
      o.put("argmax_agreeing_rows", agreeingArgmax(e, g));
      o.put("rows", prompt.length);
      o.put("greedy_tokens_agreeing", prefix(greedy(a, e[e.length - 1], continuation), greedy(b, g[g.length - 1],
          continuation)));
      o.put("greedy_tokens", continuation);
    }
    return o;
  }

  /** ‖actual − expected‖ / ‖expected‖ over all rows. */
  static double relativeError(float[][] expected, float[][] actual) {
    double diff = 0, norm = 0;
    for (int i = 0; i < expected.length; i++) {
      for (int j = 0; j < expected[i].length; j++) {
        double d = actual[i][j] - expected[i][j];
        diff += d * d;
        norm += (double) expected[i][j] * expected[i][j];
      }
    }
    return Math.sqrt(diff / norm);
  }

  static int agreeingArgmax(float[][] expected, float[][] actual) {
    int agree = 0;
    for (int i = 0; i < expected.length; i++) {
      agree += argmax(expected[i]) == argmax(actual[i]) ? 1 : 0;
    }
    return agree;
  }

  static int[] greedy(Sequence s, float[] logits, int n) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = argmax(logits);
      if (i + 1 < n) {
        logits = s.decode(out[i]);
      }
    }
    return out;
  }

  static int prefix(int[] a, int[] b) {
    int n = 0;
    while (n < Math.min(a.length, b.length) && a[n] == b[n]) {
      n++;
    }
    return n;
  }

  static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * Median seconds per greedy decode step after a prompt, on summaries: the path greedy serving takes (with the
   * hidden states of {@code taps} to the host too, as a probe needs).
   */
  static double decodeStepSeconds(Backend backend, int[] prompt, int steps, int... taps) {
    double[] runs = new double[3];
    for (int r = 0; r < runs.length; r++) {
      try (Sequence s = backend.newSequence(prompt.length + steps + 16)) {
        int next = s.forwardSummaries(prompt, 1, taps).summaries()[0].argmax();
        for (int i = 0; i < 8; i++) { // warm-up: graph capture
          next = s.forwardSummaries(new int[] {next}, 1, taps).summaries()[0].argmax();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) {
          next = s.forwardSummaries(new int[] {next}, 1, taps).summaries()[0].argmax();
        }
        runs[r] = (System.nanoTime() - t0) / 1e9 / steps;
      }
    }
    return EndToEnd.median(runs);
  }

  /** The same on full logits: the vocabulary to the host, argmax there. */
  static double decodeStepOnLogitsSeconds(Backend backend, int[] prompt, int steps) {
    double[] runs = new double[3];
    for (int r = 0; r < runs.length; r++) {
      try (Sequence s = backend.newSequence(prompt.length + steps + 16)) {
        float[] logits = s.prefill(prompt);
        for (int i = 0; i < 8; i++) {
          logits = s.decode(argmax(logits));
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) {
          logits = s.decode(argmax(logits));
        }
        runs[r] = (System.nanoTime() - t0) / 1e9 / steps;
      }
    }
    return EndToEnd.median(runs);
  }

  static double prefillSeconds(Backend backend, int[] prompt) {
    double[] runs = new double[3];
    for (int r = 0; r < runs.length; r++) {
      try (Sequence s = backend.newSequence(prompt.length)) {
        long t0 = System.nanoTime();
        s.prefill(prompt);
        runs[r] = (System.nanoTime() - t0) / 1e9;
      }
    }
    return EndToEnd.median(runs);
  }

  /** Median seconds of a forward of n tokens with n logits, rolled back each time. */
  static double verifyStepSeconds(Backend backend, int[] prompt, int n) {
    try (Sequence s = backend.newSequence(prompt.length + n)) {
      s.prefill(prompt);
      int[] draft = Arrays.copyOf(prompt, n);
      for (int i = 0; i < 8; i++) {
        s.verify(draft);
        s.truncate(prompt.length);
      }
      double[] times = new double[64];
      for (int i = 0; i < times.length; i++) {
        long t0 = System.nanoTime();
        s.verify(draft);
        times[i] = (System.nanoTime() - t0) / 1e9;
        s.truncate(prompt.length);
      }
      return EndToEnd.median(times);
    }
  }

  /** The batch sizes {@link #batchedDecode} measures. */
  static final int[] BATCH_SIZES = {1, 2, 4, 8};

  /**
   * Aggregate greedy decode tokens/s of B sequences stepping together, one batched forward a step
   * ({@link Backend#forward(List)}: the rows of all B through one pass, every weight read once), against B other
   * sequences with the same prompts stepping in turn (B forwards of one row), for each B of {@link #BATCH_SIZES}; the
   * two are timed in alternating blocks, so drift falls on both. The two paths' greedy tokens are compared (on the
   * emulator and the Java backend they are the same bits; on a GPU near-ties may part). Self-checks, which mark the
   * whole measure invalid with the reason: see {@link #batchedChecks}.
   */
  static ObjectNode batchedDecode(Backend target, int[] prompt, int steps, long weightBytes, double bandwidth) {
    ObjectNode out = JSON.createObjectNode();
    int blocks = 4;
    int perBlock = Math.max(2, steps / blocks);
    out.put("steps", blocks * perBlock);
    ObjectNode sizes = out.putObject("sizes");
    List<String> invalid = new ArrayList<>();
    for (int b : BATCH_SIZES) {
      int[][] together = new int[b][blocks * perBlock], apart = new int[b][blocks * perBlock];
      double[] seconds = new double[2]; // together, apart
      List<Sequence> open = new ArrayList<>();
      try {
        Stepper batched = new Stepper(target, prompt, b, blocks * perBlock + 8, open);
        Stepper inTurn = new Stepper(target, prompt, b, blocks * perBlock + 8, open);
        for (int i = 0; i < 4; i++) { // warm-up: graph capture
          batched.together(null, 0);
          inTurn.inTurn(null, 0);
        }
        for (int block = 0; block < blocks; block++) {
          long t0 = System.nanoTime();
          for (int i = 0; i < perBlock; i++) {
            batched.together(together, block * perBlock + i);
          }
          long t1 = System.nanoTime();
          for (int i = 0; i < perBlock; i++) {
            inTurn.inTurn(apart, block * perBlock + i);
          }
          seconds[0] += (t1 - t0) / 1e9;
          seconds[1] += (System.nanoTime() - t1) / 1e9;
        }
      } finally {
        open.forEach(Sequence::close);
      }
      ObjectNode o = sizes.putObject(String.valueOf(b));
      double batchedRate = (double) b * blocks * perBlock / seconds[0];
      double inTurnRate = (double) b * blocks * perBlock / seconds[1];
      o.put("batched_tokens_per_second", batchedRate);
      o.put("in_turn_tokens_per_second", inTurnRate);
      o.put("batched_over_in_turn", batchedRate / inTurnRate);
      o.put("batched_step_ms", seconds[0] / (blocks * perBlock) * 1e3);
      int agreeing = 0;
      for (int i = 0; i < b; i++) {
        agreeing += prefix(together[i], apart[i]);
      }
      o.put("greedy_tokens_agreeing", agreeing);
      o.put("greedy_tokens", b * blocks * perBlock);
      invalid.addAll(batchedChecks(b, batchedRate, inTurnRate, weightBytes, bandwidth));
    }
    out.put("valid", invalid.isEmpty());
    invalid.forEach(out.putArray("invalid_reasons")::add);
    return out;
  }

  /**
   * What a batched decode measure cannot show if the clocks and the work were honest: a batched step of B rows
   * cheaper than 1/B of B steps of one (it does at least one step's work: batched over in turn at most B, with 10%
   * for noise), or an aggregate above B tokens per weight read at the copy rate (a step reads every weight once at
   * least: at most B × bandwidth / weight bytes, again with 10%). Empty when neither.
   */
  static List<String> batchedChecks(int b, double batchedRate, double inTurnRate, long weightBytes,
      double bandwidth) {
    List<String> reasons = new ArrayList<>();
    if (!(batchedRate > 0) || !(inTurnRate > 0)) {
      reasons.add("B=" + b + ": a rate that is not positive (" + batchedRate + ", " + inTurnRate + ")");
      return reasons;
    }
    if (batchedRate / inTurnRate > 1.1 * b) {
      reasons.add("B=" + b + ": batched over in turn " + batchedRate / inTurnRate + " > B");
    }
    double limit = b * bandwidth / weightBytes;
    if (batchedRate > 1.1 * limit) {
      reasons.add("B=" + b + ": " + batchedRate + " tokens/s > B × the bandwidth limit " + limit);
    }
    return reasons;
  }

  /** B greedy sequences decoding on summaries, each from its own rotation of the prompt. */
  private static final class Stepper {
    private final Backend backend;
    private final List<Sequence> sequences = new ArrayList<>();
    private final int[] next;

    Stepper(Backend backend, int[] prompt, int b, int steps, List<Sequence> open) {
      this.backend = backend;
      next = new int[b];
      for (int i = 0; i < b; i++) {
        int[] own = new int[prompt.length];
        for (int j = 0; j < own.length; j++) {
          own[j] = prompt[(j + i) % prompt.length];
        }
        Sequence s = backend.newSequence(prompt.length + steps + 1);
        open.add(s);
        sequences.add(s);
        next[i] = s.forwardSummaries(own, 1).summaries()[0].argmax();
      }
    }

    /** One step of every sequence in one batched forward; tokens[i][at] = sequence i's new token (null: not kept). */
    void together(int[][] tokens, int at) {
      List<BatchEntry> batch = new ArrayList<>(next.length);
      for (int i = 0; i < next.length; i++) {
        batch.add(new BatchEntry(sequences.get(i), new int[] {next[i]}, 1, true, new int[0]));
      }
      List<Forward> out = backend.forward(batch);
      for (int i = 0; i < next.length; i++) {
        next[i] = out.get(i).summaries()[0].argmax();
        if (tokens != null) {
          tokens[i][at] = next[i];
        }
      }
    }

    /** The same step, one forward per sequence. */
    void inTurn(int[][] tokens, int at) {
      for (int i = 0; i < next.length; i++) {
        next[i] = sequences.get(i).forwardSummaries(new int[] {next[i]}, 1).summaries()[0].argmax();
        if (tokens != null) {
          tokens[i][at] = next[i];
        }
      }
    }
  }

  /** A probe of the shape Candor trains (width 32, max-pooled), with random weights: its cost, not its answers. */
  static Probe randomProbe(int tap, int hidden) {
    java.util.SplittableRandom random = new java.util.SplittableRandom(7);
    int width = 32;
    float[] proj = new float[width * hidden];
    for (int i = 0; i < proj.length; i++) {
      proj[i] = (float) (random.nextGaussian() / Math.sqrt(hidden));
    }
    float[] bias = new float[width];
    float[] out = new float[width];
    for (int i = 0; i < width; i++) {
      out[i] = (float) random.nextGaussian();
    }
    Probe.Platt[] platt = new Probe.Platt[Probe.Level.values().length];
    java.util.Arrays.fill(platt, Probe.Platt.IDENTITY);
    return new Probe(tap, hidden, width, true, proj, bias, out, 0f, platt, "random", JSON.createObjectNode());
  }

  record Generated(GenerationResult result, double rate) {}

  static Generated generate(Generator generator, int[] prompt, GenerationRequest request) {
    List<Generated> runs = new ArrayList<>();
    for (int i = 0; i < 4; i++) { // the first is a warm-up
      GenerationResult result = generator.generate(prompt, request, (records, offsets, text) -> {});
      var t = result.timings();
      runs.add(new Generated(result, (result.tokens().size() - 1) / ((t.totalNanos() - t.firstTokenNanos()) / 1e9)));
    }
    runs.removeFirst();
    runs.sort((a, b) -> Double.compare(a.rate(), b.rate()));
    return runs.get(1);
  }

  static long kvBytes(Checkpoint checkpoint, int positions) {
    var c = checkpoint.config();
    return 2L * 2 * c.numHiddenLayers() * positions * c.numKeyValueHeads() * c.headDim();
  }
}
