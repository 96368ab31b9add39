package dev.candor.engine.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.TokenProbability;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.server.OpenAiServer;
import dev.candor.engine.server.ServerConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code candor serve}: the OpenAI-compatible server. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serve a model over an OpenAI-compatible HTTP API (completions, chat, streaming, logprobs, confidence).")
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--model", required = true,
      description = "the target: a Hugging Face checkpoint directory, or a repo id ORG/NAME[@REVISION] in the local HF cache")
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

  @Option(names = "--max-queue", defaultValue = "16", description = "requests waiting to start before 429")
  int maxQueue;

  @Option(names = "--max-batch", defaultValue = "" + ServerConfig.DEFAULT_MAX_BATCH,
      description = "choices generated together (continuous batching), default ${DEFAULT-VALUE}")
  int maxBatch;

  @Option(names = "--kv-cache-mb", defaultValue = "0",
      description = "KV cache the batch may hold, in MB (default: half the Java heap)")
  long kvCacheMb;

  @Option(names = "--prefix-cache-mb", defaultValue = "0", description = "KV of prompt prefixes kept across "
      + "requests, in MB (default: a quarter of the KV budget; -1 for none)")
  long prefixCacheMb;

  @Option(names = "--prefill-chunk", defaultValue = "256",
      description = "prompt tokens prefilled per step while other requests decode (default ${DEFAULT-VALUE})")
  int prefillChunk;

  @Option(names = "--request-timeout", defaultValue = "300", description = "seconds one request may take")
  int requestTimeout;

  @Option(names = "--log-prompts", description = "log each request's prompt text (off: prompts are the user's data)")
  boolean logPrompts;

  @Option(names = "--no-access-log", description = "no line per request on stderr")
  boolean noAccessLog;

  @Option(names = "--allowed-hosts", split = ",", description = "Host names served besides localhost, 127.0.0.1, "
      + "[::1] and the bound address (comma-separated; '*' for any): other names are refused, against DNS rebinding")
  java.util.List<String> allowedHosts = java.util.List.of();

  @Option(names = "--allowed-origins", split = ",", description = "browser origins allowed to call the API "
      + "cross-origin, e.g. http://localhost:3000 (CORS; none by default, '*' for any)")
  java.util.List<String> allowedOrigins = java.util.List.of();

  /** Whether generation_config.json's sampling defaults apply to requests that leave them out. */
  enum GenerationConfigMode { auto, ignore }

  @Option(names = "--generation-config", defaultValue = "auto", description = "auto: requests that leave out "
      + "temperature, top_p, top_k or repetition_penalty get the checkpoint's generation_config.json values (as "
      + "vLLM); ignore: OpenAI's defaults (${COMPLETION-CANDIDATES})")
  GenerationConfigMode generationConfig;

  @Option(names = "--split-special-tokens", description = "tokenize special-token text in messages and prompts "
      + "(e.g. a user's <|im_end|>) as plain text, so it cannot forge a turn; a request's split_special_tokens "
      + "overrides it (default: as Hugging Face, such text becomes the special token)")
  boolean splitSpecialTokens;

  @Option(names = "--max-request-tokens", defaultValue = "0", description = "most tokens one request may ask to "
      + "process over all its choices (prompt + max_tokens each); default 8 context windows")
  long maxRequestTokens;

  @Option(names = "--backend", defaultValue = "auto",
      description = "java (CPU, Vector API), djl (PyTorch through DJL: CPU or CUDA), cuda (own BF16 kernels, NVIDIA GPU), or auto (java on CPU, djl on GPU)")
  String backend;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, gpu or gpu:N")
  String device;

  @Mixin
  JavaBackendOptions javaBackend = new JavaBackendOptions();

  @Override
  public Integer call() throws Exception {
    String key = apiKey != null ? apiKey : System.getenv("CANDOR_API_KEY");
    JavaBackend.Options cpu = javaBackend.options();
    try (LoadedModel target = LoadedModel.load(model, device, backend, cpu);
        LoadedModel draft = drafter == null ? null : LoadedModel.load(drafter, device, backend, cpu)) {
      if (draft != null) {
        target.requireSameVocabulary(draft);
      }
      LoadedModel served = name == null ? target : target.withName(name);
      ConfidenceModel confidence = probe == null ? new TokenProbability() : Probes.load(probe, target);
      Generator generator = new Generator(target.backend(), draft == null ? null : draft.backend(), target.tokenizer(),
          target.eosTokens(), k);
      ServerConfig defaults = ServerConfig.defaults(port);
      ServerConfig config = defaults.withHost(host).withApiKey(key).withMaxQueue(maxQueue)
          .withRequestTimeoutMillis(requestTimeout * 1000L).withLogPrompts(logPrompts)
          .withAllowedHosts(allowedHosts).withAllowedOrigins(allowedOrigins)
          .withAccessLog(noAccessLog ? null : System.err)
          .withLimits(defaults.limits().withMaxRequestTokens(maxRequestTokens)).withProbeDir(probe)
          .withGenerationConfig(generationConfig == GenerationConfigMode.auto).withMaxBatch(maxBatch)
          .withKvCacheBytes(kvCacheMb * 1024 * 1024).withPrefillChunk(prefillChunk)
          .withPrefixCacheBytes(prefixCacheMb < 0 ? -1 : prefixCacheMb * 1024 * 1024)
          .withSplitSpecialTokens(splitSpecialTokens);
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
        System.err.printf("candor: open http://%s:%d/ for the web page (chat with confidence, the probe's report)%n",
            host, server.port());
        stopped.await();
      }
    }
    return 0;
  }
}
