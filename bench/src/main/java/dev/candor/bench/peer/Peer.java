package dev.candor.bench.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.bench.BenchCheckpoints;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.cpu.WeightMemory;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.sampling.SamplingParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The end-to-end benchmark's peer: llama.cpp, the strongest CPU inference engine this machine can run, on the same
 * checkpoint (exported to GGUF by {@link GgufExport}), the same prompt token ids and greedy decoding, so Candor's
 * decode speed can be reported as a ratio to it. llama.cpp is built from the source pinned in
 * {@code bench/peer/fetch.sh} into {@link #home()} on first use; {@code bench/peer/README.md} says why it comes that way.
 *
 * <p>Timing is the peer's own wall clock around its calls, after one warm-up generation: prefill is the one
 * {@code llama_decode} of the whole prompt plus the first argmax; decode is the {@code n - 1} single-token steps that
 * follow (each one {@code llama_decode} and one argmax over the vocabulary), so a decode token/s is directly
 * comparable with Candor's time per plain decode step. The process inherits this JVM's environment, so llama.cpp's
 * OpenMP settings (e.g. {@code OMP_WAIT_POLICY}) are the caller's; by default it runs as llama.cpp's defaults are.
 */
public final class Peer {
  private Peer() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One peer run.
   *
   * @param engine "llama.cpp"
   * @param version the pinned source and how it was obtained
   * @param promptTokens tokens prefilled
   * @param promptTokensPerSecond prompt tokens / prefill seconds
   * @param decodeSteps single-token decode steps timed (generated tokens - 1)
   * @param decodeTokensPerSecond decode steps / decode seconds
   * @param tokens the greedy tokens generated, the first from the prefill
   * @param threads threads llama.cpp computed with
   * @param model the GGUF file it ran
   * @param loadAverage the system's one-minute load average just before the run: a number near or above the core
   *     count means another job shared the CPU and the timings are not to be trusted (see bench/peer/README.md)
   * @param promptCpuSeconds the process's CPU time for the prefill (all threads)
   * @param decodeCpuSecondsPerStep the process's CPU time per decode step (all threads)
   */
  public record PeerResult(String engine, String version, int promptTokens, double promptTokensPerSecond,
      int decodeSteps, double decodeTokensPerSecond, int[] tokens, int threads, Path model, double loadAverage,
      double promptCpuSeconds, double decodeCpuSecondsPerStep) {

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%s %s: prefill %d tokens at %.1f tokens/s, decode %d steps at %.2f tokens/s, "
          + "%d threads, %s, load average %.2f", engine, version, promptTokens, promptTokensPerSecond, decodeSteps,
          decodeTokensPerSecond, threads, model.getFileName(), loadAverage);
    }
  }

  /** Where the peer is installed: {@code $CANDOR_PEER_HOME}, else {@code ~/.cache/candor/peer}. */
  public static Path home() {
    String configured = System.getenv("CANDOR_PEER_HOME");
    return configured != null
        ? Path.of(configured)
        : Path.of(System.getProperty("user.home"), ".cache", "candor", "peer");
  }

  private static Path binary;

  /**
   * The candor-peer binary: {@code $CANDOR_PEER_BIN} if set (a build of one's own), else the one
   * {@code bench/peer/fetch.sh} builds into {@link #home()} if it is not there yet (minutes, once).
   */
  public static synchronized Path install() {
    if (binary != null) {
      return binary;
    }
    String own = System.getenv("CANDOR_PEER_BIN");
    if (own != null) {
      binary = Path.of(own);
      return binary;
    }
    Path script = BenchCheckpoints.repoRoot().resolve("bench/peer/fetch.sh");
    ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), home().toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT);
    String out = exec(pb, "bench/peer/fetch.sh").strip();
    Path built = Path.of(out.substring(out.lastIndexOf('\n') + 1));
    if (!Files.isExecutable(built)) {
      throw new IllegalStateException("bench/peer/fetch.sh printed '" + out + "', not an executable");
    }
    binary = built;
    return binary;
  }

  /** Runs the peer on {@code checkpointDir} in its own weight type (exported to GGUF once, cached next to it). */
  public static PeerResult run(Path checkpointDir, int[] promptTokens, int decodeTokens, int threads) {
    return run(checkpointDir, null, promptTokens, decodeTokens, threads);
  }

  /** As {@link #run(Path, int[], int, int)}, with the matrices in {@code type} (null: the checkpoint's own). */
  public static PeerResult run(Path checkpointDir, GgufExport.Type type, int[] promptTokens, int decodeTokens,
      int threads) {
    return run(checkpointDir, type, promptTokens, decodeTokens, threads, WeightMemory.MAPPED);
  }

  /**
   * As {@link #run(Path, GgufExport.Type, int[], int, int)}, the weights mapped (llama.cpp's default) or read into
   * the process's own memory ({@code --no-mmap}), as Candor's {@link WeightMemory}.
   */
  public static PeerResult run(Path checkpointDir, GgufExport.Type type, int[] promptTokens, int decodeTokens,
      int threads, WeightMemory memory) {
    Path gguf = GgufExport.cached(checkpointDir, type);
    return runGguf(gguf, promptTokens, decodeTokens, threads, memory);
  }

  /** Runs the peer on a GGUF file: greedy, {@code decodeTokens} generated after prefilling {@code promptTokens}. */
  public static PeerResult runGguf(Path gguf, int[] promptTokens, int decodeTokens, int threads, WeightMemory memory) {
    if (promptTokens.length == 0 || decodeTokens < 1 || threads < 1) {
      throw new IllegalArgumentException("need a prompt, decodeTokens >= 1 and threads >= 1");
    }
    String ids = Arrays.stream(promptTokens).mapToObj(Integer::toString).collect(Collectors.joining(","));
    ProcessBuilder pb = new ProcessBuilder(install().toString(), "-m", gguf.toString(), "-p", ids,
        "-n", Integer.toString(decodeTokens), "-t", Integer.toString(threads));
    if (memory == WeightMemory.COPIED) {
      pb.command().add("--no-mmap");
    }
    double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    String out = exec(pb, "candor-peer");
    JsonNode r;
    try {
      r = JSON.readTree(out.substring(out.lastIndexOf("\n{") + 1));
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("candor-peer printed no result: " + out, e);
    }
    int[] tokens = new int[r.path("tokens").size()];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = r.path("tokens").get(i).asInt();
    }
    int steps = r.path("decode_steps").asInt();
    return new PeerResult(r.path("engine").asText(), r.path("version").asText(), r.path("prompt_tokens").asInt(),
        r.path("prompt_tokens").asInt() / (r.path("prompt_ms").asDouble() / 1e3), steps,
        steps / (r.path("decode_ms").asDouble() / 1e3), tokens, r.path("threads").asInt(), gguf, load,
        r.path("prompt_cpu_ms").asDouble() / 1e3, r.path("decode_cpu_ms").asDouble() / 1e3 / Math.max(1, steps));
  }

  /**
   * The peer's logits at every position of {@code tokens}, teacher-forced in one batch (with a float32 KV cache, as
   * Candor's), written to {@code out} as little-endian float32 [positions, vocab]; returns the peer's vocabulary size.
   */
  public static int teacherForcedLogits(Path gguf, int[] tokens, int threads, Path out) {
    String ids = Arrays.stream(tokens).mapToObj(Integer::toString).collect(Collectors.joining(","));
    ProcessBuilder pb = new ProcessBuilder(install().toString(), "-m", gguf.toString(), "-p", ids,
        "-t", Integer.toString(threads), "--logits", out.toString());
    String result = exec(pb, "candor-peer --logits");
    try {
      JsonNode r = JSON.readTree(result.substring(result.lastIndexOf("\n{") + 1));
      return r.path("n_vocab").asInt();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("candor-peer --logits printed no result: " + result, e);
    }
  }

  /** Runs a process to its end; its stdout, or an exception with its output when it fails. */
  private static String exec(ProcessBuilder pb, String what) {
    try {
      Path err = null;
      if (pb.redirectError() == ProcessBuilder.Redirect.PIPE) {
        err = Files.createTempFile("candor-peer", ".err");
        pb.redirectError(err.toFile());
      }
      Process p = pb.start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int rc = p.waitFor();
      String errText = err == null ? "" : Files.readString(err);
      if (err != null) {
        Files.deleteIfExists(err);
      }
      if (rc != 0) {
        throw new IllegalStateException(what + " exited with " + rc + ": " + errText.strip() + " " + out.strip());
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("running " + what, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + what, e);
    }
  }

  /**
   * The agreement check: Candor and the peer decode the same prompt greedily on the same checkpoint; prints both
   * token lists, where they first differ, and both speeds.
   *
   * <pre>Peer CHECKPOINT_DIR [PROMPT] [TOKENS] [THREADS] [f32|f16|bf16]</pre>
   */
  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    String prompt = args.length > 1 ? args[1] : "The quick brown fox jumps over the lazy dog";
    int n = args.length > 2 ? Integer.parseInt(args[2]) : 16;
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    GgufExport.Type type = args.length > 4 ? GgufExport.Type.valueOf(args[4].toUpperCase(Locale.ROOT)) : null;

    int[] promptIds;
    int[] candor;
    double candorDecode;
    try (LoadedModel model = LoadedModel.load(dir, "cpu")) {
      promptIds = model.tokenizer().encode(prompt);
      Generator generator = new Generator(model.backend(), null, model.tokenizer(), model.eosTokens(), 0);
      GenerationRequest request = GenerationRequest.of(n, SamplingParams.greedy()).withIgnoreEos(true);
      generator.generate(promptIds, request, (records, offsets, text) -> {}); // warm-up
      GenerationResult result = generator.generate(promptIds, request, (records, offsets, text) -> {});
      candor = result.tokens().stream().mapToInt(TokenRecord::token).toArray();
      var t = result.timings();
      candorDecode = (candor.length - 1) / ((t.totalNanos() - t.prefillNanos()) / 1e9);
      System.out.println("candor backend: " + model.backend().description());
    }
    PeerResult peer = run(dir, type, promptIds, n, threads);

    System.out.println("prompt ids: " + Arrays.toString(promptIds));
    System.out.println("candor:     " + Arrays.toString(candor));
    System.out.println("peer:       " + Arrays.toString(peer.tokens()));
    int agree = 0;
    while (agree < Math.min(candor.length, peer.tokens().length) && candor[agree] == peer.tokens()[agree]) {
      agree++;
    }
    System.out.println(agree == n && candor.length == n && peer.tokens().length == n
        ? "agreement: all " + n + " tokens"
        : "agreement: first " + agree + " of " + n + " tokens, then candor " + at(candor, agree)
            + " vs peer " + at(peer.tokens(), agree));
    System.out.println(peer);
    System.out.printf(Locale.ROOT, "candor decode %.2f tokens/s (generate loop, with text and records) = %.2f x peer%n",
        candorDecode, candorDecode / peer.decodeTokensPerSecond());
  }

  private static String at(int[] tokens, int i) {
    return i < tokens.length ? Integer.toString(tokens[i]) : "(none)";
  }
}
