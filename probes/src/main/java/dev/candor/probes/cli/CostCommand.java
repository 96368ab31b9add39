package dev.candor.probes.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.Consistency;
import dev.candor.engine.confidence.Lines;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.probes.data.Dataset;
import dev.candor.probes.data.Example;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code candor probe cost}: what each confidence method adds to an answer, measured in one run, problem by problem
 * (interleaved, so a busy machine slows all of them alike). The answer itself is a greedy generation; the probe adds
 * the tap (the same generation asking for the hidden state) and its scoring; self-consistency adds its samples and
 * their alignment ({@link Consistency}). Reported per answer as medians, and as multiples of the answer's own time.
 */
@Command(name = "cost", mixinStandardHelpOptions = true,
    description = "Time per answer of the probe and of self-consistency (samples + alignment), beside the answer.")
final class CostCommand implements Callable<Integer> {
  @Option(names = "--model", required = true)
  Path model;

  @Option(names = "--drafter", description = "speculative decoding for every generation (the server's setting)")
  Path drafter;

  @Option(names = "--probe", required = true)
  Path probe;

  @Option(names = "--data", required = true, description = "a dataset whose prompts to answer")
  Path data;

  @Option(names = "--problems", defaultValue = "60")
  int problems;

  @Option(names = "--samples", defaultValue = "5")
  int samples;

  @Option(names = "--temperature", defaultValue = "0.8")
  double temperature;

  @Option(names = "--warmup", defaultValue = "10", description = "problems answered first and not counted")
  int warmup;

  /** Where results go so that the JIT cannot drop the work that computed them. */
  static double blackhole;

  @Override
  public Integer call() throws Exception {
    List<Example> examples = Dataset.read(data);
    try (LoadedModel target = LoadedModel.load(model, "cpu");
        LoadedModel draft = drafter == null ? null : LoadedModel.load(drafter, "cpu")) {
      var config = target.backend().config();
      Probe p = Probe.loadFor(probe, ModelIdentity.of(target.dir(), config, ModelIdentity.formatOf(config)));
      Generator generator = new Generator(target.backend(), draft == null ? null : draft.backend(),
          target.tokenizer(), target.eosTokens(), 4);
      List<double[]> times = new ArrayList<>(); // per problem: answer, answer with tap, probe scoring, samples, align
      int n = Math.min(examples.size(), warmup + problems);
      for (int i = 0; i < n; i++) {
        double[] t = measure(examples.get(i), target, generator, p);
        if (i >= warmup) {
          times.add(t);
        }
      }
      report(times);
    }
    return 0;
  }

  /** Milliseconds of: the answer, the answer with the tap, the probe's scoring, the samples, their alignment. */
  private double[] measure(Example example, LoadedModel target, Generator generator, Probe p) {
    int[] prompt = target.tokenizer().encode(example.prompt(target.chatTemplate()));
    int room = target.backend().config().maxPositionEmbeddings() - prompt.length;
    long t0 = System.nanoTime();
    GenerationResult answer = generator.generate(prompt, GenerationRequest.of(room, SamplingParams.greedy()),
        (r, o, t) -> {});
    long t1 = System.nanoTime();
    GenerationResult tapped = generator.generate(prompt,
        GenerationRequest.of(room, SamplingParams.greedy()).withTaps(p.taps()), (r, o, t) -> {});
    long t2 = System.nanoTime();
    double sink = 0;
    for (var record : tapped.tokens()) {
      sink += p.token(record);
    }
    for (Lines.Line line : Lines.of(tapped.text(), tapped.textOffsets())) {
      sink += p.line(tapped.tokens().subList(line.tokenStart(), line.tokenEnd()));
    }
    sink += p.response(tapped.tokens());
    long t3 = System.nanoTime();
    List<String> sampled = new ArrayList<>();
    for (int s = 0; s < samples; s++) {
      SamplingParams params = new SamplingParams(temperature, 0, 1, 7919L * s + prompt.length);
      sampled.add(generator.generate(prompt, GenerationRequest.of(room, params), (r, o, t) -> {}).text());
    }
    long t4 = System.nanoTime();
    Consistency.Result agreement = Consistency.of(answer.text(), sampled);
    long t5 = System.nanoTime();
    blackhole += sink + agreement.response() + agreement.lines().size(); // the work stays observable to the JIT
    return new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6, (t5 - t4) / 1e6};
  }

  private void report(List<double[]> times) {
    double answer = median(times, 0);
    double tap = median(times, 1);
    double scoring = median(times, 2);
    double samplesMs = median(times, 3);
    double align = median(times, 4);
    double[] probeCost = times.stream().mapToDouble(t -> Math.max(0, t[1] - t[0]) + t[2]).sorted().toArray();
    double[] consistencyCost = times.stream().mapToDouble(t -> t[3] + t[4]).sorted().toArray();
    System.out.printf("%d answers (median per answer, ms): answer %.2f; with the probe's tap %.2f; probe scoring "
        + "%.3f; %d samples %.2f; their alignment %.3f%n", times.size(), answer, tap, scoring, samples, samplesMs,
        align);
    System.out.printf("probe: %.3f ms per answer (%.3fx the answer); consistency: %.2f ms per answer (%.2fx the "
        + "answer)%n", middle(probeCost), middle(probeCost) / answer, middle(consistencyCost),
        middle(consistencyCost) / answer);
  }

  private static double median(List<double[]> times, int column) {
    return middle(times.stream().mapToDouble(t -> t[column]).sorted().toArray());
  }

  private static double middle(double[] sorted) {
    double[] s = sorted.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
}
