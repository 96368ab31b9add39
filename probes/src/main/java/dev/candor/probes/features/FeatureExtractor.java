package dev.candor.probes.features;

import dev.candor.engine.LoadedModel;
import dev.candor.engine.cli.ProgressBar;
import dev.candor.engine.confidence.Lines;
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
 * baselines need: the tap hidden state at each completion token's own position, the token's raw logprob, and the
 * labels from the diff against the fixed completion (token: kept by the diff; line: all its tokens kept; problem: all
 * tokens kept).
 */
public final class FeatureExtractor {
  private final LoadedModel model;
  private final int tap;

  public FeatureExtractor(LoadedModel model, int tap) {
    if (tap < 0 || tap > model.backend().config().numHiddenLayers()) {
      throw new IllegalArgumentException("tap " + tap + " outside 0.." + model.backend().config().numHiddenLayers());
    }
    this.model = model;
    this.tap = tap;
  }

  public FeatureSet extract(List<Example> examples, PrintStream log) {
    List<ProblemFeatures> problems = new ArrayList<>();
    ProgressBar bar = log == null ? null : new ProgressBar(log, "extracting", examples.size());
    int skipped = 0;
    for (int n = 0; n < examples.size(); n++) {
      ProblemFeatures p = extract(examples.get(n));
      if (p == null) {
        skipped++;
      } else {
        problems.add(p);
      }
      if (bar != null) {
        bar.update(n + 1, skipped > 0 ? skipped + " empty completions skipped" : "");
      }
    }
    return new FeatureSet(model.backend().config().fingerprint(), tap, model.backend().config().hiddenSize(), problems);
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
      throw new IllegalArgumentException("example " + example.id() + ": " + total + " tokens exceed the context window");
    }
    boolean[] tokenLabels;
    if (example.fixed() != null) {
      tokenLabels = TokenLabels.label(completion, tokenizer.encode(example.fixed()));
    } else {
      tokenLabels = example.labels();
      if (tokenLabels.length != completion.length) {
        throw new IllegalArgumentException("example " + example.id() + ": " + tokenLabels.length
            + " labels for " + completion.length + " completion tokens");
      }
    }
    // character offsets of each token in the completion text, exactly as the server computes them
    StreamDecoder decoder = new StreamDecoder(tokenizer);
    StringBuilder text = new StringBuilder();
    List<Integer> offsets = new ArrayList<>();
    for (int id : completion) {
      offsets.add(text.length());
      text.append(decoder.push(id));
    }
    text.append(decoder.flush());
    List<Lines.Line> lines = LineLabels.codeLines(text.toString(), Lines.of(text.toString(), offsets));
    boolean[] lineLabels = LineLabels.lineLabels(tokenLabels, lines);
    int[][] ranges = new int[lines.size()][];
    for (int l = 0; l < lines.size(); l++) {
      ranges[l] = new int[] {lines.get(l).tokenStart(), lines.get(l).tokenEnd()};
    }
    double[] agreement = null;
    if (!example.samples().isEmpty()) {
      agreement = new double[completion.length];
      for (String sample : example.samples()) {
        boolean[] kept = TokenLabels.label(completion, tokenizer.encode(sample));
        for (int i = 0; i < kept.length; i++) {
          agreement[i] += kept[i] ? 1.0 / example.samples().size() : 0;
        }
      }
    }
    int[] all = new int[total];
    System.arraycopy(prompt, 0, all, 0, prompt.length);
    System.arraycopy(completion, 0, all, prompt.length, completion.length);
    float[][] hidden = new float[completion.length][];
    double[] logprob = new double[completion.length];
    try (Sequence sequence = model.backend().newSequence(total)) {
      // logits of the last C + 1 positions: row r predicts completion token r (the last row, what follows: unused)
      Forward forward = sequence.forward(all, completion.length + 1, tap);
      for (int i = 0; i < completion.length; i++) {
        logprob[i] = TokenDistribution.of(forward.logits()[i], SamplingParams.greedy()).rawLogprob(completion[i]);
        hidden[i] = forward.taps()[0][prompt.length + i];
      }
    }
    return new ProblemFeatures(example.id(), prompt.length, completion, hidden, logprob, tokenLabels, ranges,
        lineLabels, LineLabels.problemLabel(tokenLabels), agreement);
  }
}
