package dev.candor.engine.server;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;

/**
 * What the HTTP stack costs by itself, for the README's stack table: one JVM per run, the JDK's own server
 * ({@code jdk}) or Jetty's ({@code jetty}, as {@link HttpServers} builds it), each serving a small JSON answer: the
 * time to create and start the server, to answer the first request, the mean of 2000 keep-alive requests after it,
 * and the resident set and heap after three collections. Run the two alternately several times (the numbers of one
 * run are noise on a shared machine):
 *
 * <pre>
 * cp="engine/target/test-classes:engine/target/classes:build/lib/*"
 * java -cp "$cp" -Dcom.sun.net.httpserver.HttpServerProvider=sun.net.httpserver.DefaultHttpServerProvider \
 *   dev.candor.engine.server.HttpStackProbe jdk
 * java -cp "$cp" dev.candor.engine.server.HttpStackProbe jetty
 * </pre>
 *
 * (jetty-http-spi registers itself as the JDK's HttpServerProvider, so {@code HttpServer.create} would give Jetty's
 * without the property.)
 */
public final class HttpStackProbe {
  public static void main(String[] args) throws Exception {
    boolean jetty = args.length == 1 && args[0].equals("jetty");
    HttpHandler answer = exchange -> {
      Http.sendJson(exchange, 200, Responses.JSON.createObjectNode().put("ok", true));
      exchange.close();
    };
    long t0 = System.nanoTime();
    HttpServer server;
    if (jetty) {
      server = HttpServers.start(new InetSocketAddress("127.0.0.1", 0), 128, answer, status -> { });
    } else {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
      server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
      server.createContext("/", answer);
      server.start();
    }
    long t1 = System.nanoTime();
    HttpClient client = HttpClient.newHttpClient();
    HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/x"))
        .build();
    client.send(get, HttpResponse.BodyHandlers.ofString());
    long t2 = System.nanoTime();
    int n = 2000;
    for (int i = 0; i < n; i++) {
      client.send(get, HttpResponse.BodyHandlers.ofString());
    }
    long t3 = System.nanoTime();
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(300);
    }
    long rssKb = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS"))
        .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).findFirst().orElse(-1);
    Runtime r = Runtime.getRuntime();
    System.out.printf("%s start_ms=%.1f first_request_ms=%.1f per_request_us=%.0f rss_mb=%.1f heap_used_mb=%.1f%n",
        jetty ? "jetty" : "jdk", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e3 / n, rssKb / 1024.0,
        (r.totalMemory() - r.freeMemory()) / 1048576.0);
    server.stop(0);
    System.exit(0);
  }
}
