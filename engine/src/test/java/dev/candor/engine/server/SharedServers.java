package dev.candor.engine.server;

/**
 * Servers the API tests share within one test JVM, started on first use and closed when the JVM exits: each loads
 * Qwen's 151,936-id tokenizer, and its grammar cache warms up over the tests, which is most of what they would
 * otherwise spend. Only for tests that leave a server as they found it (no configuration, no injected faults).
 */
final class SharedServers {
  private static TestServer qwen25;
  private static TestServer qwen3;
  private static TestServer thinking;

  private SharedServers() {}

  /** A random model with Qwen2.5's tokenizer and template, and a drafter (k = 3). */
  static synchronized TestServer qwen25() {
    if (qwen25 == null) {
      qwen25 = closedAtExit(new TestServer(true, ServerConfig.defaults(0)));
    }
    return qwen25;
  }

  /** A random model with Qwen3's tokenizer and published template. */
  static synchronized TestServer qwen3() {
    if (qwen3 == null) {
      qwen3 = closedAtExit(new TestServer(Qwen3Checkpoints.qwen3(), ServerConfig.defaults(0)));
    }
    return qwen3;
  }

  /** The same with a template whose generation prompt opens the think block. */
  static synchronized TestServer thinking() {
    if (thinking == null) {
      thinking = closedAtExit(new TestServer(Qwen3Checkpoints.thinkingOnly(), ServerConfig.defaults(0)));
    }
    return thinking;
  }

  private static TestServer closedAtExit(TestServer server) {
    Runtime.getRuntime().addShutdownHook(new Thread(server::close));
    return server;
  }
}
