package dev.candor.models.task;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.cli.ProgressBar;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.probes.data.Example;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The calibration dataset of a model on the trace task: for each held-out problem, the model's own greedy answer is
 * the completion, the true trace is the "fixed" answer the probe pipeline diffs it against, and a few samples at a
 * temperature feed the multisampling baseline. Difficulties are spread evenly over the range, so the set covers the
 * easy part (mostly right) and the hard part (real mistakes). Each example records its difficulty and tags each
 * wrong line of the answer as its own error or a propagated one ({@link TraceAnalysis}).
 */
public final class CalibrationDataset {
  private CalibrationDataset() {}

  /** How a problem is put to the model. */
  public enum Prompt {
    /** The default models' own prompt ({@link TraceTask#messages}), the answer taken whole. */
    PLAIN,
    /** A real instruct model's: worked examples first ({@link FewShotTrace}), the answer cut where the trace ends. */
    FEW_SHOT
  }

  /** The default models' dataset: {@code make} with {@link Prompt#PLAIN}. */
  public static List<Example> make(LoadedModel model, ProgramGenerator programs, int problems, int samples,
      double temperature, double minDifficulty, double maxDifficulty, long seed, int maxTokens, PrintStream log) {
    return make(model, programs, Prompt.PLAIN, problems, samples, temperature, minDifficulty, maxDifficulty, seed,
        maxTokens, log);
  }

  /**
   * @param maxTokens the longest answer generated (the context window's remainder when larger)
   */
  public static List<Example> make(LoadedModel model, ProgramGenerator programs, Prompt prompt, int problems,
      int samples, double temperature, double minDifficulty, double maxDifficulty, long seed, int maxTokens,
      PrintStream log) {
    Generator generator = new Generator(model.backend(), null, model.tokenizer(), model.eosTokens(), 4);
    ProgressBar bar = log == null ? null : new ProgressBar(log, "answering", problems);
    List<Example> examples = new ArrayList<>();
    int right = 0;
    int formatLines = 0;
    int lines = 0;
    for (int i = 0; i < problems; i++) {
      double difficulty = Math.min(maxDifficulty,
          minDifficulty + (maxDifficulty - minDifficulty) * i / Math.max(1, problems - 1));
      Program p = programs.generate(i, difficulty);
      var messages = prompt == Prompt.PLAIN ? TraceTask.messages(p) : FewShotTrace.messages(p);
      int[] ids = model.tokenizer().encode(model.chatTemplate().render(messages, true));
      int room = Math.min(maxTokens, model.backend().config().maxPositionEmbeddings() - ids.length);
      if (room < 1) {
        throw new IllegalArgumentException("problem " + i + ": the prompt's " + ids.length
            + " tokens fill the context window");
      }
      String greedy = answer(generator, ids, room, SamplingParams.greedy(), prompt);
      List<String> sampled = new ArrayList<>();
      for (int s = 0; s < samples; s++) {
        SamplingParams params = new SamplingParams(temperature, 0, 1, seed * 1_000_003L + i * 31L + s);
        sampled.add(answer(generator, ids, room, params, prompt));
      }
      right += greedy.equals(p.trace()) ? 1 : 0;
      formatLines += FewShotTrace.traceFormatLines(greedy);
      lines += TraceAnalysis.nonBlankLines(greedy).size();
      examples.add(new Example("trace-" + seed + "-" + i, null, messages, greedy, p.trace(), null, sampled, difficulty,
          TraceAnalysis.lineTags(p, greedy)));
      if (bar != null) {
        bar.update(i + 1, String.format("%.1f%% answered exactly right, %.1f%% of lines in the trace format",
            100.0 * right / (i + 1), 100.0 * formatLines / Math.max(1, lines)));
      }
    }
    return examples;
  }

  private static String answer(Generator generator, int[] prompt, int room, SamplingParams params, Prompt kind) {
    String text = generator.generate(prompt, GenerationRequest.of(room, params), (r, o, t) -> {}).text();
    return kind == Prompt.PLAIN ? text : FewShotTrace.cut(text);
  }

  /**
   * Counterfactual examples ({@link Counterfactual}): for each of {@code problems} programs that have one and that
   * {@code model} answers exactly right by greedy decoding (its own trace then is the true trace, so the model knows
   * every value; null: every program), the injected trace as the completion (tags {@code cf:ROLE}) and, as its
   * control, the true trace itself (tags {@code control:ROLE}, the same roles), both against the true trace as the fix.
   */
  public static List<Example> counterfactuals(LoadedModel model, ProgramGenerator programs, int problems,
      double minDifficulty, double maxDifficulty, long seed, PrintStream log) {
    Generator generator = model == null ? null
        : new Generator(model.backend(), null, model.tokenizer(), model.eosTokens(), 4);
    ProgressBar bar = log == null ? null : new ProgressBar(log, "counterfactuals", problems);
    List<Example> examples = new ArrayList<>();
    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
    for (int i = 0; i < problems; i++) {
      double difficulty = Math.min(maxDifficulty,
          minDifficulty + (maxDifficulty - minDifficulty) * i / Math.max(1, problems - 1));
      Program p = programs.generate(i, difficulty);
      Counterfactual c = Counterfactual.of(p, random);
      var messages = TraceTask.messages(p);
      if (c != null && (generator == null || solves(model, generator, messages, p))) {
        String id = "counterfactual-" + seed + "-" + i;
        examples.add(new Example(id, null, messages, c.trace(), p.trace(), null, List.of(), difficulty,
            c.roles().stream().map(role -> List.of("cf:" + role)).toList()));
        examples.add(new Example(id + "-control", null, messages, p.trace(), p.trace(), null, List.of(), difficulty,
            c.roles().stream().map(role -> List.of("control:" + role)).toList()));
      }
      if (bar != null) {
        bar.update(i + 1, examples.size() / 2 + " counterfactuals");
      }
    }
    return examples;
  }

  private static boolean solves(LoadedModel model, Generator generator, List<ChatTemplate.Message> messages,
      Program p) {
    int[] prompt = model.tokenizer().encode(model.chatTemplate().render(messages, true));
    int room = model.backend().config().maxPositionEmbeddings() - prompt.length;
    return generator.generate(prompt, GenerationRequest.of(room, SamplingParams.greedy()), (r, o, t) -> {}).text()
        .equals(p.trace());
  }
}
