package dev.candor.probes.features;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.cli.ProgressBar;
import dev.candor.engine.confidence.Consistency;
import dev.candor.engine.confidence.Lines;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.model.Forward;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.StreamDecoder;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.probes.data.Example;
import dev.candor.probes.labels.LineLabels;
import dev.candor.probes.labels.TokenLabels;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs each example's prompt + completion through the model once, teacher-forced, and keeps what the probe and the
 * baselines need: the hidden states at each completion token's own position for every requested tap, the token's raw
 * logprob and entropy, the code lines with their texts and tags, the labels from the diff against the fixed
 * completion (token: kept by the diff; line: all its tokens kept; problem: all tokens kept), and the agreement with
 * the example's samples (per token by diff, per line and answer by {@link Consistency}).
 */
public final class FeatureExtractor {
  private final LoadedModel model;
  private final int[] taps;
  private final ModelIdentity identity;

  public FeatureExtractor(LoadedModel model, int... taps) {
    int layers = model.backend().config().numHiddenLayers();
    if (taps.length == 0) {
      throw new IllegalArgumentException("no taps to extract");
    }
    for (int tap : taps) {
      if (tap < 0 || tap > layers) {
        throw new IllegalArgumentException("tap " + tap + " outside 0.." + layers);
      }
    }
    this.model = model;
    this.taps = taps.clone();
    var config = model.backend().config();
    this.identity = ModelIdentity.of(model.dir(), config, ModelIdentity.formatOf(config));
  }

  /** Every tap 0 (embeddings) .. L (the last layer) of {@code model}. */
  public static int[] allTaps(LoadedModel model) {
    return java.util.stream.IntStream.rangeClosed(0, model.backend().config().numHiddenLayers()).toArray();
  }

  public FeatureSet extract(List<Example> examples, PrintStream log) {
    return extract(examples, FeatureSet.Shard.all(examples.size()), log);
  }

  /** The features of one shard of {@code examples} (all of them: {@link FeatureSet.Shard#all}). */
  public FeatureSet extract(List<Example> examples, FeatureSet.Shard shard, PrintStream log) {
    if (shard.examples() != examples.size()) {
      throw new IllegalArgumentException("a shard of " + shard.examples() + " examples for " + examples.size());
    }
    List<ProblemFeatures> problems = new ArrayList<>();
    int count = shard.to() - shard.from();
    ProgressBar bar = log == null ? null : new ProgressBar(log, "extracting", count);
    int skipped = 0;
    for (int n = shard.from(); n < shard.to(); n++) {
      ProblemFeatures p = extract(examples.get(n));
      if (p == null) {
        skipped++;
      } else {
        problems.add(p);
      }
      if (bar != null) {
        bar.update(n - shard.from() + 1, skipped > 0 ? skipped + " empty completions skipped" : "");
      }
    }
    return new FeatureSet(identity, taps, model.backend().config().hiddenSize(), shard, problems);
  }

  /** One example's features, or null when its completion is empty (nothing to probe). */
  public ProblemFeatures extract(Example example) {
    Tokenizer tokenizer = model.tokenizer();
    int[] prompt = tokenizer.encode(example.prompt(model.chatTemplate()));
    int[] completion = tokenizer.encode(example.completion());
    if (completion.length == 0) {
      return null;
    }
    if (prompt.length == 0) {
      throw new IllegalArgumentException("example " + example.id() + ": empty prompt");
    }
    int total = prompt.length + completion.length;
    if (total > model.backend().config().maxPositionEmbeddings()) {
      throw new IllegalArgumentException("example " + example.id() + ": " + total
          + " tokens exceed the context window");
    }
    boolean[] tokenLabels = tokenLabels(example, completion);
    // character offsets of each token in the completion text, exactly as the server computes them
    StreamDecoder decoder = new StreamDecoder(tokenizer);
    StringBuilder decoded = new StringBuilder();
    List<Integer> offsets = new ArrayList<>();
    for (int id : completion) {
      offsets.add(decoded.length());
      decoded.append(decoder.push(id));
    }
    decoded.append(decoder.flush());
    String text = decoded.toString();
    List<Lines.Line> lines = Lines.code(text, offsets);
    int[][] ranges = new int[lines.size()][];
    String[] texts = new String[lines.size()];
    for (int l = 0; l < lines.size(); l++) {
      ranges[l] = new int[] {lines.get(l).tokenStart(), lines.get(l).tokenEnd()};
      texts[l] = text.substring(lines.get(l).charStart(), lines.get(l).charEnd());
    }
    Forward forward = teacherForce(prompt, completion);
    double[] logprob = new double[completion.length];
    double[] entropy = new double[completion.length];
    float[][][] hidden = new float[taps.length][completion.length][];
    for (int i = 0; i < completion.length; i++) {
      TokenDistribution d = TokenDistribution.of(forward.logits()[i], SamplingParams.greedy());
      logprob[i] = d.rawLogprob(completion[i]);
      entropy[i] = d.entropy();
      for (int t = 0; t < taps.length; t++) {
        hidden[t][i] = forward.taps()[t][prompt.length + i];
      }
    }
    return new ProblemFeatures(example.id(), prompt.length, completion, hidden, logprob, entropy, tokenLabels, ranges,
        texts, lineTags(example, text, lines), LineLabels.lineLabels(tokenLabels, lines),
        LineLabels.problemLabel(tokenLabels), example.difficulty(), samples(example, completion, text, lines));
  }

  /** Logits of the last C + 1 positions (row r predicts completion token r) and every tap, in one forward. */
  private Forward teacherForce(int[] prompt, int[] completion) {
    int[] all = new int[prompt.length + completion.length];
    System.arraycopy(prompt, 0, all, 0, prompt.length);
    System.arraycopy(completion, 0, all, prompt.length, completion.length);
    try (Sequence sequence = model.backend().newSequence(all.length)) {
      return sequence.forward(all, completion.length + 1, taps);
    }
  }

  private boolean[] tokenLabels(Example example, int[] completion) {
    if (example.fixed() != null) {
      return TokenLabels.label(completion, model.tokenizer().encode(example.fixed()));
    }
    if (example.labels().length != completion.length) {
      throw new IllegalArgumentException("example " + example.id() + ": " + example.labels().length
          + " labels for " + completion.length + " completion tokens");
    }
    return example.labels();
  }

  /** The dataset's tags of each code line: line_tags is per non-blank text line, matched by where lines start. */
  private static List<List<String>> lineTags(Example example, String text, List<Lines.Line> lines) {
    List<Integer> starts = new ArrayList<>(); // start offset of each non-blank text line
    for (int at = 0; at < text.length(); ) {
      int newline = text.indexOf('\n', at);
      int end = newline < 0 ? text.length() : newline + 1;
      if (!text.substring(at, end).isBlank()) {
        starts.add(at);
      }
      at = end;
    }
    if (!example.lineTags().isEmpty() && example.lineTags().size() != starts.size()) {
      throw new IllegalArgumentException("example " + example.id() + ": line_tags has " + example.lineTags().size()
          + " entries for " + starts.size() + " non-blank lines");
    }
    List<List<String>> tags = new ArrayList<>();
    for (Lines.Line line : lines) {
      int index = starts.indexOf(line.charStart());
      tags.add(index < 0 || example.lineTags().isEmpty() ? List.of() : example.lineTags().get(index));
    }
    return tags;
  }

  private ProblemFeatures.Samples samples(Example example, int[] completion, String text, List<Lines.Line> lines) {
    if (example.samples().isEmpty()) {
      return null;
    }
    double[] tokenAgreement = new double[completion.length];
    for (String sample : example.samples()) {
      boolean[] kept = TokenLabels.label(completion, model.tokenizer().encode(sample));
      for (int i = 0; i < kept.length; i++) {
        tokenAgreement[i] += kept[i] ? 1.0 / example.samples().size() : 0;
      }
    }
    Consistency.Result consistency = Consistency.of(text, example.samples());
    double[] lineAgreement = new double[lines.size()];
    for (int l = 0; l < lines.size(); l++) {
      double a = consistency.lineAt(lines.get(l).charStart());
      // NaN only when a token spanning a newline starts a code line inside a blank text line: no sample holds it
      lineAgreement[l] = Double.isNaN(a) ? 0 : a;
    }
    return new ProblemFeatures.Samples(tokenAgreement, lineAgreement, consistency.response());
  }
}
