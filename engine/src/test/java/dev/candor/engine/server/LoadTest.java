package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.confidence.TokenProbability;
import dev.candor.engine.testing.NativeArrays;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * N concurrent clients, half streaming and half not, for a fixed time against the real server with a drafter: no
 * error but deliberate 429s, the server idle and every KV cache and native array released at the end, heap steady.
 * Writes its figures (requests, errors, latency p50/p99, tokens/s, memory before and after) to
 * {@code target/stress/load-BACKEND.json}.
 *
 * <p>CI runs it small (4 clients, 5 s per backend); {@code make stress} sets {@code -Dcandor.load.clients} and
 * {@code -Dcandor.load.seconds}. Latency figures are reported, never asserted.
 */
class LoadTest {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final int CLIENTS = Integer.getInteger("candor.load.clients", 4);
  static final int SECONDS = Integer.getInteger("candor.load.seconds", 5);

  record Outcome(int status, double seconds, double firstTokenSeconds, int tokens, String error) {}

  static long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Resident set size of this process (Linux), or -1. */
  static long rss() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/status"))) {
      return lines.filter(l -> l.startsWith("VmRSS:")).map(l -> Long.parseLong(l.replaceAll("\\D", "")) * 1024)
          .findFirst().orElse(-1L);
    } catch (Exception e) {
      return -1;
    }
  }

  static double percentile(List<Double> sorted, double q) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
  }

  static Outcome call(HttpClient http, String url, boolean stream, SplittableRandom random) {
    int maxTokens = 8 + random.nextInt(41);
    String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"load " + random.nextInt(1000) + "\"}], "
        + "\"max_tokens\": " + maxTokens + ", \"temperature\": 0.8, \"seed\": " + random.nextInt(1_000_000)
        + ", \"logprobs\": true, \"top_logprobs\": 3, \"stream\": " + stream
        + (stream ? ", \"stream_options\": {\"include_usage\": true}" : "") + "}";
    HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    long start = System.nanoTime();
    try {
      if (!stream) {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        double seconds = (System.nanoTime() - start) / 1e9;
        if (r.statusCode() != 200) {
          return new Outcome(r.statusCode(), seconds, Double.NaN, 0, r.body());
        }
        int tokens = JSON.readTree(r.body()).get("usage").get("completion_tokens").asInt();
        return new Outcome(200, seconds, Double.NaN, tokens, null);
      }
      HttpResponse<Stream<String>> r = http.send(request, HttpResponse.BodyHandlers.ofLines());
      if (r.statusCode() != 200) {
        String text = String.join("\n", r.body().toList());
        return new Outcome(r.statusCode(), (System.nanoTime() - start) / 1e9, Double.NaN, 0, text);
      }
      double first = Double.NaN;
      int tokens = -1;
      boolean done = false;
      String error = null;
      for (String line : (Iterable<String>) r.body()::iterator) {
        if (!line.startsWith("data: ")) {
          continue;
        }
        if (line.equals("data: [DONE]")) {
          done = true;
          break;
        }
        JsonNode chunk = JSON.readTree(line.substring(6));
        if (chunk.has("error")) {
          error = chunk.toString();
        } else if (chunk.get("usage") != null && !chunk.get("usage").isNull()) {
          tokens = chunk.get("usage").get("completion_tokens").asInt();
        } else if (Double.isNaN(first) && chunk.get("choices").get(0).get("logprobs").isObject()) {
          first = (System.nanoTime() - start) / 1e9;
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      if (error != null || !done || tokens < 0) {
        return new Outcome(500, seconds, first, 0, error != null ? error : "stream ended without [DONE] or usage");
      }
      return new Outcome(200, seconds, first, tokens, null);
    } catch (Exception e) {
      return new Outcome(-1, (System.nanoTime() - start) / 1e9, Double.NaN, 0, e.toString());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "djl"})
  void concurrentClientsGetNoErrorsAndLeaveNothingBehind(String backend) throws Exception {
    try (TestServer s = new TestServer(true, ServerConfig.defaults(0).withMaxQueue(Math.max(1, CLIENTS / 2)),
        new TokenProbability(), backend)) {
      String url = s.url("/v1/chat/completions");
      HttpClient http = HttpClient.newBuilder().executor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor())
          .build();
      // warm up (JIT, first allocations), then measure memory
      call(http, url, false, new SplittableRandom(0));
      call(http, url, true, new SplittableRandom(1));
      long heapBefore = heapAfterGc();
      long rssBefore = rss();
      int arraysBefore = NativeArrays.live(s.target.backend()) + NativeArrays.live(s.drafter.backend());

      ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
      long end = System.nanoTime() + SECONDS * 1_000_000_000L;
      long started = System.nanoTime();
      List<Thread> clients = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        boolean stream = c % 2 == 0;
        SplittableRandom random = new SplittableRandom(100 + c);
        clients.add(Thread.ofVirtual().start(() -> {
          while (System.nanoTime() < end) {
            Outcome o = call(http, url, stream, random);
            outcomes.add(o);
            if (o.status() == 429) {
              try {
                Thread.sleep(100); // a polite client backs off (the server says Retry-After: 1)
              } catch (InterruptedException e) {
                return;
              }
            }
          }
        }));
      }
      for (Thread t : clients) {
        t.join();
      }
      double wall = (System.nanoTime() - started) / 1e9;
      long heapAfter = heapAfterGc();
      long rssAfter = rss();
      int arraysAfter = NativeArrays.live(s.target.backend()) + NativeArrays.live(s.drafter.backend());
      JsonNode health = ServerHttpTest.health(s);

      List<Double> latency = new ArrayList<>();
      List<Double> firstToken = new ArrayList<>();
      long tokens = 0;
      int ok = 0;
      int rejected = 0;
      ConcurrentHashMap<String, AtomicLong> errors = new ConcurrentHashMap<>();
      for (Outcome o : outcomes) {
        if (o.status() == 200) {
          ok++;
          tokens += o.tokens();
          latency.add(o.seconds());
          if (!Double.isNaN(o.firstTokenSeconds())) {
            firstToken.add(o.firstTokenSeconds());
          }
        } else if (o.status() == 429) {
          rejected++;
        } else {
          errors.computeIfAbsent(o.status() + " " + o.error(), k -> new AtomicLong()).incrementAndGet();
        }
      }
      Collections.sort(latency);
      Collections.sort(firstToken);
      ObjectNode report = JSON.createObjectNode();
      report.put("backend", s.target.backend().description());
      report.put("clients", CLIENTS);
      report.put("seconds", wall);
      report.put("requests_ok", ok);
      report.put("rejected_429", rejected);
      report.put("errors", errors.values().stream().mapToLong(AtomicLong::get).sum());
      report.set("error_kinds", JSON.valueToTree(errors));
      report.put("completion_tokens", tokens);
      report.put("tokens_per_second", tokens / wall);
      report.put("latency_p50_s", percentile(latency, 0.5));
      report.put("latency_p99_s", percentile(latency, 0.99));
      report.put("stream_first_token_p50_s", percentile(firstToken, 0.5));
      report.put("stream_first_token_p99_s", percentile(firstToken, 0.99));
      report.put("heap_after_gc_before_mb", heapBefore / 1e6);
      report.put("heap_after_gc_after_mb", heapAfter / 1e6);
      report.put("rss_before_mb", rssBefore / 1e6);
      report.put("rss_after_mb", rssAfter / 1e6);
      report.put("live_ndarrays_before", arraysBefore);
      report.put("live_ndarrays_after", arraysAfter);
      Path out = Path.of("target/stress/load-" + backend + ".json");
      Files.createDirectories(out.getParent());
      JSON.writeValue(out.toFile(), report);
      Files.writeString(out.resolveSibling("load-" + backend + ".md"), String.format(java.util.Locale.ROOT,
          "| %s | %d | %.0f | %d | %d | %d | %.1f | %.3f | %.3f | %.3f | %.0f → %.0f | %.0f → %.0f | %d → %d |%n",
          report.get("backend").asText(), CLIENTS, wall, ok, rejected, report.get("errors").asLong(), tokens / wall,
          percentile(latency, 0.5), percentile(latency, 0.99), percentile(firstToken, 0.5), heapBefore / 1e6,
          heapAfter / 1e6, rssBefore / 1e6, rssAfter / 1e6, arraysBefore, arraysAfter));
      System.out.println("load test: " + report);

      assertTrue(errors.isEmpty(), "errors other than 429: " + errors);
      assertTrue(ok >= 2, "requests served: " + ok);
      assertEquals(0, health.get("queued").asInt());
      assertEquals(0, health.get("running").asInt());
      assertEquals(arraysBefore, arraysAfter, "native arrays left behind");
      assertTrue(heapAfter - heapBefore < 64_000_000, "heap grew by " + (heapAfter - heapBefore) / 1e6 + " MB");
    }
  }
}
