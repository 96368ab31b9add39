package dev.candor.models.task;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.cli.ProgressBar;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.probes.data.Example;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The calibration dataset of a model on the trace task: for each held-out problem, the model's own greedy answer is
 * the completion, the true trace is the "fixed" answer the probe pipeline diffs it against, and a few samples at a
 * temperature feed the multisampling baseline. Difficulties are spread evenly over the range, so the set covers the
 * easy part (mostly right) and the hard part (real mistakes).
 */
public final class CalibrationDataset {
  private CalibrationDataset() {}

  /**
   * @param maxTokens the longest answer generated (the context window's remainder when larger)
   */
  public static List<Example> make(LoadedModel model, ProgramGenerator programs, int problems, int samples,
      double temperature, double minDifficulty, double maxDifficulty, long seed, int maxTokens, PrintStream log) {
    Generator generator = new Generator(model.backend(), null, model.tokenizer(), model.eosTokens(), 4);
    ProgressBar bar = log == null ? null : new ProgressBar(log, "answering", problems);
    List<Example> examples = new ArrayList<>();
    int right = 0;
    for (int i = 0; i < problems; i++) {
      double difficulty = minDifficulty + (maxDifficulty - minDifficulty) * i / Math.max(1, problems - 1);
      Program p = programs.generate(i, difficulty);
      var messages = TraceTask.messages(p);
      int[] prompt = model.tokenizer().encode(model.chatTemplate().render(messages, true));
      int room = Math.min(maxTokens, model.backend().config().maxPositionEmbeddings() - prompt.length);
      String greedy = generator.generate(prompt, GenerationRequest.of(room, SamplingParams.greedy()),
          (r, o, t) -> {}).text();
      List<String> sampled = new ArrayList<>();
      for (int s = 0; s < samples; s++) {
        SamplingParams params = new SamplingParams(temperature, 0, 1, seed * 1_000_003L + i * 31L + s);
        sampled.add(generator.generate(prompt, GenerationRequest.of(room, params), (r, o, t) -> {}).text());
      }
      right += greedy.equals(p.trace()) ? 1 : 0;
      examples.add(new Example("trace-" + seed + "-" + i, null, messages, greedy, p.trace(), null, sampled));
      if (bar != null) {
        bar.update(i + 1, String.format("%.1f%% answered exactly right", 100.0 * right / (i + 1)));
      }
    }
    return examples;
  }
}
