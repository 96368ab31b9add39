package dev.candor.engine.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory of a real server process, as a user runs it ({@code bin/candor serve} with the launcher's JVM flags, the
 * default model), for {@code make stress}: its resident set before load, after CLIENTS clients for SECONDS, and after
 * it has been idle a minute (the collector should give memory back). Writes a markdown table; exits 1 if any request
 * got an answer other than 200 or a deliberate 429, or the server failed.
 *
 * <p>{@code ServeMemory CLIENTS SECONDS OUT.md}, run from the repository root after {@code make build}.
 */
public final class ServeMemory {
  static final String BODY = "{\"messages\": [{\"role\": \"user\", \"content\": \"Trace this program:\\na = 3\\nb = a * 4"
      + "\\nprint(b)\\n\"}], \"max_tokens\": 40, \"temperature\": 0.7, \"logprobs\": true, \"top_logprobs\": 3%s}";

  public static void main(String[] args) throws Exception {
    int clients = Integer.parseInt(args[0]);
    int seconds = Integer.parseInt(args[1]);
    Path out = Path.of(args[2]);
    int port = 18000 + (int) (ProcessHandle.current().pid() % 900);
    Process server = new ProcessBuilder("bin/candor", "serve", "--model", "models/default/target", "--drafter",
        "models/default/drafter", "--probe", "models/default/probe", "--port", Integer.toString(port),
        "--max-queue", Integer.toString(Math.max(2, clients / 4)), "--no-access-log")
        .redirectErrorStream(true).redirectOutput(Path.of(args[2] + ".server.log").toFile()).start();
    try {
      HttpClient http = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
      String base = "http://127.0.0.1:" + port;
      awaitReady(http, base, server);
      Thread.sleep(5_000);
      long before = rssMb(server.pid());
      var counts = load(http, base, clients, seconds);
      long loaded = rssMb(server.pid());
      Thread.sleep(60_000);
      long idle = rssMb(server.pid());
      long errors = counts.entrySet().stream().filter(e -> e.getKey() != 200 && e.getKey() != 429)
          .mapToLong(e -> e.getValue().get()).sum();
      String table = "| clients | s | 200 | 429 (deliberate) | other | RSS MB before | after load | after 60 s idle |\n"
          + "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
          + "| " + clients + " | " + seconds + " | " + count(counts, 200) + " | " + count(counts, 429) + " | " + errors
          + " | " + before + " | " + loaded + " | " + idle + " |\n";
      Files.writeString(out, table);
      System.out.print(table);
      if (errors > 0 || !server.isAlive()) {
        System.exit(1);
      }
    } finally {
      server.destroy(); // SIGTERM: the server's graceful shutdown
      server.waitFor();
    }
  }

  static long count(ConcurrentHashMap<Integer, AtomicLong> counts, int status) {
    AtomicLong n = counts.get(status);
    return n == null ? 0 : n.get();
  }

  static void awaitReady(HttpClient http, String base, Process server) throws Exception {
    for (int i = 0; i < 600; i++) {
      if (!server.isAlive()) {
        throw new IllegalStateException("the server exited: see the .server.log beside the report");
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // still starting
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the server did not become ready in 60 s");
  }

  /** CLIENTS virtual threads, half streaming, each sending requests back to back for SECONDS; answers by status. */
  static ConcurrentHashMap<Integer, AtomicLong> load(HttpClient http, String base, int clients, int seconds)
      throws InterruptedException {
    ConcurrentHashMap<Integer, AtomicLong> counts = new ConcurrentHashMap<>();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Runnable> work = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        boolean stream = c % 2 == 0;
        work.add(() -> {
          while (System.nanoTime() < end) {
            int status;
            try {
              HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                  .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(BODY.formatted(stream ? ", \"stream\": true" : "")))
                  .build();
              status = http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode();
            } catch (IOException e) {
              status = -1;
            } catch (InterruptedException e) {
              return;
            }
            counts.computeIfAbsent(status, k -> new AtomicLong()).incrementAndGet();
            if (status == 429) {
              try {
                Thread.sleep(100);
              } catch (InterruptedException e) {
                return;
              }
            }
          }
        });
      }
      work.forEach(pool::submit);
    }
    return counts;
  }

  /** The resident set of a process, from /proc. */
  static long rssMb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
      }
    }
    return -1;
  }
}
