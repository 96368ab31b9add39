package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.DoubleStream;

/**
 * The serving benchmark's client: streaming completions over HTTP, as an OpenAI client sends them (token-id prompts,
 * greedy, {@code ignore_eos} so every request runs its full length), with the arrival time of every chunk and the
 * tokens in it (its {@code confidence.tokens}: one entry a token, so a chunk of several accepted drafts counts as
 * several). Times are seconds on one clock, from the client's start.
 */
final class ServingClient {
  private final HttpClient http = HttpClient.newHttpClient();
  private final URI uri;
  private final long epoch = System.nanoTime();

  ServingClient(int port) {
    this.uri = URI.create("http://127.0.0.1:" + port + "/v1/completions");
  }

  double now() {
    return (System.nanoTime() - epoch) / 1e9;
  }

  /** One streamed request: when it was sent, each chunk's arrival and token count, the usage's cached tokens. */
  final class Stream {
    final double sent;
    private final List<double[]> chunks = new ArrayList<>(); // {arrival seconds, tokens}
    private long cachedTokens = -1;
    private final CompletableFuture<Stream> done = new CompletableFuture<>();

    Stream(double sent) {
      this.sent = sent;
    }

    synchronized void chunk(double at, int tokens) {
      chunks.add(new double[] {at, tokens});
      notifyAll();
    }

    /** Blocks until at least {@code n} tokens have arrived (or the stream ended). */
    synchronized void awaitTokens(int n) throws InterruptedException {
      while (tokens() < n && !done.isDone()) {
        wait(100);
      }
    }

    Stream await() throws InterruptedException, ExecutionException {
      return done.get();
    }

    synchronized long tokens() {
      return chunks.stream().mapToLong(c -> (long) c[1]).sum();
    }

    synchronized double ttft() {
      return chunks.getFirst()[0] - sent;
    }

    synchronized double firstAt() {
      return chunks.getFirst()[0];
    }

    synchronized double lastAt() {
      return chunks.getLast()[0];
    }

    /** Tokens of chunks that arrived in (from, to]. */
    synchronized long tokensBetween(double from, double to) {
      return chunks.stream().filter(c -> c[0] > from && c[0] <= to).mapToLong(c -> (long) c[1]).sum();
    }

    /** Inter-token gaps: a chunk of k tokens after a gap g counts as k gaps of g / k. */
    synchronized DoubleStream gaps() {
      return gapsBefore(Double.POSITIVE_INFINITY);
    }

    /** The gaps of the chunks that arrived before {@code t}. */
    synchronized DoubleStream gapsBefore(double t) {
      List<Double> out = new ArrayList<>();
      for (int i = 1; i < chunks.size() && chunks.get(i)[0] < t; i++) {
        double gap = chunks.get(i)[0] - chunks.get(i - 1)[0];
        for (int k = 0; k < (int) chunks.get(i)[1]; k++) {
          out.add(gap / chunks.get(i)[1]);
        }
      }
      return out.stream().mapToDouble(Double::doubleValue);
    }

    /** The mean interval between this stream's chunks that arrived before {@code t}: one decode step. */
    synchronized double chunkInterval(double t) {
      int n = 0;
      while (n < chunks.size() && chunks.get(n)[0] < t) {
        n++;
      }
      return n < 2 ? Double.NaN : (chunks.get(n - 1)[0] - chunks.getFirst()[0]) / (n - 1);
    }

    synchronized long cachedTokens() {
      return cachedTokens;
    }
  }

  /** Sends a request and returns at once; the stream fills in as chunks arrive. */
  Stream start(int[] prompt, int maxTokens) {
    ObjectNode body = ServingBenchmark.JSON.createObjectNode();
    var ids = body.putArray("prompt");
    for (int t : prompt) {
      ids.add(t);
    }
    body.put("max_tokens", maxTokens).put("temperature", 0).put("stream", true).put("ignore_eos", true);
    body.putObject("stream_options").put("include_usage", true);
    HttpRequest request = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
    Stream s = new Stream(now());
    Thread.ofVirtual().start(() -> {
      try {
        read(s, http.send(request, HttpResponse.BodyHandlers.ofLines()));
        s.done.complete(s);
      } catch (IOException | InterruptedException | RuntimeException e) {
        s.done.completeExceptionally(e);
      }
      synchronized (s) {
        s.notifyAll();
      }
    });
    return s;
  }

  private void read(Stream s, HttpResponse<java.util.stream.Stream<String>> response) throws IOException {
    if (response.statusCode() != 200) {
      throw new IOException("HTTP " + response.statusCode() + ": " + String.join("\n", response.body().toList()));
    }
    for (String line : (Iterable<String>) response.body()::iterator) {
      if (!line.startsWith("data: {")) {
        continue;
      }
      double at = now();
      JsonNode event = ServingBenchmark.JSON.readTree(line.substring(6));
      if (event.has("error")) {
        throw new IOException("the stream failed: " + event.get("error"));
      }
      JsonNode usage = event.path("usage").path("prompt_tokens_details").path("cached_tokens");
      if (!usage.isMissingNode()) {
        synchronized (s) {
          s.cachedTokens = usage.asLong();
        }
      }
      JsonNode choice = event.path("choices").path(0);
      int tokens = choice.path("confidence").path("tokens").size();
      if (tokens > 0 && !choice.path("finish_reason").isTextual()) { // the closing chunk's confidence covers all
        s.chunk(at, tokens);
      }
    }
  }

  /** A request run to its end. */
  Stream complete(int[] prompt, int maxTokens) throws InterruptedException, ExecutionException {
    return start(prompt, maxTokens).await();
  }

  /** Requests sent together, each run to its end. */
  List<Stream> concurrently(List<int[]> prompts, int maxTokens) throws InterruptedException, ExecutionException {
    List<Stream> streams = new ArrayList<>();
    for (int[] p : prompts) {
      streams.add(start(p, maxTokens));
    }
    for (Stream s : streams) {
      s.await();
    }
    return streams;
  }
}
