package dev.candor.engine.server;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.TokenProbability;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A real server on a free loopback port, serving small random models with Qwen2.5's tokenizer. */
final class TestServer implements AutoCloseable {
  static final Qwen2Config TARGET = new Qwen2Config(32, 48, 2, 4, 2, 8, 1e-6, 10000, 151936, 1024, true, DType.F32);
  static final Qwen2Config DRAFTER = new Qwen2Config(16, 24, 1, 2, 1, 8, 1e-6, 10000, 151936, 1024, true, DType.F32);

  final LoadedModel target;
  final LoadedModel drafter;
  final OpenAiServer server;

  TestServer(boolean speculative, ServerConfig config) {
    this(speculative, config, new TokenProbability());
  }

  TestServer(boolean speculative, ServerConfig config, ConfidenceModel confidence) {
    this(speculative, config, confidence, "auto");
  }

  /** With {@code backend} "java", "djl" or "auto" (the engine's choice). */
  TestServer(boolean speculative, ServerConfig config, ConfidenceModel confidence, String backend) {
    this(target(), speculative, config, confidence, backend);
  }

  /** Serving the checkpoint in {@code dir} (e.g. a {@link #copyOfTarget} with another generation_config.json). */
  TestServer(Path dir, ServerConfig config) {
    this(dir, false, config, new TokenProbability(), "auto");
  }

  private TestServer(Path targetDir, boolean speculative, ServerConfig config, ConfidenceModel confidence,
      String backend) {
    target = LoadedModel.load(targetDir, "cpu", backend).withName("candor-test");
    drafter = speculative ? LoadedModel.load(TestCheckpoints.write("server-drafter", DRAFTER, 6, 0.3, DType.F32, 0,
        TestCheckpoints.qwenTokenizer()), "cpu", backend) : null;
    Generator generator = new Generator(target.backend(), drafter == null ? null : drafter.backend(), target.tokenizer(),
        target.eosTokens(), 3);
    try {
      server = new OpenAiServer(target, generator, confidence, config);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path target() {
    return TestCheckpoints.write("server-target", TARGET, 5, 0.3, DType.BF16, 0, TestCheckpoints.qwenTokenizer());
  }

  /** A fresh copy of the test target's checkpoint directory, to change one of its files. */
  static Path copyOfTarget(String name) throws IOException {
    Path from = target();
    Path to = from.resolveSibling(name);
    if (Files.exists(to)) {
      try (var files = Files.list(to)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
    }
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    return to;
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.port() + "/v1";
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.port() + path;
  }

  @Override
  public void close() {
    server.close();
    target.close();
    if (drafter != null) {
      drafter.close();
    }
  }
}
