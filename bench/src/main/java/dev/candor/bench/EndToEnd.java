package dev.candor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.bench.peer.GgufExport;
import dev.candor.bench.peer.Peer;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.ChatTemplate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The end-to-end benchmark behind {@code make bench}: for each model, in one run, prompt processing and decode speed
 * (plain and speculative), acceptance, time to first token, inter-token latency, peak memory, the cost of the full
 * distribution record and of the probe per token, the machine's read bandwidth and the fraction of the bandwidth limit
 * decoding reaches, and the same greedy decode by the peer (llama.cpp) on the same checkpoint and prompt ids. Prints a
 * markdown table and writes JSON under bench/results/, named by date and machine.
 *
 * <p>Times are medians over repetitions; every number comes from this one run on this one machine.
 */
public final class EndToEnd {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** A model to measure: the target, an optional drafter and probe, and the prompt it is given. */
  record Case(String name, Path target, Path drafter, Path probe, int[] prompt, int decodeTokens) {}

  public static void main(String[] args) throws Exception {
    boolean quick = List.of(args).contains("--quick");
    boolean noPeer = List.of(args).contains("--no-peer");
    int reps = quick ? 1 : 3;
    Path root = BenchCheckpoints.repoRoot();
    List<Case> cases = new ArrayList<>();
    Path defaults = root.resolve("models/default");
    cases.add(new Case("default (trained target + drafter + probe)", defaults.resolve("target"),
        defaults.resolve("drafter"), defaults.resolve("probe"), traceQuestion(defaults.resolve("target")),
        96)); // the greedy answer's length: decoding stays inside it, as a served request stops at its end
    Path qwen = BenchCheckpoints.get("qwen2.5-0.5b", 0);
    cases.add(new Case("Qwen2.5-0.5B shape, random BF16", qwen, null, null, qwenPrompt(qwen, 64), quick ? 16 : 48));

    ObjectNode report = JSON.createObjectNode();
    report.put("date", LocalDate.now().toString());
    report.put("machine", machine());
    report.put("cores", Runtime.getRuntime().availableProcessors());
    report.put("java", Runtime.version().toString());
    report.put("quick", quick);
    double bandwidth;
    try (MemoryBandwidth probe = new MemoryBandwidth(1L << 30, Runtime.getRuntime().availableProcessors())) {
      probe.readOnce();
      double[] times = new double[5];
      for (int i = 0; i < times.length; i++) {
        long t0 = System.nanoTime();
        probe.readOnce();
        times[i] = (System.nanoTime() - t0) / 1e9;
      }
      bandwidth = probe.bytes() / median(times);
    }
    report.put("read_bandwidth_gb_s", bandwidth / 1e9);
    ArrayNode results = report.putArray("results");
    for (Case c : cases) {
      System.err.println("measuring " + c.name() + " ...");
      results.add(measure(c, reps, bandwidth, noPeer));
    }
    String markdown = markdown(report);
    System.out.println(markdown);
    Path dir = root.resolve("bench/results");
    Files.createDirectories(dir);
    Path file = dir.resolve(LocalDate.now() + "-" + machine().replaceAll("[^A-Za-z0-9]+", "-").toLowerCase(Locale.ROOT)
        + (quick ? "-quick" : "") + ".json");
    JSON.writeValue(file.toFile(), report);
    Files.writeString(Path.of(file.toString().replace(".json", ".md")), markdown);
    System.err.println("wrote " + file);
  }

  static ObjectNode measure(Case c, int reps, double bandwidth, boolean noPeer) {
    ObjectNode r = JSON.createObjectNode();
    r.put("model", c.name());
    try (LoadedModel target = LoadedModel.load(c.target(), "cpu", "java");
        LoadedModel drafter = c.drafter() == null ? null : LoadedModel.load(c.drafter(), "cpu", "java")) {
      Qwen2Config config = target.backend().config();
      r.put("backend", target.backend().description());
      r.put("parameters", config.parameterCount());
      r.put("prompt_tokens", c.prompt().length);
      r.put("decode_tokens", c.decodeTokens());

      // prompt processing: one forward over the whole prompt
      double[] prefill = new double[reps];
      for (int i = 0; i < reps; i++) {
        try (Sequence s = target.backend().newSequence(c.prompt().length)) {
          long t0 = System.nanoTime();
          s.prefill(c.prompt());
          prefill[i] = (System.nanoTime() - t0) / 1e9;
        }
      }
      r.put("prompt_tokens_per_second", c.prompt().length / median(prefill));

      // plain greedy decoding through the generator, as the server runs it
      GenerationRequest request = GenerationRequest.of(c.decodeTokens(), SamplingParams.greedy()).withIgnoreEos(true)
          .withTopLogprobs(20);
      Generator plain = new Generator(target.backend(), null, target.tokenizer(), target.eosTokens(), 4);
      Run p = run(plain, c.prompt(), request, reps);
      r.put("decode_tokens_per_second", p.tokensPerSecond());
      r.put("time_to_first_token_ms", p.firstTokenMs());
      r.put("inter_token_ms_p50", p.p50());
      r.put("inter_token_ms_p99", p.p99());

      // the step costs that set speculative decoding's speed
      int k = 4;
      double decodeStep = stepSeconds(target, new int[] {c.prompt()[c.prompt().length - 1]});
      double verifyStep = stepSeconds(target, Arrays.copyOf(c.prompt(), k + 1));
      r.put("decode_step_ms", decodeStep * 1e3);
      r.put("verify_step_ms_k4", verifyStep * 1e3);
      if (drafter != null) {
        Generator speculative = new Generator(target.backend(), drafter.backend(), target.tokenizer(),
            target.eosTokens(), k);
        Run s = run(speculative, c.prompt(), request, reps);
        double draftStep = stepSeconds(drafter, new int[] {c.prompt()[c.prompt().length - 1]});
        double alpha = s.result().stats().drafterAcceptance();
        // tokens per step with per-token acceptance a: (1 - a^(k+1)) / (1 - a); a from the measured rate over k drafts
        double perToken = perTokenAcceptance(alpha, k);
        double tokensPerStep = perToken >= 1 ? k + 1 : (1 - Math.pow(perToken, k + 1)) / (1 - perToken);
        double expected = tokensPerStep / (k * draftStep + verifyStep);
        r.put("speculative_tokens_per_second", s.tokensPerSecond());
        r.put("drafter_acceptance", alpha);
        r.put("draft_step_ms", draftStep * 1e3);
        r.put("expected_speculative_tokens_per_second", expected);
        r.put("speedup", s.tokensPerSecond() / p.tokensPerSecond());
        r.put("coverage", s.result().stats().coverage());
      }

      // the cost of a full distribution record per token: softmax, entropy, top-20 over the vocabulary
      float[] logits;
      try (Sequence s = target.backend().newSequence(c.prompt().length)) {
        logits = s.prefill(c.prompt());
      }
      double record = medianNanos(300, () -> {
        TokenDistribution d = TokenDistribution.of(logits.clone(), SamplingParams.greedy());
        TokenRecord.of(0, d.argmax(), new byte[0], d, 20, Source.TARGET);
      }) / 1e9;
      r.put("distribution_record_us", record * 1e6);
      r.put("distribution_record_fraction_of_step", record / decodeStep);
      if (c.probe() != null) {
        Probe probe = Probe.load(c.probe(), config);
        float[][] hidden;
        try (Sequence s = target.backend().newSequence(c.prompt().length)) {
          Forward f = s.forward(c.prompt(), 0, probe.tap());
          hidden = f.taps()[0];
        }
        List<float[]> line = List.of(hidden).subList(0, Math.min(12, hidden.length));
        double token = medianNanos(2000, () -> probe.logit(List.of(hidden[0]))) / 1e9;
        double lineCost = medianNanos(500, () -> probe.logit(line)) / 1e9;
        r.put("probe_token_us", token * 1e6);
        r.put("probe_line_us_12_tokens", lineCost * 1e6);
        r.put("probe_fraction_of_step", token / decodeStep);
      }

      // the bandwidth limit: every float32 weight (the embedding only if it is also the lm_head) and the KV cache
      long kv = 2L * config.numHiddenLayers() * (c.prompt().length + c.decodeTokens() / 2) * config.numKeyValueHeads()
          * config.headDim() * 4;
      long bytes = DecodeStepBenchmark.bytesPerStep(config, 0) + kv;
      r.put("bytes_per_token", bytes);
      r.put("bandwidth_limit_tokens_per_second", bandwidth / bytes);
      r.put("fraction_of_bandwidth_limit", p.tokensPerSecond() / (bandwidth / bytes));
      r.put("peak_rss_mb", peakRssMb());

      if (!noPeer) {
        try {
          ObjectNode peers = r.putObject("peer");
          GgufExport.Type[] types = config.vocabSize() > 1000 ? new GgufExport.Type[] {GgufExport.Type.F32,
              GgufExport.Type.BF16} : new GgufExport.Type[] {GgufExport.Type.F32};
          for (GgufExport.Type type : types) {
            Peer.PeerResult peer = Peer.run(c.target(), type, c.prompt(), c.decodeTokens(), 
                Runtime.getRuntime().availableProcessors());
            ObjectNode o = peers.putObject(type.name().toLowerCase(Locale.ROOT));
            o.put("engine", peer.engine() + " " + peer.version());
            o.put("prompt_tokens_per_second", peer.promptTokensPerSecond());
            o.put("decode_tokens_per_second", peer.decodeTokensPerSecond());
            o.put("candor_over_peer_decode", p.tokensPerSecond() / peer.decodeTokensPerSecond());
            o.put("load_average", peer.loadAverage());
            int[] ours = p.result().tokens().stream().mapToInt(TokenRecord::token).toArray();
            int agree = 0;
            while (agree < Math.min(ours.length, peer.tokens().length) && ours[agree] == peer.tokens()[agree]) {
              agree++;
            }
            o.put("greedy_tokens_agreeing", agree);
          }
        } catch (RuntimeException e) {
          r.put("peer_error", e.getMessage());
        }
      }
    }
    return r;
  }

  /** One decode's figures: tokens/s after the first, time to first token, inter-token latency quantiles. */
  record Run(GenerationResult result, double tokensPerSecond, double firstTokenMs, double p50, double p99) {}

  static Run run(Generator generator, int[] prompt, GenerationRequest request, int reps) {
    List<Run> runs = new ArrayList<>();
    for (int i = 0; i < reps + 1; i++) { // the first is a warm-up
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
          quantile(gaps, 0.5), quantile(gaps, 0.99)));
    }
    runs.removeFirst();
    runs.sort((a, b) -> Double.compare(a.tokensPerSecond(), b.tokensPerSecond()));
    return runs.get(runs.size() / 2);
  }

  /** Median seconds of one forward of {@code tokens} at a 64-position context. */
  static double stepSeconds(LoadedModel model, int[] tokens) {
    try (Sequence s = model.backend().newSequence(64 + tokens.length)) {
      int[] context = new int[64];
      Arrays.fill(context, tokens[0]);
      s.prefill(context);
      return medianNanos(40, () -> {
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
      double r = 0;
      for (int j = 1; j <= k; j++) {
        r += Math.pow(a, j);
      }
      if (r / k < rate) {
        lo = a;
      } else {
        hi = a;
      }
    }
    return (lo + hi) / 2;
  }

  static double medianNanos(int n, Runnable body) {
    for (int i = 0; i < Math.max(3, n / 10); i++) {
      body.run();
    }
    double[] t = new double[n];
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      body.run();
      t[i] = System.nanoTime() - t0;
    }
    return median(t);
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  static double quantile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  static double peakRssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        }
      }
    } catch (java.io.IOException ignored) {
      // not Linux
    }
    return Double.NaN;
  }

  static String machine() {
    String cpu = "unknown-cpu";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          cpu = line.substring(line.indexOf(':') + 1).trim();
          break;
        }
      }
    } catch (java.io.IOException ignored) {
      // not Linux
    }
    return Runtime.getRuntime().availableProcessors() + "-core " + cpu;
  }

  /** The default model's kind of question: a held-out trace problem, chat-rendered. */
  static int[] traceQuestion(Path target) {
    try (LoadedModel m = LoadedModel.load(target, "cpu", "java")) {
      String program = "g = 293\nn = 333\nv = g % 7\nq = 100 // v\nr = g + q\nprint(r)\n";
      return m.tokenizer().encode(m.chatTemplate().render(List.of(new ChatTemplate.Message("user",
          "Trace this program:\n" + program)), true));
    }
  }

  static int[] qwenPrompt(Path checkpoint, int tokens) {
    try (var t = dev.candor.engine.tokenizer.Tokenizer.load(checkpoint.resolve("tokenizer.json"))) {
      String text = "The quick brown fox jumps over the lazy dog. ".repeat(tokens);
      return Arrays.copyOf(t.encode(text), tokens);
    }
  }

  static String markdown(ObjectNode report) {
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "Machine: %s, Java %s; read bandwidth %.1f GB/s (1 GiB streamed on every core, "
        + "median of 5).%n%n", report.get("machine").asText(), report.get("java").asText(),
        report.get("read_bandwidth_gb_s").asDouble()));
    md.append("| | ").append(String.join(" | ", names(report))).append(" |\n|---|");
    md.append("---|".repeat(report.get("results").size())).append('\n');
    String[][] rows = {
        {"parameters", "parameters", "%.0f"},
        {"prompt processing (tokens/s)", "prompt_tokens_per_second", "%.0f"},
        {"decode, plain (tokens/s)", "decode_tokens_per_second", "%.1f"},
        {"decode, speculative k=4 (tokens/s)", "speculative_tokens_per_second", "%.1f"},
        {"speculative speedup (measured)", "speedup", "%.2fx"},
        {"drafter acceptance", "drafter_acceptance", "%.3f"},
        {"speculative, expected from step costs (tokens/s)", "expected_speculative_tokens_per_second", "%.1f"},
        {"decode step (ms)", "decode_step_ms", "%.3f"},
        {"draft step (ms)", "draft_step_ms", "%.3f"},
        {"verify step, k+1 = 5 tokens (ms)", "verify_step_ms_k4", "%.3f"},
        {"time to first token (ms)", "time_to_first_token_ms", "%.1f"},
        {"inter-token latency p50 / p99 (ms)", "inter_token_ms_p50", "%.2f"},
        {"full distribution record per token (µs)", "distribution_record_us", "%.1f"},
        {"... as a fraction of a decode step", "distribution_record_fraction_of_step", "%.3f"},
        {"probe per token (µs)", "probe_token_us", "%.2f"},
        {"... as a fraction of a decode step", "probe_fraction_of_step", "%.4f"},
        {"bytes read per token (MB)", "bytes_per_token", "%.1f"},
        {"bandwidth limit (tokens/s)", "bandwidth_limit_tokens_per_second", "%.1f"},
        {"decode as a fraction of the limit", "fraction_of_bandwidth_limit", "%.2f"},
        {"peak RSS (MB)", "peak_rss_mb", "%.0f"},
    };
    for (String[] row : rows) {
      md.append("| ").append(row[0]).append(" |");
      for (var r : report.get("results")) {
        md.append(' ').append(cell(r, row[1], row[2])).append(" |");
      }
      md.append('\n');
    }
    for (String type : List.of("f32", "bf16")) {
      md.append("| peer ").append(type.toUpperCase(Locale.ROOT)).append(" GGUF: decode (tokens/s) |");
      for (var r : report.get("results")) {
        var p = r.path("peer").path(type);
        md.append(p.isMissingNode() ? " — |" : String.format(Locale.ROOT, " %.1f (Candor/peer %.2f; greedy agree %d) |",
            p.get("decode_tokens_per_second").asDouble(), p.get("candor_over_peer_decode").asDouble(),
            p.get("greedy_tokens_agreeing").asInt()));
      }
      md.append('\n');
    }
    return md.toString();
  }

  private static List<String> names(ObjectNode report) {
    List<String> names = new ArrayList<>();
    report.get("results").forEach(r -> names.add(r.get("model").asText()));
    return names;
  }

  private static String cell(com.fasterxml.jackson.databind.JsonNode r, String field, String format) {
    if (!r.has(field)) {
      return "—";
    }
    double v = r.get(field).asDouble();
    if (field.equals("bytes_per_token")) {
      v /= 1e6;
    }
    if (field.equals("inter_token_ms_p50")) {
      return String.format(Locale.ROOT, "%.2f / %.2f", v, r.get("inter_token_ms_p99").asDouble());
    }
    return String.format(Locale.ROOT, format, v);
  }
}
