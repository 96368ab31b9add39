package dev.candor.engine.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.model.WeightFormat;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.TokenProbability;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.server.OpenAiServer;
import dev.candor.engine.server.ServerConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code candor serve}: the OpenAI-compatible server. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serve a model over an OpenAI-compatible HTTP API (completions, chat, streaming, logprobs, confidence).")
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Hugging Face checkpoint directory of the target")
  Path model;

  @Option(names = "--name", description = "the model's name in the API (default: the directory name)")
  String name;

  @Option(names = "--drafter", description = "checkpoint directory of a drafter: speculative decoding")
  Path drafter;

  @Option(names = {"-k", "--draft-tokens"}, defaultValue = "4", description = "tokens drafted per step (1..16)")
  int k;

  @Option(names = "--probe", description = "a trained probe directory: calibrated confidence")
  Path probe;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to bind (loopback by default)")
  String host;

  @Option(names = "--port", defaultValue = "8000")
  int port;

  @Option(names = "--api-key", description = "require 'Authorization: Bearer KEY' (or set CANDOR_API_KEY)")
  String apiKey;

  @Option(names = "--max-queue", defaultValue = "16", description = "queued requests before 429")
  int maxQueue;

  @Option(names = "--request-timeout", defaultValue = "300", description = "seconds one request may take")
  int requestTimeout;

  @Option(names = "--log-prompts", description = "log each request's prompt text (off: prompts are the user's data)")
  boolean logPrompts;

  @Option(names = "--backend", defaultValue = "auto",
      description = "java (CPU, Vector API), djl (PyTorch through DJL: CPU or CUDA), cuda (own BF16 kernels, NVIDIA GPU), or auto (java on CPU, djl on GPU)")
  String backend;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, gpu or gpu:N")
  String device;

  @Option(names = "--weights", defaultValue = "native",
      description = "java backend: native (the checkpoint's own types, used in place), q8_0 (8-bit, quantized at"
          + " load), f32, f16 or bf16")
  String weights;

  @Option(names = "--threads",
      description = "java backend: threads for the matrix products (default: the cores, ${DEFAULT-VALUE})")
  int threads = dev.candor.engine.cpu.JavaBackend.defaultThreads();

  @Override
  public Integer call() throws Exception {
    String key = apiKey != null ? apiKey : System.getenv("CANDOR_API_KEY");
    WeightFormat format = WeightFormat.parse(weights);
    try (LoadedModel target = LoadedModel.load(model, device, backend, format, threads);
        LoadedModel draft = drafter == null ? null : LoadedModel.load(drafter, device, backend, format, threads)) {
      if (draft != null) {
        target.requireSameVocabulary(draft);
      }
      LoadedModel served = name == null ? target : target.withName(name);
      ConfidenceModel confidence = probe == null ? new TokenProbability() : Probes.load(probe, target);
      Generator generator = new Generator(target.backend(), draft == null ? null : draft.backend(), target.tokenizer(),
          target.eosTokens(), k);
      ServerConfig config = ServerConfig.defaults(port).withHost(host).withApiKey(key).withMaxQueue(maxQueue)
          .withRequestTimeoutMillis(requestTimeout * 1000L).withLogPrompts(logPrompts);
      CountDownLatch stopped = new CountDownLatch(1);
      try (OpenAiServer server = new OpenAiServer(served, generator, confidence, config)) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          System.err.println("candor: shutting down, finishing requests in flight");
          server.shutdown(10_000);
          stopped.countDown();
        }));
        System.err.printf("candor: serving '%s' (%s%s, confidence: %s) on http://%s:%d/v1%s%n", served.name(),
            target.backend().description(), draft == null ? "" : ", drafter " + draft.name() + " k=" + k,
            confidence.method(), host, server.port(), key == null ? "" : " (API key required)");
        stopped.await();
      }
    }
    return 0;
  }
}
