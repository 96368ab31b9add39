package dev.candor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.model.WeightFormat;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.models.task.CalibrationDataset;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.probes.data.Example;
import dev.candor.probes.eval.ProbeReport;
import dev.candor.probes.features.FeatureExtractor;
import dev.candor.probes.report.Report;
import dev.candor.probes.report.ReportRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What --weights q8_0 changes, measured: on the trained default target, q8_0 against its native float32 weights over
 * held-out trace problems (a program stream used neither for training nor for the probe's calibration set): the
 * logit error teacher-forced over the native answers, top-1 agreement over those positions and over each model's own
 * greedy answers, the answers' accuracy, and the default probe's calibration on each model's own answers, scored
 * with the probes module's held-out report (the saved probe and Platt scaling, no refitting). On the Qwen2.5-0.5B
 * shape (random BF16 weights) the logit error against BF16 and greedy agreement over a long run. Writes
 * bench/results/q8_0-quality.{json,md}.
 *
 * <pre>QuantizationQuality [PROBLEMS]</pre>
 */
public final class QuantizationQuality {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  /** The program stream of the held-out problems: DefaultModels uses 1 (training), 2 (evaluation), 3 (calibration). */
  static final long HELD_OUT_PROGRAMS = 4;

  public static void main(String[] args) throws Exception {
    int problems = args.length > 0 ? Integer.parseInt(args[0]) : 600;
    Path root = BenchCheckpoints.repoRoot();
    ObjectNode report = JSON.createObjectNode();
    report.put("date", LocalDate.now().toString());
    report.put("machine", EndToEnd.machine());
    report.set("default", trained(root.resolve("models/default"), problems));
    report.set("qwen2.5-0.5b", randomShape(BenchCheckpoints.get("qwen2.5-0.5b", 0), 64, 128));
    Path dir = Files.createDirectories(root.resolve("bench/results"));
    JSON.writeValue(dir.resolve("q8_0-quality.json").toFile(), report);
    String md = markdown(report);
    Files.writeString(dir.resolve("q8_0-quality.md"), md);
    System.out.println(md);
  }

  /** The trained default target: native float32 against q8_0 on the same held-out problems. */
  static ObjectNode trained(Path defaults, int problems) throws Exception {
    ObjectNode o = JSON.createObjectNode();
    int threads = JavaBackend.defaultThreads();
    try (LoadedModel f32 = LoadedModel.load(defaults.resolve("target"), "cpu", "java", null, threads);
        LoadedModel q8 = LoadedModel.load(defaults.resolve("target"), "cpu", "java", WeightFormat.Q8_0, threads)) {
      o.put("native", ((JavaBackend) f32.backend()).weightFormat().label());
      o.put("problems", problems);
      List<Example> nativeAnswers = answers(f32, problems);
      List<Example> q8Answers = answers(q8, problems);
      agreement(f32, q8, nativeAnswers, q8Answers, o);
      Probe probe = Probe.load(defaults.resolve("probe"), f32.backend().config());
      var nativeFeatures = new FeatureExtractor(f32, probe.taps()).extract(nativeAnswers, null);
      var q8Features = new FeatureExtractor(q8, probe.taps()).extract(q8Answers, null);
      o.set("probe_native", scores(ProbeReport.heldOut(probe, nativeFeatures, nativeFeatures, 1, 400)));
      o.set("probe_q8_0", scores(ProbeReport.heldOut(probe, q8Features, q8Features, 1, 400)));
    }
    return o;
  }

  private static List<Example> answers(LoadedModel model, int problems) {
    return CalibrationDataset.make(model, new ProgramGenerator(HELD_OUT_PROGRAMS), problems, 0, 0.8, 0, 1,
        HELD_OUT_PROGRAMS, Integer.MAX_VALUE, System.err);
  }

  /** Teacher-forced logits over the native answers, and the two models' own greedy answers side by side. */
  private static void agreement(LoadedModel f32, LoadedModel q8, List<Example> nativeAnswers, List<Example> q8Answers,
      ObjectNode o) {
    double worst = 0;
    List<Double> perPosition = new ArrayList<>();
    long positions = 0;
    long argmaxAgree = 0;
    long greedyTokens = 0;
    long greedyAgree = 0;
    int identical = 0;
    int rightNative = 0;
    int rightQ8 = 0;
    for (int i = 0; i < nativeAnswers.size(); i++) {
      Example a = nativeAnswers.get(i);
      int[] prompt = f32.tokenizer().encode(a.prompt(f32.chatTemplate()));
      int[] answer = f32.tokenizer().encode(a.completion());
      int[] sequence = EndToEnd.teacherForced(prompt, java.util.Arrays.copyOf(answer, answer.length + 1));
      LogitComparison c = LogitComparison.of(logits(f32, sequence, answer.length + 1),
          logits(q8, sequence, answer.length + 1));
      worst = Math.max(worst, c.maxRelative());
      for (double d : c.perPosition()) {
        perPosition.add(d);
      }
      positions += c.positions();
      argmaxAgree += c.argmaxAgree();
      int[] other = q8.tokenizer().encode(q8Answers.get(i).completion());
      int same = 0;
      while (same < Math.min(answer.length, other.length) && answer[same] == other[same]) {
        same++;
      }
      greedyAgree += same;
      greedyTokens += answer.length;
      identical += a.completion().equals(q8Answers.get(i).completion()) ? 1 : 0;
      rightNative += a.completion().equals(a.fixed()) ? 1 : 0;
      rightQ8 += q8Answers.get(i).completion().equals(q8Answers.get(i).fixed()) ? 1 : 0;
    }
    double[] sorted = perPosition.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    ObjectNode t = o.putObject("teacher_forced");
    t.put("positions", positions);
    t.put("max_abs_diff_over_range_max", worst);
    t.put("max_abs_diff_over_range_median", sorted[sorted.length / 2]);
    t.put("max_abs_diff_over_range_p99", sorted[(int) (sorted.length * 0.99)]);
    t.put("argmax_agree", argmaxAgree);
    ObjectNode g = o.putObject("greedy");
    g.put("native_tokens", greedyTokens);
    g.put("tokens_agreeing_before_first_difference", greedyAgree);
    g.put("identical_answers", identical);
    g.put("answers_right_native", rightNative);
    g.put("answers_right_q8_0", rightQ8);
  }

  /** The last {@code rows} positions' logits of one forward over {@code sequence}. */
  private static float[][] logits(LoadedModel model, int[] sequence, int rows) {
    try (Sequence s = model.backend().newSequence(sequence.length)) {
      return s.forward(sequence, Math.min(rows, sequence.length)).logits();
    }
  }

  /** The report's probe (Platt-scaled) and raw token-probability rows, by level. */
  private static ObjectNode scores(Report report) {
    ObjectNode o = JSON.createObjectNode();
    for (ReportRow r : report.rows()) {
      if ((r.method().equals("probe") && r.scaled()) || (r.method().equals("token_prob") && !r.scaled())) {
        ObjectNode s = o.putObject(r.method() + "_" + r.level());
        s.put("bss", r.bss());
        s.put("ece", r.ece());
        s.put("auc", r.auc());
      }
    }
    o.putPOJO("counts", report.counts());
    return o;
  }

  /** A random-weight shape: q8_0 against BF16, teacher-forced over prompt + greedy answer, and greedy agreement. */
  static ObjectNode randomShape(Path dir, int promptTokens, int decode) {
    ObjectNode o = JSON.createObjectNode();
    int threads = JavaBackend.defaultThreads();
    int[] prompt = EndToEnd.qwenPrompt(dir, promptTokens);
    try (LoadedModel bf16 = LoadedModel.load(dir, "cpu", "java", null, threads);
        LoadedModel q8 = LoadedModel.load(dir, "cpu", "java", WeightFormat.Q8_0, threads)) {
      int[] a = greedy(bf16, prompt, decode);
      int[] b = greedy(q8, prompt, decode);
      int same = 0;
      while (same < decode && a[same] == b[same]) {
        same++;
      }
      int[] sequence = EndToEnd.teacherForced(prompt, a);
      LogitComparison c = LogitComparison.of(logits(bf16, sequence, sequence.length),
          logits(q8, sequence, sequence.length));
      o.put("positions", c.positions());
      o.put("max_abs_diff_over_range_max", c.maxRelative());
      o.put("max_abs_diff_over_range_median", c.medianRelative());
      o.put("argmax_agree", c.argmaxAgree());
      o.put("mean_logit_range", c.meanRange());
      o.put("greedy_tokens", decode);
      o.put("greedy_agreeing_before_first_difference", same);
    }
    return o;
  }

  private static int[] greedy(LoadedModel m, int[] prompt, int n) {
    Generator g = new Generator(m.backend(), null, m.tokenizer(), m.eosTokens(), 0);
    return g.generate(prompt, GenerationRequest.of(n, SamplingParams.greedy()).withIgnoreEos(true), (r, off, t) -> {})
        .tokens().stream().mapToInt(TokenRecord::token).toArray();
  }

  static String markdown(ObjectNode r) {
    var d = r.get("default");
    var t = d.get("teacher_forced");
    var g = d.get("greedy");
    var n = d.get("probe_native");
    var q = d.get("probe_q8_0");
    var s = r.get("qwen2.5-0.5b");
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "q8_0 against native weights, %s, %s.%n%n", r.get("date").asText(),
        r.get("machine").asText()));
    md.append(String.format(Locale.ROOT, "Default target (%s), %d held-out problems (program stream %d):%n%n",
        d.get("native").asText(), d.get("problems").asInt(), HELD_OUT_PROGRAMS));
    md.append(String.format(Locale.ROOT, "- teacher-forced over the native answers (%d positions): max |Δlogit| / logit"
        + " range median %.2e, 99th percentile %.2e, max %.2e; argmax the same at %d of them (%.2f%%)%n",
        t.get("positions").asLong(), t.get("max_abs_diff_over_range_median").asDouble(),
        t.get("max_abs_diff_over_range_p99").asDouble(), t.get("max_abs_diff_over_range_max").asDouble(),
        t.get("argmax_agree").asLong(), 100.0 * t.get("argmax_agree").asLong() / t.get("positions").asLong()));
    md.append(String.format(Locale.ROOT, "- each model's own greedy answers: %d of %d identical; %d of %d native tokens"
        + " before the first difference; answers exactly right: native %d, q8_0 %d%n",
        g.get("identical_answers").asInt(), d.get("problems").asInt(),
        g.get("tokens_agreeing_before_first_difference").asLong(), g.get("native_tokens").asLong(),
        g.get("answers_right_native").asInt(), g.get("answers_right_q8_0").asInt()));
    md.append("\n| the default probe, held out (no refitting) | native BSS | ECE | AUC | q8_0 BSS | ECE | AUC |\n"
        + "|---|---:|---:|---:|---:|---:|---:|\n");
    for (String key : List.of("probe_line", "probe_token", "probe_problem", "token_prob_line")) {
      md.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |%n", key,
          n.get(key).get("bss").asDouble(), n.get(key).get("ece").asDouble(), n.get(key).get("auc").asDouble(),
          q.get(key).get("bss").asDouble(), q.get(key).get("ece").asDouble(), q.get(key).get("auc").asDouble()));
    }
    md.append(String.format(Locale.ROOT, "%nQwen2.5-0.5B shape, random BF16 weights: teacher-forced over %d positions,"
        + " max |Δlogit| / range median %.2e, max %.2e (mean range %.2f), argmax the same at %d; greedy: %d of %d"
        + " tokens before the first difference (random logits are near-ties: this says little).%n",
        s.get("positions").asInt(), s.get("max_abs_diff_over_range_median").asDouble(),
        s.get("max_abs_diff_over_range_max").asDouble(), s.get("mean_logit_range").asDouble(),
        s.get("argmax_agree").asInt(), s.get("greedy_agreeing_before_first_difference").asInt(),
        s.get("greedy_tokens").asInt()));
    return md.toString();
  }
}
