package dev.candor.probes.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.cli.EngineCli;
import dev.candor.engine.confidence.Probe;
import dev.candor.probes.data.Dataset;
import dev.candor.probes.eval.ProbeEvaluation;
import dev.candor.probes.eval.ProbeReport;
import dev.candor.probes.features.FeatureExtractor;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.onnx.OnnxCheck;
import dev.candor.probes.onnx.OnnxExport;
import dev.candor.probes.onnx.OnnxProbe;
import dev.candor.probes.report.Report;
import dev.candor.probes.train.ProbeFiles;
import dev.candor.probes.train.ProbeSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code candor probe}: the offline probe pipeline, in one command ({@code run}) or its steps: {@code extract}
 * (teacher-forced features, cached), {@code train} (cross-validated report and the final Platt-scaled probe, with its
 * ONNX export checked by ONNX Runtime), {@code evaluate} (a saved probe on other features).
 */
@Command(name = "probe", mixinStandardHelpOptions = true,
    subcommands = {ProbesCli.Extract.class, ProbesCli.Train.class, ProbesCli.Evaluate.class, ProbesCli.Run.class},
    description = "Train and evaluate calibrated confidence probes on hidden states.")
public final class ProbesCli {
  public static void main(String[] args) {
    // bin/candor passes the command name first: "probe extract ..." -> "extract ..."
    String[] rest = args.length > 0 && args[0].equals("probe") ? java.util.Arrays.copyOfRange(args, 1, args.length) : args;
    System.exit(EngineCli.run(new ProbesCli(), rest));
  }

  /** Options shared by the commands that extract features. */
  static final class ExtractOptions {
    @Option(names = "--model", required = true, description = "checkpoint directory of the model whose hidden states are probed")
    Path model;

    @Option(names = "--data", required = true, description = "dataset, JSON Lines (prompt, completion, fixed | labels, samples)")
    Path data;

    @Option(names = "--tap", description = "hidden-state index (0 = embeddings, L = last); default: the middle")
    Integer tap;

    @Option(names = "--tap-fraction", defaultValue = "0.5", description = "depth fraction when --tap is absent: 0.5, 0.75, 1")
    double tapFraction;

    FeatureSet extract() throws Exception {
      try (LoadedModel m = LoadedModel.load(model, "cpu")) {
        int t = tap != null ? tap : m.backend().config().tapAtFraction(tapFraction);
        System.err.printf("extracting tap %d of %s from %s%n", t, m.name(), data);
        return new FeatureExtractor(m, t).extract(Dataset.read(data), System.err);
      }
    }
  }

  /** Options shared by the commands that train. */
  static final class TrainOptions {
    @Option(names = "--loss", defaultValue = "BRIER", description = "BRIER, BCE or FOCAL")
    ProbeSettings.Loss loss;

    @Option(names = "--pooling", defaultValue = "max", description = "max or mean")
    String pooling;

    @Option(names = "--epochs", defaultValue = "30")
    int epochs;

    @Option(names = "--folds", defaultValue = "5")
    int folds;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    ProbeSettings settings() {
      if (!pooling.equals("max") && !pooling.equals("mean")) {
        throw new IllegalArgumentException("--pooling must be max or mean");
      }
      return ProbeSettings.defaults(seed).withLoss(loss).withEpochs(epochs).withMaxPool(pooling.equals("max"));
    }

    void train(FeatureSet features, Path out) throws Exception {
      ProbeEvaluation.Result result = new ProbeEvaluation(features, settings(), folds, seed).run(out, System.err);
      Files.createDirectories(out);
      result.report().writeJson(out.resolve("report.json"));
      result.report().writeMarkdown(out.resolve("report.md"));
      ObjectNode meta = ProbeFiles.meta(result.probe());
      meta.put("training", settings().toString());
      meta.set("metrics", new ObjectMapper().readTree(out.resolve("report.json").toFile()));
      Path onnx = out.resolve("probe.onnx");
      OnnxExport.write(result.probe(), onnx);
      try (OnnxProbe runtime = new OnnxProbe(onnx)) {
        var difference = OnnxCheck.compare(result.probe(), runtime, ProbeReport.sampleSets(features, 50));
        meta.put("onnx_max_abs_difference", difference.max());
        System.err.printf("ONNX export checked with ONNX Runtime: max |difference| %.2e over %d sets%n",
            difference.max(), difference.sets());
      }
      ProbeFiles.save(result.probe(), meta, out);
      System.err.println(result.report().markdown());
      System.err.println("probe written to " + out);
    }
  }

  @Command(name = "extract", mixinStandardHelpOptions = true, description = "Teacher-forced hidden states, cached to a file.")
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

  @Command(name = "train", mixinStandardHelpOptions = true,
      description = "Cross-validate, calibrate and write the probe, its report and reliability diagrams.")
  static final class Train implements Callable<Integer> {
    @Option(names = "--features", required = true)
    Path features;

    @Mixin
    TrainOptions train = new TrainOptions();

    @Option(names = "--out", required = true, description = "probe directory to write")
    Path out;

    @Override
    public Integer call() throws Exception {
      train.train(FeatureSet.read(features), out);
      return 0;
    }
  }

  @Command(name = "evaluate", mixinStandardHelpOptions = true,
      description = "Score a saved probe and the token-probability baseline on (other) features.")
  static final class Evaluate implements Callable<Integer> {
    @Option(names = "--probe", required = true)
    Path probe;

    @Option(names = "--features", required = true)
    Path features;

    @Option(names = "--out", required = true, description = "directory for report.json and report.md")
    Path out;

    @Override
    public Integer call() throws Exception {
      FeatureSet set = FeatureSet.read(features);
      Probe p = Probe.load(probe, null);
      if (!p.fingerprint().equals(set.fingerprint()) || p.tap() != set.tap()) {
        throw new IllegalArgumentException("the probe (model " + p.fingerprint() + ", tap " + p.tap()
            + ") does not match the features (model " + set.fingerprint() + ", tap " + set.tap() + ")");
      }
      Report report = ProbeReport.heldOut(p, set);
      Files.createDirectories(out);
      report.writeJson(out.resolve("report.json"));
      report.writeMarkdown(out.resolve("report.md"));
      System.err.println(report.markdown());
      return 0;
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true, description = "extract, then train: the whole pipeline.")
  static final class Run implements Callable<Integer> {
    @Mixin
    ExtractOptions extract = new ExtractOptions();

    @Mixin
    TrainOptions train = new TrainOptions();

    @Option(names = "--out", required = true, description = "probe directory to write")
    Path out;

    @Option(names = "--cache", description = "where to keep the feature cache (default: OUT/features.bin is NOT kept)")
    Path cache;

    @Override
    public Integer call() throws Exception {
      FeatureSet features = extract.extract();
      if (cache != null) {
        features.write(cache);
      }
      train.train(features, out);
      return 0;
    }
  }
}
