package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.bench.peer.GgufExport;
import dev.candor.bench.peer.Peer;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.cpu.WeightMemory;
import dev.candor.engine.model.WeightFormat;
import dev.candor.engine.tokenizer.ChatTemplate;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The end-to-end benchmark behind {@code make bench} and {@code make bench-quick}: every model at every weight format,
 * against the machine's read-bandwidth limit and against the peer (llama.cpp on a GGUF of the same type made from the
 * same weights), all in one run, and checked so that it cannot fool itself:
 *
 * <ul>
 *   <li>the bandwidth limit is measured robustly ({@link MemoryBandwidth}: compiled first, several passes, three
 *       access patterns, the best median), at the start and at the end of the run;
 *   <li>each case runs each engine twice, in the order Candor, peer, Candor, peer ({@link SecondRound});
 *   <li>a case whose decode would exceed that limit, whose engine's two rounds disagree by more than
 *       {@link Verdict#ROUNDS_AGREE}, or that ran while other processes took more than {@link #SHARED_CPU} of the
 *       machine (from /proc/stat), is marked invalid with its reason, not published as a ratio;
 *   <li>Candor's logits are compared with the peer's, teacher-forced over the prompt and Candor's greedy answer
 *       ({@link LogitComparison}), beside greedy agreement.
 * </ul>
 *
 * <p>Each case runs in a JVM of its own ({@link CaseRun}), so its peak RSS is its own. Writes
 * bench/results/DATE-MACHINE[-quick].{json,md} and bench/results/summary.json (overwritten: two commits compare at a
 * glance). {@code --only MODEL[:FORMAT],...} runs a subset into a dated file of its own (DATE-MACHINE-only-SUBSET)
 * and replaces only its own cases in summary.json, whose every case names the report it came from ({@code "run"});
 * {@code --no-peer} skips the peer. {@code --no-mmap} runs both engines on weights copied into their own memory
 * (Candor's {@link WeightMemory#COPIED}, llama.cpp's {@code --no-mmap}) instead of the mapped files, into a report
 * of its own (-no-mmap) and summary.json's "models_no_mmap".
 */
public final class EndToEnd {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  /** Other processes' share of the machine's CPU above which a case's ratios are not trusted. */
  static final double SHARED_CPU = 0.10;

  /** A model at a format: the summary's keys, the checkpoint (and drafter and probe), the prompt. */
  record Case(String model, String format, Path drafter, Path probe, int[] prompt, int decodeTokens, int reps,
      WeightMemory memory) {
    String name() {
      return model + " " + format;
    }

    boolean isDefault() {
      return model.equals("default");
    }

    /** The checkpoint: the embedded default, or a random one of the named shape, written once into the cache. */
    Path target() {
      return isDefault() ? BenchCheckpoints.repoRoot().resolve("models/default/target")
          : BenchCheckpoints.get(model, 0);
    }
  }

  public static void main(String[] args) throws Exception {
    List<String> argv = List.of(args);
    boolean quick = argv.contains("--quick");
    boolean noPeer = argv.contains("--no-peer");
    WeightMemory memory = argv.contains("--no-mmap") ? WeightMemory.COPIED : WeightMemory.MAPPED;
    int only = argv.indexOf("--only");
    Set<String> selected = only >= 0 ? Set.of(args[only + 1].split(",")) : null;
    Path root = BenchCheckpoints.repoRoot();
    ObjectNode report = JSON.createObjectNode();
    report.put("date", LocalDate.now().toString());
    report.put("machine", machine());
    report.put("cores", Runtime.getRuntime().availableProcessors());
    report.put("java", Runtime.version().toString());
    report.put("quick", quick);
    report.put("weight_memory", memory.label());
    report.put("load_average_at_start", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    MemoryBandwidth.Result first = bandwidth();
    report.set("bandwidth_at_start", JSON.valueToTree(first));
    ArrayNode results = report.putArray("results");
    for (Case c : plan(root, quick, selected, memory)) {
      System.err.println("measuring " + c.name() + " ...");
      results.add(measure(c, noPeer, root));
    }
    MemoryBandwidth.Result last = bandwidth();
    report.set("bandwidth_at_end", JSON.valueToTree(last));
    double gbs = Math.max(first.bestGbs(), last.bestGbs());
    report.put("bandwidth_gbs", gbs);
    for (JsonNode r : results) {
      Verdict.judge((ObjectNode) r, gbs);
    }
    write(root, report, stem(quick, selected, memory), selected != null);
  }

  /** The cases of a run: quick covers the default model and the 0.5B shape at bf16 and q8_0. */
  static List<Case> plan(Path root, boolean quick, Set<String> selected, WeightMemory memory) {
    int reps = quick ? 1 : 3;
    int decode = quick ? 16 : 32;
    List<String[]> wanted = new ArrayList<>();
    wanted.add(new String[] {"default", "f32"});
    if (!quick) {
      wanted.add(new String[] {"default", "q8_0"});
      wanted.add(new String[] {"qwen2.5-0.5b", "f32"});
    }
    wanted.add(new String[] {"qwen2.5-0.5b", "bf16"});
    wanted.add(new String[] {"qwen2.5-0.5b", "q8_0"});
    if (!quick) {
      wanted.add(new String[] {"qwen3-0.6b", "bf16"}); // Qwen3: q/k norms, 16 heads x 128 on a width of 1024
      wanted.addAll(List.of(new String[] {"qwen2.5-1.5b", "bf16"}, new String[] {"qwen2.5-1.5b", "q8_0"},
          new String[] {"qwen2.5-7b", "bf16"}, new String[] {"qwen2.5-7b", "q8_0"}));
    }
    List<Case> cases = new ArrayList<>();
    Path defaults = root.resolve("models/default");
    for (String[] w : wanted) {
      if (selected != null && !selected.contains(w[0]) && !selected.contains(w[0] + ":" + w[1])) {
        continue;
      }
      if (w[0].equals("default")) {
        // decoding stays inside the greedy answer (96 tokens), as a served request stops at its end
        cases.add(new Case(w[0], w[1], defaults.resolve("drafter"), defaults.resolve("probe"),
            traceQuestion(defaults.resolve("target")), 96, reps, memory));
      } else {
        boolean big = w[0].equals("qwen2.5-7b");
        cases.add(new Case(w[0], w[1], null, null, qwenPrompt(BenchCheckpoints.tokenizer(w[0]), 64),
            big ? 16 : decode, big ? 2 : reps, memory));
      }
    }
    return cases;
  }

  /**
   * A short look at the read bandwidth beside each case (256 MB, the best of three passes' medians), recorded, not
   * judged: on the VMs these runs used, reads slowed during some cases while the run's bandwidth at its start and end
   * looked normal (README, "Mapped or copied weights"), and these figures are the data for a check against that.
   */
  static double caseBandwidth() throws Exception {
    try (MemoryBandwidth probe = new MemoryBandwidth(1L << 28, Runtime.getRuntime().availableProcessors())) {
      return Math.round(probe.measure(3).bestGbs() * 100) / 100.0;
    }
  }

  static MemoryBandwidth.Result bandwidth() throws Exception {
    try (MemoryBandwidth probe = new MemoryBandwidth(1L << 30, Runtime.getRuntime().availableProcessors())) {
      return probe.measure(7);
    }
  }

  /** One case: Candor in its own JVM, then the peer on the same prompt and the same weights. */
  static ObjectNode measure(Case c, boolean noPeer, Path root) throws Exception {
    ObjectNode r = JSON.createObjectNode();
    r.put("model", c.model());
    r.put("format", c.format());
    String skip = Resources.whyNot(c);
    if (skip != null) {
      r.put("skipped", skip);
      return r;
    }
    Path target = c.target();
    Path work = Files.createDirectories(root.resolve("build/bench"));
    Path candorLogits = work.resolve(c.model() + "-" + c.format() + ".candor.logits");
    Path peerLogits = work.resolve(c.model() + "-" + c.format() + ".peer.logits");
    CpuShare share = CpuShare.start();
    try {
      r.put("bandwidth_before_gbs", caseBandwidth());
      r.set("candor", runCase(c, target, candorLogits));
      if (!noPeer) {
        r.set("peer", peer(c, target, (ObjectNode) r.get("candor"), candorLogits, peerLogits));
        r.set("second_round", secondRound(c, target));
      }
    } catch (RuntimeException | IOException e) {
      r.put("error", e.getMessage());
    } finally {
      r.put("bandwidth_after_gbs", caseBandwidth());
      r.put("others_cpu_fraction", share.othersFraction());
      Files.deleteIfExists(candorLogits);
      Files.deleteIfExists(peerLogits);
    }
    return r;
  }

  private static JsonNode runCase(Case c, Path target, Path logits) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(caseArgs(c, target));
    args.add(logits.toString());
    if (c.drafter() != null) {
      args.addAll(List.of(c.drafter().toString(), c.probe().toString()));
    }
    return javaMain(CaseRun.class, args, c);
  }

  /**
   * Each engine once more, Candor first ({@link SecondRound}): the case's rounds ran Candor, peer, Candor, peer, and
   * {@link Verdict} checks that each engine's two rounds agree.
   */
  private static ObjectNode secondRound(Case c, Path target) throws IOException, InterruptedException {
    ObjectNode o = JSON.createObjectNode();
    JsonNode candor = javaMain(SecondRound.class, caseArgs(c, target), c);
    o.set("candor", candor);
    Peer.PeerResult peer = peerDecode(c, target);
    o.putObject("peer").put("prefill_tokens_per_second", peer.promptTokensPerSecond())
        .put("decode_tokens_per_second", peer.decodeTokensPerSecond());
    return o;
  }

  /** TARGET_DIR FORMAT MEMORY PROMPT_IDS DECODE_TOKENS REPS, as CaseRun and SecondRound take them. */
  private static List<String> caseArgs(Case c, Path target) {
    return List.of(target.toString(), c.format().equals(nativeFormat(target)) ? "native" : c.format(),
        c.memory().label(), ids(c.prompt()), Integer.toString(c.decodeTokens()), Integer.toString(c.reps()));
  }

  /** Runs {@code main} in a JVM of its own, with this JVM's options and class path, and reads the JSON it prints. */
  private static JsonNode javaMain(Class<?> main, List<String> args, Case c) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException(main.getSimpleName() + " " + c.name() + " exited with " + p.exitValue() + ": "
          + out.strip());
    }
    return JSON.readTree(out.substring(out.lastIndexOf("\n{") + 1));
  }

  /** The format a checkpoint is computed in without --weights. */
  static String nativeFormat(Path checkpoint) {
    return WeightFormat.of(Qwen2Config.read(checkpoint.resolve("config.json")).torchDtype()).label();
  }

  /** The peer's decode, prompt speed and greedy tokens, and its teacher-forced logits against Candor's. */
  private static ObjectNode peer(Case c, Path target, ObjectNode candor, Path candorLogits, Path peerLogits)
      throws IOException {
    ObjectNode o = JSON.createObjectNode();
    GgufExport.Type type = peerType(c);
    int threads = Runtime.getRuntime().availableProcessors();
    Peer.PeerResult peer = peerDecode(c, target);
    o.put("engine", peer.engine() + " " + peer.version());
    o.put("gguf", peer.model().getFileName().toString());
    o.put("prefill_tokens_per_second", peer.promptTokensPerSecond());
    o.put("decode_tokens_per_second", peer.decodeTokensPerSecond());
    o.put("load_average", peer.loadAverage());
    int[] ours = JSON.treeToValue(candor.get("greedy_tokens"), int[].class);
    int agree = 0;
    while (agree < Math.min(ours.length, peer.tokens().length) && ours[agree] == peer.tokens()[agree]) {
      agree++;
    }
    o.put("greedy_tokens_agreeing", agree);
    o.put("greedy_tokens", ours.length);
    if (candor.has("one_thread")) {
      Peer.PeerResult one = Peer.run(target, type, c.prompt(), 17, 1, c.memory());
      ObjectNode t = o.putObject("one_thread");
      t.put("prefill_cpu_seconds", one.promptCpuSeconds());
      t.put("decode_cpu_seconds_per_token", one.decodeCpuSecondsPerStep());
    }
    int vocab = Peer.teacherForcedLogits(peer.model(), teacherForced(c.prompt(), ours), threads, peerLogits);
    LogitComparison cmp = LogitComparison.of(candorLogits, peerLogits, vocab);
    ObjectNode forced = o.putObject("teacher_forced");
    forced.put("positions", cmp.positions());
    forced.put("max_abs_diff_over_range_max", cmp.maxRelative());
    forced.put("max_abs_diff_over_range_median", cmp.medianRelative());
    forced.put("max_abs_diff", cmp.maxAbsolute());
    forced.put("mean_logit_range", cmp.meanRange());
    forced.put("argmax_agree", cmp.argmaxAgree());
    forced.putPOJO("per_position", Arrays.stream(cmp.perPosition()).map(v -> Math.round(v * 1e6) / 1e6).toArray());
    return o;
  }

  /** The peer's GGUF type for the case's weight format. */
  private static GgufExport.Type peerType(Case c) {
    return GgufExport.Type.of(WeightFormat.parse(c.format()));
  }

  /** The peer on the case's prompt, weights and weight memory, on every core: one round of its prefill and decode. */
  private static Peer.PeerResult peerDecode(Case c, Path target) {
    return Peer.run(target, peerType(c), c.prompt(), c.decodeTokens(), Runtime.getRuntime().availableProcessors(),
        c.memory());
  }

  /** The sequence both engines are teacher-forced on: the prompt and the greedy answer but its last token. */
  static int[] teacherForced(int[] prompt, int[] greedy) {
    int[] s = Arrays.copyOf(prompt, prompt.length + Math.max(0, greedy.length - 1));
    System.arraycopy(greedy, 0, s, prompt.length, greedy.length - 1);
    return s;
  }

  private static void write(Path root, ObjectNode report, String stem, boolean partial) throws IOException {
    String markdown = Markdown.of(report);
    System.out.println(markdown);
    Path dir = Files.createDirectories(root.resolve("bench/results"));
    JSON.writeValue(dir.resolve(stem + ".json").toFile(), report);
    Files.writeString(dir.resolve(stem + ".md"), markdown);
    Path file = dir.resolve("summary.json");
    ObjectNode previous = Files.exists(file) ? (ObjectNode) JSON.readTree(file.toFile()) : null;
    JSON.writeValue(file.toFile(), Verdict.summary(report, stem, previous, partial));
    System.err.println("wrote " + dir.resolve(stem + ".json") + ", .md and summary.json");
  }

  /**
   * The report's name: DATE-HHMM-MACHINE (when it was written, UTC), then -quick, -no-mmap, then -only-SUBSET for a
   * partial run. The time keeps a later run of the day from overwriting an earlier one's committed report.
   */
  static String stem(boolean quick, Set<String> selected, WeightMemory memory) {
    String stem = stamp() + (quick ? "-quick" : "") + (memory == WeightMemory.COPIED ? "-no-mmap" : "");
    if (selected != null) {
      stem += "-only-" + String.join("-", new java.util.TreeSet<>(selected)).replaceAll("[^A-Za-z0-9.]+", "-");
    }
    return stem;
  }

  /** DATE-HHMM-MACHINE: now (UTC) and this machine, as a report's file name begins. */
  static String stamp() {
    return java.time.LocalDateTime.now(java.time.ZoneOffset.UTC)
        .format(java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmm", Locale.ROOT)) + "-"
        + machine().replaceAll("[^A-Za-z0-9]+", "-").toLowerCase(Locale.ROOT);
  }

  static String ids(int[] tokens) {
    return Arrays.stream(tokens).mapToObj(Integer::toString).collect(Collectors.joining(","));
  }

  static double medianNanos(int n, Runnable body) {
    for (int i = 0; i < Math.max(2, n / 10); i++) {
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
    } catch (IOException ignored) {
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
    } catch (IOException ignored) {
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

  /** {@code tokens} ids of English text, by the tokenizer in {@code dir}. */
  static int[] qwenPrompt(Path dir, int tokens) {
    try (var t = dev.candor.engine.tokenizer.Tokenizer.load(dir.resolve("tokenizer.json"))) {
      String text = "The quick brown fox jumps over the lazy dog. ".repeat(tokens);
      return Arrays.copyOf(t.encode(text), tokens);
    }
  }

}
