package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.bench.peer.GgufExport;
import dev.candor.bench.peer.Peer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The serving benchmark's peer row: llama.cpp's own batched-decode benchmark, {@code llama-batched-bench}, on the
 * same Qwen2.5-0.5B weights as a BF16 GGUF, with B sequences of distinct 32-token prompts decoded together through
 * one {@code llama_batch} a step, for B = 1, 2, 4, 8. Its S_TG (B × TG / T_TG) is the aggregate decode throughput the
 * server's streams are compared with; it has no HTTP, no tokenizer and no per-token record, so it is an upper bound
 * on what llama.cpp's server would serve. Built once by bench/batched-peer.sh from the peer's pinned source.
 */
final class BatchedPeer {
  private BatchedPeer() {}

  /** The peer's rows, or null when it was not asked for ({@code --no-peer}, or --only without "peer"). */
  static ObjectNode measure(Path root, Set<String> selected) throws IOException, InterruptedException {
    if (selected != null && !selected.contains("peer")) {
      return null;
    }
    ObjectNode out = ServingBenchmark.JSON.createObjectNode();
    out.put("model", "qwen2.5-0.5b");
    Path bin;
    try {
      Peer.install(); // the pinned source, unpacked by bench/peer/fetch.sh
      bin = Path.of(run(List.of("bash", root.resolve("bench/batched-peer.sh").toString(), Peer.home().toString()))
          .strip());
    } catch (IOException | RuntimeException e) {
      out.put("skipped", "llama-batched-bench could not be built: " + e.getMessage());
      return out;
    }
    Path gguf = GgufExport.cached(BenchCheckpoints.get("qwen2.5-0.5b", 0), GgufExport.Type.BF16);
    int threads = Runtime.getRuntime().availableProcessors();
    CpuShare share = CpuShare.start();
    String jsonl = run(List.of(bin.toString(), "-m", gguf.toString(), "-c", "2048", "-b", "512", "-ub", "512",
        "-npp", "32", "-ntg", "24", "-npl", "1,2,4,8", "-t", Integer.toString(threads), "--output-format", "jsonl"));
    double others = share.othersFraction();
    out.put("engine", "llama.cpp llama-batched-bench (" + Files.readString(Peer.home().resolve("VERSION")).strip()
        + ")");
    out.put("gguf", gguf.getFileName().toString());
    ObjectNode streams = out.putObject("streams");
    for (String line : jsonl.split("\n")) {
      if (line.startsWith("{")) {
        JsonNode row = ServingBenchmark.JSON.readTree(line);
        streams.put(Integer.toString(row.get("pl").asInt()), row.get("speed_tg").asDouble());
      }
    }
    out.put("others_cpu_fraction", others);
    out.put("valid", !(others > EndToEnd.SHARED_CPU) && streams.size() == 4);
    return out;
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(cmd.getFirst() + " exited with " + p.exitValue());
    }
    return out;
  }
}
