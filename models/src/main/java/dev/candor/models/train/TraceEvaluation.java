package dev.candor.models.train;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.models.task.Program;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.task.TraceTask;
import java.io.PrintStream;

/**
 * Held-out accuracy of a trained model on the trace task, decoded greedily by the engine itself: the fraction of
 * trace lines exactly right (all lines, and lines that compute something), and of problems entirely right. With a
 * drafter, also the drafter's acceptance rate at temperature 0.
 *
 * @param problems problems decoded
 * @param lineAccuracy correct lines / all lines
 * @param operationLineAccuracy correct lines / lines that compute an operation or a conditional
 * @param problemAccuracy problems with every line right
 * @param acceptance drafted tokens accepted / drafted (NaN without a drafter)
 * @param tokensPerSecond decode speed over the run
 */
public record TraceEvaluation(int problems, double lineAccuracy, double operationLineAccuracy, double problemAccuracy,
    double acceptance, double tokensPerSecond) {

  /** Evaluates on problems {@code from .. from + count} of {@code generator}, difficulties spread evenly over [lo, hi]. */
  public static TraceEvaluation run(LoadedModel target, LoadedModel drafter, int k, ProgramGenerator generator,
      long from, int count, double lo, double hi, PrintStream progress) {
    Generator decoder = new Generator(target.backend(), drafter == null ? null : drafter.backend(), target.tokenizer(),
        target.eosTokens(), k);
    int lines = 0;
    int correct = 0;
    int operations = 0;
    int correctOperations = 0;
    int solved = 0;
    long drafted = 0;
    long accepted = 0;
    long tokens = 0;
    long nanos = 0;
    for (int i = 0; i < count; i++) {
      double difficulty = count == 1 ? lo : lo + (hi - lo) * i / (count - 1);
      Program p = generator.generate(from + i, difficulty);
      int[] prompt = target.tokenizer().encode(target.chatTemplate().render(TraceTask.messages(p), true));
      GenerationResult r = decoder.generate(prompt, GenerationRequest.of(512 - prompt.length, SamplingParams.greedy()),
          (records, offsets, text) -> {});
      String[] got = r.text().split("\n", -1);
      var expected = p.traceLines();
      int right = 0;
      for (int line = 0; line < expected.size(); line++) {
        boolean ok = line < got.length && got[line].equals(expected.get(line));
        right += ok ? 1 : 0;
        if (TraceTask.isOperation(p, line)) {
          operations++;
          correctOperations += ok ? 1 : 0;
        }
      }
      lines += expected.size();
      correct += right;
      solved += right == expected.size() && r.text().strip().equals(p.trace().strip()) ? 1 : 0;
      drafted += r.stats().nDrafted();
      accepted += Math.round(r.stats().drafterAcceptance() * r.stats().nDrafted());
      tokens += r.tokens().size();
      nanos += r.timings().totalNanos();
      if (progress != null && (i + 1) % 20 == 0) {
        progress.printf("\r  evaluated %d/%d: line accuracy %.3f", i + 1, count, (double) correct / lines);
        progress.flush();
      }
    }
    if (progress != null) {
      progress.println();
    }
    return new TraceEvaluation(count, (double) correct / lines, (double) correctOperations / Math.max(1, operations),
        (double) solved / count, drafted == 0 ? Double.NaN : (double) accepted / drafted, tokens / (nanos / 1e9));
  }
}
