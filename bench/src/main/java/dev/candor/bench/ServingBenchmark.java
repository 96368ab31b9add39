package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The serving benchmark behind {@code make bench-serving} (issue 16, item 7): what a user of {@code bin/candor serve}
 * meets, measured against the real server in a process of its own, over HTTP with streaming, as an OpenAI client
 * talks to it. For each model (the Qwen2.5-0.5B shape in BF16, random weights; the default model as {@code make run}
 * serves it, with its drafter and probe):
 *
 * <ul>
 *   <li>aggregate decode throughput at 1, 2, 4 and 8 concurrent streams: the tokens every stream received while all
 *       of them were decoding (from the last first token to the first last token), over that window;
 *   <li>short requests arriving one after another while long ones run: their time to first token and inter-token
 *       latency (p50, p99), against the same short request's time to first token on an idle server plus two decode
 *       steps of the loaded batch (the aim);
 *   <li>a 400-token prompt sent a second time (the prefix cache) against a cold one of the same length.
 * </ul>
 *
 * <p>Then, in this process, each backend's batched forward against its entries in turn ({@link BackendBatching}).
 *
 * <p>Like {@link EndToEnd} it cannot fool itself quietly: a model whose run shared the machine with other processes
 * above {@link EndToEnd#SHARED_CPU} ({@link CpuShare}, the server's CPU counted as ours) is marked invalid, and its
 * numbers are kept but flagged. Writes bench/results/DATE-MACHINE-serving.{json,md} and merges {@code "serving"} into
 * bench/results/summary.json, leaving the rest of that file as the last run wrote it. {@code --only MODEL,...}
 * (with {@code peer} for the peer's row) runs a subset; {@code --no-peer} skips llama.cpp ({@link BatchedPeer}),
 * {@code --no-servers} the servers, {@code --no-backends} the in-process part, {@code --no-djl} its DJL half.
 */
public final class ServingBenchmark {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final int[] STREAMS = {1, 2, 4, 8};

  /** A model as served: the summary's key, the serve arguments, its vocabulary for random prompts, the lengths. */
  record Model(String name, List<String> serveArgs, int vocab, int streamTokens, int longTokens) {}

  public static void main(String[] args) throws Exception {
    List<String> argv = List.of(args);
    int only = argv.indexOf("--only");
    Set<String> selected = only >= 0 ? Set.of(args[only + 1].split(",")) : null;
    Path root = BenchCheckpoints.repoRoot();
    ObjectNode report = JSON.createObjectNode();
    report.put("date", LocalDate.now().toString());
    report.put("machine", EndToEnd.machine());
    report.put("cores", Runtime.getRuntime().availableProcessors());
    report.put("measured_against", "bin/candor serve in its own process, streaming completions over HTTP");
    ObjectNode models = report.putObject("models");
    for (Model m : plan(root)) {
      if ((selected == null || selected.contains(m.name())) && !argv.contains("--no-servers")) {
        System.err.println("serving " + m.name() + " ...");
        models.set(m.name(), measure(root, m));
      }
    }
    if (!argv.contains("--no-backends")) {
      ObjectNode batching = report.putObject("backend_batching");
      for (Model m : plan(root)) {
        if (selected == null || selected.contains(m.name())) {
          ObjectNode perModel = batching.putObject(m.name());
          for (String backend : argv.contains("--no-djl") ? List.of("java") : List.of("java", "djl")) {
            perModel.set(backend, BackendBatching.measure(m.name(), Path.of(m.serveArgs().get(1)), backend, 5));
          }
        }
      }
    }
    ObjectNode peer = argv.contains("--no-peer") ? null : BatchedPeer.measure(root, selected);
    if (peer != null) {
      report.set("peer", peer);
    }
    write(root, report);
  }

  static List<Model> plan(Path root) {
    Path defaults = root.resolve("models/default");
    return List.of(
        new Model("qwen2.5-0.5b", List.of("--model", BenchCheckpoints.get("qwen2.5-0.5b", 0).toString()), 150_000,
            24, 160),
        new Model("default", List.of("--model", defaults.resolve("target").toString(), "--drafter",
            defaults.resolve("drafter").toString(), "--probe", defaults.resolve("probe").toString()), 256, 96, 400));
  }

  /** One model: a fresh server, the three measurements, the machine's share used by others meanwhile. */
  static ObjectNode measure(Path root, Model m) throws Exception {
    ObjectNode r = JSON.createObjectNode();
    CpuShare share = CpuShare.start();
    try (Server server = Server.start(root, m.serveArgs())) {
      r.put("server", server.description());
      ServingClient client = new ServingClient(server.port());
      SplittableRandom random = new SplittableRandom(16);
      warmUp(client, m, random);
      r.set("streams", streams(client, server, m, random));
      r.set("short_under_load", shortUnderLoad(client, m, random));
      r.set("prefix_cache", repeatedPrompt(client, m, random));
    } catch (IOException | RuntimeException e) {
      r.put("error", String.valueOf(e.getMessage()));
    }
    double others = share.othersFraction();
    r.put("others_cpu_fraction", others);
    boolean valid = !r.has("error") && !(others > EndToEnd.SHARED_CPU);
    r.put("valid", valid);
    if (!valid) {
      r.put("invalid_because", r.has("error") ? "the run failed: " + r.get("error").asText()
          : String.format(Locale.ROOT, "other processes used %.0f%% of the machine's CPU (over %.0f%%)",
              100 * others, 100 * EndToEnd.SHARED_CPU));
    }
    return r;
  }

  /** Every path the measurements take, compiled first: one stream, then eight, each of the full length. */
  static void warmUp(ServingClient client, Model m, SplittableRandom random) throws Exception {
    client.complete(prompt(random, m.vocab(), 32), m.streamTokens());
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      prompts.add(prompt(random, m.vocab(), 32));
    }
    client.concurrently(prompts, m.streamTokens());
  }

  /** Aggregate decode tokens/s at 1, 2, 4 and 8 concurrent streams of distinct prompts: the median of three runs. */
  static ObjectNode streams(ServingClient client, Server server, Model m, SplittableRandom random) throws Exception {
    ObjectNode out = JSON.createObjectNode();
    for (int s : STREAMS) {
      double[] tps = new double[3];
      double[] cpuPerToken = new double[3];
      double[] gaps = new double[0];
      for (int rep = 0; rep < tps.length; rep++) {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < s; i++) {
          prompts.add(prompt(random, m.vocab(), 32));
        }
        List<ServingClient.Stream> runs;
        try (CpuSampler cpu = new CpuSampler(client, server.process().pid())) {
          runs = client.concurrently(prompts, m.streamTokens());
          double start = runs.stream().mapToDouble(ServingClient.Stream::firstAt).max().orElseThrow();
          double end = runs.stream().mapToDouble(ServingClient.Stream::lastAt).min().orElseThrow();
          long tokens = runs.stream().mapToLong(r -> r.tokensBetween(start, end)).sum();
          tps[rep] = end > start ? tokens / (end - start) : Double.NaN;
          cpuPerToken[rep] = (cpu.at(end) - cpu.at(start)) / tokens;
        }
        gaps = java.util.stream.DoubleStream.concat(Arrays.stream(gaps),
            runs.stream().flatMapToDouble(ServingClient.Stream::gaps)).toArray();
      }
      ObjectNode o = out.putObject(Integer.toString(s));
      o.put("tokens_per_second", quantile(tps, 0.5));
      o.putPOJO("runs", tps);
      o.put("server_cpu_ms_per_token", 1e3 * quantile(cpuPerToken, 0.5));
      o.put("inter_token_p50_ms", 1e3 * quantile(gaps, 0.5));
      System.err.printf(Locale.ROOT, "  %d streams: %.2f tokens/s (%s), server CPU %.1f ms a token%n", s,
          quantile(tps, 0.5), Arrays.toString(tps), 1e3 * quantile(cpuPerToken, 0.5));
    }
    return out;
  }

  /**
   * Short requests (a 16-token prompt, 8 tokens) sent one after another while two long ones decode, against the same
   * kind of request on the idle server: the aim is TTFT under load at most the idle TTFT plus two decode steps of
   * the loaded batch (a step: the mean interval between the long streams' chunks before the short ones arrived; each
   * step releases one chunk a stream).
   */
  static ObjectNode shortUnderLoad(ServingClient client, Model m, SplittableRandom random) throws Exception {
    int shorts = 6;
    double[] idle = new double[3];
    for (int i = 0; i < idle.length; i++) {
      idle[i] = client.complete(prompt(random, m.vocab(), 16), 8).ttft();
    }
    List<ServingClient.Stream> longs = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      longs.add(client.start(prompt(random, m.vocab(), 32), m.longTokens()));
    }
    for (ServingClient.Stream s : longs) {
      s.awaitTokens(16); // both decoding, long enough to time their step
    }
    double loadedFrom = client.now();
    double[] ttft = new double[shorts];
    List<Double> gaps = new ArrayList<>();
    for (int i = 0; i < shorts; i++) {
      ServingClient.Stream s = client.complete(prompt(random, m.vocab(), 16), 8);
      ttft[i] = s.ttft();
      s.gaps().forEach(gaps::add);
    }
    double loadedTo = client.now();
    for (ServingClient.Stream s : longs) {
      s.await();
    }
    double step = longs.stream().mapToDouble(s -> s.chunkInterval(loadedFrom)).average().orElseThrow();
    ObjectNode o = JSON.createObjectNode();
    o.put("long_streams", 2);
    o.put("long_streams_ran_throughout", longs.stream().allMatch(s -> s.lastAt() > loadedTo));
    o.put("short_requests", shorts);
    o.put("ttft_idle_ms", 1e3 * quantile(idle, 0.5));
    o.put("loaded_decode_step_ms", 1e3 * step);
    o.put("ttft_p50_ms", 1e3 * quantile(ttft, 0.5));
    o.put("ttft_p99_ms", 1e3 * quantile(ttft, 0.99));
    double[] g = gaps.stream().mapToDouble(Double::doubleValue).toArray();
    o.put("inter_token_p50_ms", 1e3 * quantile(g, 0.5));
    o.put("inter_token_p99_ms", 1e3 * quantile(g, 0.99));
    o.put("aim_ms", 1e3 * (quantile(idle, 0.5) + 2 * step));
    o.put("ttft_p50_over_aim", quantile(ttft, 0.5) / (quantile(idle, 0.5) + 2 * step));
    return o;
  }

  /** A 400-token prompt's TTFT sent cold and then again (its prefix cached), three prompts, medians. */
  static ObjectNode repeatedPrompt(ServingClient client, Model m, SplittableRandom random) throws Exception {
    double[] cold = new double[3];
    double[] repeat = new double[3];
    long cached = 0;
    for (int i = 0; i < cold.length; i++) {
      int[] p = prompt(random, m.vocab(), 400);
      cold[i] = client.complete(p, 1).ttft();
      ServingClient.Stream again = client.complete(p, 1);
      repeat[i] = again.ttft();
      cached = again.cachedTokens();
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("prompt_tokens", 400);
    o.put("cached_tokens", cached);
    o.put("ttft_cold_ms", 1e3 * quantile(cold, 0.5));
    o.put("ttft_repeat_ms", 1e3 * quantile(repeat, 0.5));
    o.put("ttft_repeat_over_cold", quantile(repeat, 0.5) / quantile(cold, 0.5));
    return o;
  }

  /** n random token ids below vocab: distinct prompts share no prefix with each other. */
  static int[] prompt(SplittableRandom random, int vocab, int n) {
    return random.ints(n, 0, vocab).toArray();
  }

  static double quantile(double[] values, double q) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return EndToEnd.quantile(sorted, q);
  }

  /**
   * The report (DATE-HHMM-MACHINE-serving.{json,md}, a run's own: a part run alone, {@code --only peer} or
   * {@code --no-servers}, holds only its part) and the "serving" part of summary.json, where each entry names the
   * report it came from ({@code "run"}) and an entry this run did not measure stays as the last run wrote it.
   */
  private static void write(Path root, ObjectNode report) throws IOException {
    Path dir = Files.createDirectories(root.resolve("bench/results"));
    String stem = EndToEnd.stamp() + "-serving";
    String markdown = ServingMarkdown.of(report);
    System.out.println(markdown);
    JSON.writeValue(dir.resolve(stem + ".json").toFile(), report);
    Files.writeString(dir.resolve(stem + ".md"), markdown);
    Path summary = dir.resolve("summary.json");
    ObjectNode merged = Files.exists(summary) ? (ObjectNode) JSON.readTree(summary.toFile()) : JSON.createObjectNode();
    ObjectNode serving = merged.has("serving") ? (ObjectNode) merged.get("serving") : merged.putObject("serving");
    serving.setAll(summary(report, stem)); // a model or the peer measured alone replaces only its own entry
    JSON.writeValue(summary.toFile(), merged);
    System.err.println("wrote " + dir.resolve(stem + ".json") + ", .md and the serving part of summary.json");
  }

  /**
   * summary.json's "serving": {MODEL: {"streams": {"1": tps, ...}, "ttft_short_under_load_ms", ..., "valid", "run"}},
   * and the peer's rows as "peer" with their "run"; {@code run} is the report's name.
   */
  static ObjectNode summary(ObjectNode report, String run) {
    ObjectNode serving = JSON.createObjectNode();
    for (var e : report.get("models").properties()) {
      JsonNode r = e.getValue();
      ObjectNode o = serving.putObject(e.getKey());
      if (r.has("streams")) {
        ObjectNode s = o.putObject("streams");
        for (int n : STREAMS) {
          s.put(Integer.toString(n), round(r.get("streams").get(Integer.toString(n)).get("tokens_per_second")));
        }
      }
      if (r.has("streams")) {
        ObjectNode cpu = o.putObject("server_cpu_ms_per_token");
        for (int n : STREAMS) {
          cpu.put(Integer.toString(n), round(r.get("streams").get(Integer.toString(n)).get("server_cpu_ms_per_token")));
        }
      }
      if (r.has("short_under_load")) {
        o.put("ttft_short_under_load_ms", round(r.get("short_under_load").get("ttft_p50_ms")));
      }
      if (r.has("prefix_cache")) {
        o.put("ttft_repeat_over_cold", round(r.get("prefix_cache").get("ttft_repeat_over_cold")));
      }
      o.put("valid", r.get("valid").asBoolean());
      o.put("run", run);
    }
    if (report.has("peer") && report.get("peer").has("streams")) {
      ObjectNode peer = report.get("peer").deepCopy();
      peer.put("run", run);
      serving.set("peer", peer);
    }
    return serving;
  }

  private static double round(JsonNode v) {
    return Math.round(v.asDouble() * 1000) / 1000.0;
  }

  /** bin/candor serve in a process of its own on a free port, stopped on close. */
  record Server(Process process, int port, List<String> command) implements AutoCloseable {
    static Server start(Path root, List<String> serveArgs) throws IOException, InterruptedException {
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      List<String> cmd = new ArrayList<>(List.of(root.resolve("bin/candor").toString(), "serve", "--port",
          Integer.toString(port), "--max-batch", "8", "--max-queue", "32", "--prefix-cache-mb", "512",
          "--no-access-log"));
      cmd.addAll(serveArgs);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(root.resolve("build/bench-serving-server.log").toFile());
      pb.environment().putIfAbsent("CANDOR_JAVA_OPTS", "-Xmx6g");
      Server server = new Server(pb.start(), port, cmd);
      server.awaitReady();
      return server;
    }

    private void awaitReady() throws IOException, InterruptedException {
      HttpClient http = HttpClient.newHttpClient();
      long deadline = System.nanoTime() + 180_000_000_000L;
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IOException("the server exited with " + process.exitValue() + ": see build/bench-serving-server.log");
        }
        try {
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
              + "/v1/models")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200) {
            return;
          }
        } catch (IOException notYet) {
          // still loading
        }
        Thread.sleep(250);
      }
      throw new IOException("the server did not answer within 180 s");
    }

    String description() {
      return String.join(" ", Stream.concat(Stream.of("bin/candor"), command.stream().skip(1)).toList());
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }
}
