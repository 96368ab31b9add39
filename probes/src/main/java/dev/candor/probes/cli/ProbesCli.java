package dev.candor.probes.cli;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.cli.EngineCli;
import dev.candor.engine.confidence.Probe;
import dev.candor.probes.data.Dataset;
import dev.candor.probes.data.Example;
import dev.candor.probes.eval.ProbeReport;
import dev.candor.probes.features.FeatureExtractor;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.report.ReadmeTable;
import dev.candor.probes.report.Report;
import dev.candor.probes.train.ProbeInput;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code candor probe}: the offline probe pipeline, in one command ({@code run}) or its steps: {@code extract}
 * (teacher-forced features, cached; {@code --shard i/n} for one of n independent jobs) and {@code merge}, {@code
 * train} (the cross-validated study, every baseline and control beside it, and the shipped probe with its ONNX export
 * checked by ONNX Runtime), {@code evaluate} (a saved probe on other features), {@code readme} (the README's probe
 * tables from a report) and {@code cost} (what a probe and self-consistency cost per answer).
 */
@Command(name = "probe", mixinStandardHelpOptions = true,
    subcommands = {ProbesCli.Extract.class, ProbesCli.Merge.class, TrainCommand.class, ProbesCli.Evaluate.class,
        ProbesCli.Run.class, ProbesCli.Readme.class, CostCommand.class},
    description = "Train and evaluate calibrated confidence probes on hidden states.")
public final class ProbesCli {
  public static void main(String[] args) {
    // bin/candor passes the command name first: "probe extract ..." -> "extract ..."
    String[] rest = args.length > 0 && args[0].equals("probe")
        ? java.util.Arrays.copyOfRange(args, 1, args.length) : args;
    System.exit(EngineCli.run(new ProbesCli(), rest));
  }

  /** Options shared by the commands that extract features. */
  static final class ExtractOptions {
    @Option(names = "--model", required = true,
        description = "checkpoint directory of the model whose hidden states are probed")
    Path model;

    @Option(names = "--data", required = true,
        description = "dataset, JSON Lines (prompt, completion, fixed | labels, samples)")
    Path data;

    @Option(names = "--taps", description = "hidden-state indices to extract: 'all' (0 = embeddings .. L) or a list "
        + "such as 2 or 1,2,4; default: the middle (--tap-fraction)")
    String taps;

    @Option(names = "--tap-fraction", defaultValue = "0.5",
        description = "depth fraction when --taps is absent: 0.5, 0.75, 1")
    double tapFraction;

    @Option(names = "--shard",
        description = "extract shard i/n of the dataset only (0 <= i < n); join them with 'probe merge'")
    String shard;

    FeatureSet extract() throws Exception {
      List<Example> examples = Dataset.read(data);
      try (LoadedModel m = LoadedModel.load(model, "cpu")) {
        int[] t = taps(m);
        FeatureSet.Shard part = shard == null ? FeatureSet.Shard.all(examples.size())
            : FeatureSet.Shard.parse(shard, examples.size());
        System.err.printf("extracting taps %s of %s from %s, examples [%d, %d)%n", java.util.Arrays.toString(t),
            m.name(), data, part.from(), part.to());
        return new FeatureExtractor(m, t).extract(examples, part, System.err);
      }
    }

    private int[] taps(LoadedModel m) {
      if (taps == null) {
        return new int[] {m.backend().config().tapAtFraction(tapFraction)};
      }
      if (taps.equals("all")) {
        return FeatureExtractor.allTaps(m);
      }
      try {
        return java.util.Arrays.stream(taps.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--taps must be 'all' or a list of integers, got '" + taps + "'");
      }
    }
  }

  @Command(name = "extract", mixinStandardHelpOptions = true,
      description = "Teacher-forced hidden states, cached to a file.")
  static final class Extract implements Callable<Integer> {
    @Mixin
    ExtractOptions extract = new ExtractOptions();

    @Option(names = "--out", required = true, description = "feature cache file to write")
    Path out;

    @Override
    public Integer call() throws Exception {
      extract.extract().write(out);
      return 0;
    }
  }

  @Command(name = "merge", mixinStandardHelpOptions = true,
      description = "Join the shards of one extraction (every i/n once) into one feature cache.")
  static final class Merge implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "feature cache file to write")
    Path out;

    @Parameters(arity = "1..*", description = "the shard files, in any order")
    List<Path> shards;

    @Override
    public Integer call() throws Exception {
      List<FeatureSet> sets = new ArrayList<>();
      for (Path shard : shards) {
        sets.add(FeatureSet.read(shard));
      }
      FeatureSet merged = FeatureSet.merge(sets);
      merged.write(out);
      System.err.printf("merged %d shards: %d problems of %d examples into %s%n", sets.size(),
          merged.problems().size(), merged.shard().examples(), out);
      return 0;
    }
  }

  @Command(name = "evaluate", mixinStandardHelpOptions = true,
      description = "Score a saved probe and the raw token probability on (other) features.")
  static final class Evaluate implements Callable<Integer> {
    @Option(names = "--probe", required = true)
    Path probe;

    @Option(names = "--features", required = true, description = "the target's features of the problems to score")
    Path features;

    @Option(names = "--states", description = "features of the model the probe reads, when it is not the target")
    Path states;

    @Option(names = "--out", required = true, description = "directory for report.json and report.md")
    Path out;

    @Option(names = "--resamples", defaultValue = "1000")
    int resamples;

    @Override
    public Integer call() throws Exception {
      FeatureSet target = FeatureSet.read(features);
      FeatureSet read = states == null ? target : FeatureSet.read(states);
      Probe p = Probe.loadFor(probe, read.model());
      Report report = dev.candor.engine.confidence.StackedProbe.isStack(probe)
          ? ProbeReport.heldOut(dev.candor.engine.confidence.StackedProbe.load(probe), target, 1, resamples)
          : ProbeReport.heldOut(p, target, read, 1, resamples); // a stack's lines by the stack, as served
      Files.createDirectories(out);
      report.writeJson(out.resolve("report.json"));
      report.writeMarkdown(out.resolve("report.md"));
      System.err.println(report.markdown());
      return 0;
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = "extract (one tap of the target), then train: the whole pipeline for one model.")
  static final class Run implements Callable<Integer> {
    @Mixin
    ExtractOptions extract = new ExtractOptions();

    @Mixin
    TrainCommand.Options train = new TrainCommand.Options();

    @Option(names = "--out", required = true, description = "probe directory to write")
    Path out;

    @Option(names = "--cache", description = "where to keep the feature cache (default: not kept)")
    Path cache;

    @Override
    public Integer call() throws Exception {
      FeatureSet features = extract.extract();
      if (cache != null) {
        features.write(cache);
      }
      List<ProbeInput> variants = new ArrayList<>();
      for (int tap : features.taps()) {
        variants.add(ProbeInput.of("target", tap));
      }
      TrainCommand.study(java.util.Map.of("target", features), java.util.Map.of(), java.util.Map.of(), variants, null,
          false, train, out);
      return 0;
    }
  }

  @Command(name = "readme", mixinStandardHelpOptions = true,
      description = "Write the README's probe tables from a report.json (between the README's markers).")
  static final class Readme implements Callable<Integer> {
    @Option(names = "--report", required = true)
    Path report;

    @Option(names = "--readme", defaultValue = "README.md")
    Path readme;

    @Override
    public Integer call() throws Exception {
      ReadmeTable.update(readme, Report.readJson(report));
      System.err.println("updated the probe tables of " + readme + " from " + report);
      return 0;
    }
  }
}
