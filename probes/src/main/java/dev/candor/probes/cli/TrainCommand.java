package dev.candor.probes.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.confidence.Probe;
import dev.candor.probes.eval.ProbeReport;
import dev.candor.probes.eval.ProbeStudy;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.onnx.OnnxCheck;
import dev.candor.probes.onnx.OnnxExport;
import dev.candor.probes.onnx.OnnxProbe;
import dev.candor.probes.report.ReportRow;
import dev.candor.probes.train.ProbeFiles;
import dev.candor.probes.train.ProbeInput;
import dev.candor.probes.train.ProbeSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code candor probe train}: the cross-validated study ({@link ProbeStudy}) over cached features of one or more
 * models, then the shipped probe, its report, reliability diagrams and ONNX export (checked by ONNX Runtime).
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Cross-validate every probe input and baseline, write the report and the served probe.")
final class TrainCommand implements Callable<Integer> {
  /** Options of the study that `run` shares. */
  static final class Options {
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

    @Option(names = "--resamples", defaultValue = "1000", description = "bootstrap resamples for the intervals")
    int resamples;

    @Option(names = "--cv-cache", description = "directory keeping each variant's cross-validation (trained once, "
        + "reused while its inputs, recipe, folds, seed and labels are the same)")
    Path cache;

    ProbeSettings settings() {
      if (!pooling.equals("max") && !pooling.equals("mean")) {
        throw new IllegalArgumentException("--pooling must be max or mean");
      }
      return ProbeSettings.defaults(seed).withLoss(loss).withEpochs(epochs).withMaxPool(pooling.equals("max"));
    }
  }

  @Option(names = "--features", required = true, description = "SOURCE=FILE, the cross-validated dataset's "
      + "features of each model: 'target' (required), 'drafter', 'random' (a randomly initialised copy)")
  Map<String, Path> features;

  @Option(names = "--fresh", description = "SOURCE=FILE: features of fresh problems the shipped probe is checked on")
  Map<String, Path> fresh = new LinkedHashMap<>();

  @Option(names = "--counterfactual", description = "SOURCE=FILE: features of counterfactual traces")
  Map<String, Path> counterfactual = new LinkedHashMap<>();

  @Option(names = "--variant", description = "a probe input to cross-validate, e.g. target:tap2, "
      + "target:tap2+logprob,entropy, target:taps1,2,3,4, drafter:tap2 (default: every extracted tap of every source)")
  List<String> variants = new ArrayList<>();

  @Option(names = "--serve", description = "the variant to ship (default: the servable one with the best line BSS)")
  String serve;

  @Option(names = "--serve-stack", description = "ship, beside the served probe, the stack of every target probe input"
      + " that scores lines (stack_isotonic); the report's probe lines are then the stack's")
  boolean serveStack;

  @Mixin
  Options options = new Options();

  @Option(names = "--out", required = true, description = "probe directory to write")
  Path out;

  @Override
  public Integer call() throws Exception {
    Map<String, FeatureSet> calibration = read(features);
    List<ProbeInput> inputs = new ArrayList<>();
    variants.forEach(v -> inputs.add(ProbeInput.parse(v)));
    if (inputs.isEmpty()) {
      calibration.forEach((source, set) -> {
        for (int tap : set.taps()) {
          inputs.add(ProbeInput.of(source, tap));
        }
      });
    }
    study(calibration, read(fresh), read(counterfactual), inputs, serve, serveStack, options, out);
    return 0;
  }

  private static Map<String, FeatureSet> read(Map<String, Path> files) throws java.io.IOException {
    Map<String, FeatureSet> sets = new LinkedHashMap<>();
    for (var e : files.entrySet()) {
      System.err.println("reading " + e.getKey() + " features from " + e.getValue());
      sets.put(e.getKey(), FeatureSet.read(e.getValue()));
    }
    return sets;
  }

  /** Runs the study and writes the probe directory. */
  static void study(Map<String, FeatureSet> calibration, Map<String, FeatureSet> fresh,
      Map<String, FeatureSet> counterfactual, List<ProbeInput> variants, String serve, boolean serveStack, Options o,
      Path out) throws Exception {
    var settings = new ProbeStudy.Settings(calibration, fresh, counterfactual, variants, serve, o.folds, o.seed,
        o.resamples, o.settings(), o.cache, serveStack);
    ProbeStudy study = new ProbeStudy(settings, System.err);
    ProbeStudy.Result result = study.run();
    Files.createDirectories(out);
    result.report().writeJson(out.resolve("report.json"));
    result.report().writeMarkdown(out.resolve("report.md"));
    study.writeDiagrams(out);
    ObjectNode meta = ProbeFiles.meta(result.probe());
    meta.put("served", result.input().name());
    meta.put("training", o.settings().toString());
    meta.put("seed", o.seed);
    ArrayNode metrics = meta.putArray("cross_validated");
    for (ReportRow row : result.report().rows()) {
      if (row.method().equals("probe") && row.subset().equals(ReportRow.ALL)) {
        metrics.add(new ObjectMapper().valueToTree(row));
      }
    }
    onnx(result.probe(), ProbeStudy.inputs(result.input(), calibration, calibration.get("target").problems()), out,
        meta);
    ProbeFiles.save(result.probe(), meta, out);
    deleteStack(out);
    if (result.stack() != null) {
      ProbeFiles.saveStack(result.stack(), out);
      System.err.println("lines: the stack of " + result.stack().memberNames() + " written beside it");
    }
    System.err.println("probe " + result.input().name() + " (" + result.probe().heads().size() + " heads) written to "
        + out);
  }

  /** A previous run's stack, so that a probe written without one is not served with a stale one. */
  private static void deleteStack(Path out) throws java.io.IOException {
    Files.deleteIfExists(out.resolve(dev.candor.engine.confidence.StackedProbe.META));
    Path members = out.resolve("members");
    if (Files.isDirectory(members)) {
      try (var walk = Files.walk(members)) {
        for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static void onnx(Probe probe, List<dev.candor.probes.train.ProbeTrainer.Problem> inputs, Path out,
      ObjectNode meta) throws Exception {
    Path onnx = out.resolve("probe.onnx");
    OnnxExport.write(probe, onnx);
    try (OnnxProbe runtime = new OnnxProbe(onnx)) {
      var difference = OnnxCheck.compare(probe, runtime, ProbeReport.sampleSets(inputs, 50));
      meta.put("onnx_max_abs_difference", difference.max());
      System.err.printf("ONNX export checked with ONNX Runtime: max |difference| %.2e over %d sets%n",
          difference.max(), difference.sets());
    }
  }
}
