package dev.candor.engine.server;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.generate.Generator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The real server on a free loopback port serving the embedded default as `make run` does: target, drafter (k = 4)
 * and probe from models/default. Small (vocabulary 259), so it loads in about a second.
 */
final class DefaultServer implements AutoCloseable {
  static final Path MODELS = WebPages.repositoryRoot().resolve("models/default");
  static final Path PROBE = MODELS.resolve("probe");

  final LoadedModel target;
  final LoadedModel drafter;
  final Generator generator;
  final OpenAiServer server;

  /** With {@code config}'s key and limits, and the probe directory for the page. */
  DefaultServer(ServerConfig config) {
    target = LoadedModel.load(MODELS.resolve("target"), "cpu", "java").withName("candor-default");
    drafter = LoadedModel.load(MODELS.resolve("drafter"), "cpu", "java");
    generator = new Generator(target.backend(), drafter.backend(), target.tokenizer(), target.eosTokens(), 4);
    server = serve(config);
  }

  /** Another server over the same models (one runs at a time in these tests), e.g. with an API key. */
  OpenAiServer serve(ServerConfig config) {
    try {
      return new OpenAiServer(target, generator, ConfidenceModel.load(PROBE),
          config.withProbeDir(PROBE));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String url(String path) {
    return url(server, path);
  }

  static String url(OpenAiServer s, String path) {
    return "http://127.0.0.1:" + s.port() + path;
  }

  @Override
  public void close() {
    server.close();
    target.close();
    drafter.close();
  }
}
