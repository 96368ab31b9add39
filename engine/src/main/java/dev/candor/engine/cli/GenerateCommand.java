package dev.candor.engine.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.generate.DistributionDump;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.ChatTemplate;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code candor generate}: load a checkpoint, generate once, print the text and every token's record. */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = "Generate from a prompt and print the text and per-token logprobs.")
public final class GenerateCommand implements Callable<Integer> {
  @Option(names = "--model", required = true,
      description = "the target: a Hugging Face checkpoint directory, or a repo id ORG/NAME[@REVISION] in the local HF cache")
  Path model;

  @Option(names = "--drafter", description = "checkpoint directory of a drafter for speculative decoding")
  Path drafter;

  @Option(names = {"-k", "--draft-tokens"}, defaultValue = "4", description = "tokens drafted per step (1..16)")
  int k;

  @Option(names = "--prompt", description = "raw prompt text")
  String prompt;

  @Option(names = "--chat", description = "a user message, rendered with the checkpoint's chat template")
  String chat;

  @Option(names = "--system", description = "a system message for --chat")
  String system;

  @Option(names = "--max-tokens", defaultValue = "64")
  int maxTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy")
  double temperature;

  @Option(names = "--top-k", defaultValue = "0")
  int topK;

  @Option(names = "--top-p", defaultValue = "1")
  double topP;

  @Option(names = "--seed", defaultValue = "0")
  long seed;

  @Option(names = "--top-logprobs", defaultValue = "3", description = "alternatives shown per token")
  int topLogprobs;

  @Option(names = "--stop", description = "stop sequence (repeatable)")
  List<String> stop = List.of();

  @Option(names = "--backend", defaultValue = "auto",
      description = "java (CPU, Vector API), djl (PyTorch through DJL: CPU or CUDA), cuda (own BF16 kernels, NVIDIA GPU), or auto (java on CPU, djl on GPU)")
  String backend;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, gpu or gpu:N (CUDA through DJL)")
  String device;

  @Mixin
  JavaBackendOptions javaBackend = new JavaBackendOptions();

  @Option(names = "--dump-distributions", description = "write every token's full target distribution to this file")
  Path dump;

  @Override
  public Integer call() throws Exception {
    if ((prompt == null) == (chat == null)) {
      System.err.println("error: give exactly one of --prompt and --chat");
      return 2;
    }
    PrintStream out = System.out;
    JavaBackend.Options cpu = javaBackend.options();
    try (LoadedModel target = LoadedModel.load(model, device, backend, cpu);
        LoadedModel draft = drafter == null ? null : LoadedModel.load(drafter, device, backend, cpu)) {
      if (draft != null) {
        target.requireSameVocabulary(draft);
      }
      String text = prompt;
      if (chat != null) {
        if (target.chatTemplate() == null) {
          System.err.println("error: " + model + " has no chat template; use --prompt");
          return 2;
        }
        List<ChatTemplate.Message> messages = system == null
            ? List.of(new ChatTemplate.Message("user", chat))
            : List.of(new ChatTemplate.Message("system", system), new ChatTemplate.Message("user", chat));
        text = target.chatTemplate().render(messages, true);
      }
      int[] ids = target.tokenizer().encode(text);
      Generator generator = new Generator(target.backend(), draft == null ? null : draft.backend(), target.tokenizer(),
          target.eosTokens(), k);
      GenerationRequest request = GenerationRequest.builder(maxTokens, new SamplingParams(temperature, topK, topP, seed))
          .stop(stop).topLogprobs(topLogprobs).build();
      GenerationResult result;
      if (dump != null) {
        try (DistributionDump writer = DistributionDump.create(dump, target.backend().config().vocabSize(),
            request.sampling())) {
          result = generator.generate(ids, request.withObserver(writer), (r, o, t) -> out.print(t));
        }
      } else {
        result = generator.generate(ids, request, (r, o, t) -> out.print(t));
      }
      out.println();
      out.println();
      out.printf("%-5s %-16s %10s %8s %-9s %s%n", "#", "token", "logprob", "entropy", "source", "alternatives");
      for (TokenRecord r : result.tokens()) {
        StringBuilder alternatives = new StringBuilder();
        for (TokenDistribution.Alternative a : r.top()) {
          alternatives.append(String.format("%s %.3f  ", quote(target.tokenizer().text(a.token())), a.logprob()));
        }
        out.printf("%-5d %-16s %10.4f %8.3f %-9s %s%n", r.index(), quote(r.text()), r.logprob(), r.entropy(),
            r.source().apiName(), alternatives);
      }
      var s = result.stats();
      var t = result.timings();
      out.printf("%nfinish: %s   prompt: %d tokens   output: %d tokens   coverage: %.3f%n",
          result.finishReason().apiName(), result.promptTokens(), s.nTokens(), s.coverage());
      if (draft != null) {
        out.printf("drafted: %d   accepted: %d   resampled: %d   bonus: %d   acceptance: %.3f   per-step histogram: %s%n",
            s.nDrafted(), s.nAccepted(), s.nResampled(), s.nBonus(), s.drafterAcceptance(),
            java.util.Arrays.toString(s.acceptedPerStep()));
      }
      out.printf("time: prefill %.1f ms, first token %.1f ms, total %.1f ms (%.1f tokens/s after the first)%n",
          t.prefillNanos() / 1e6, t.firstTokenNanos() / 1e6, t.totalNanos() / 1e6,
          (s.nTokens() - 1) / Math.max(1e-9, (t.totalNanos() - t.firstTokenNanos()) / 1e9));
    }
    return 0;
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\t' -> b.append("\\t");
        case '"' -> b.append("\\\"");
        default -> b.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
      }
    }
    return b.append('"').toString();
  }
}
