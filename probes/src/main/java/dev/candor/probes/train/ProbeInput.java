package dev.candor.probes.train;

import dev.candor.engine.confidence.Probe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What a probe reads for each token: the hidden states of one model (the target, the drafter, or a control such as
 * a randomly initialised copy of the target) at one tap or several (concatenated, in order), followed by scalars of the
 * target's record for the token ({@link Probe.RecordFeature}: its log-probability, probability, entropy). The record
 * features always come from the target, the model whose output is being judged.
 *
 * @param source the name of the model whose hidden states are read ("target", "drafter", "random")
 * @param taps Hugging Face hidden-state indices, concatenated in this order
 * @param recordFeatures scalars appended after the hidden states
 */
public record ProbeInput(String source, int[] taps, List<Probe.RecordFeature> recordFeatures) {
  public ProbeInput {
    if (taps.length == 0) {
      throw new IllegalArgumentException("a probe input reads at least one tap");
    }
    taps = taps.clone();
    recordFeatures = List.copyOf(recordFeatures);
  }

  public static ProbeInput of(String source, int tap, Probe.RecordFeature... features) {
    return new ProbeInput(source, new int[] {tap}, List.of(features));
  }

  /** Parses {@link #name}'s form: "target:tap2", "drafter:tap1+logprob,entropy", "target:taps1,2,3,4". */
  public static ProbeInput parse(String spec) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\w+):taps?([0-9,]+)(?:\\+([a-z,]+))?$")
        .matcher(spec);
    if (!m.matches()) {
      throw new IllegalArgumentException("a probe input is SOURCE:tapN or SOURCE:tapsA,B,... with an optional"
          + " +logprob,prob,entropy; got '" + spec + "'");
    }
    int[] taps = Arrays.stream(m.group(2).split(",")).filter(t -> !t.isEmpty()).mapToInt(Integer::parseInt).toArray();
    List<Probe.RecordFeature> features = new ArrayList<>();
    if (m.group(3) != null) {
      for (String f : m.group(3).split(",")) {
        try {
          features.add(Probe.RecordFeature.valueOf(f.toUpperCase(java.util.Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("unknown record feature '" + f + "' in '" + spec
              + "' (logprob, prob, entropy)");
        }
      }
    }
    return new ProbeInput(m.group(1), taps, features);
  }

  /** "target:tap2", "drafter:tap1+logprob,entropy", "target:taps1,2,3,4". */
  public String name() {
    String t = taps.length == 1 ? "tap" + taps[0]
        : "taps" + Arrays.stream(taps).mapToObj(Integer::toString).collect(Collectors.joining(","));
    String r = recordFeatures.isEmpty() ? ""
        : "+" + recordFeatures.stream().map(Probe.RecordFeature::key).collect(Collectors.joining(","));
    return source + ":" + t + r;
  }

  /** Values per token for hidden states of width {@code hiddenSize}. */
  public int size(int hiddenSize) {
    return taps.length * hiddenSize + recordFeatures.size();
  }

  /** Whether a served {@link Probe} can read this today: one tap (the generator attaches one hidden state a record). */
  public boolean servable() {
    return taps.length == 1 && (source.equals("target") || source.equals("drafter"));
  }

  /**
   * The inputs of every problem [problems][C][size]: the hidden states of {@code states} (the source model's features
   * of the same problems, in the same order) and the record features of {@code target}.
   */
  public List<ProbeTrainer.Problem> build(FeatureSet states, List<ProblemFeatures> statesProblems,
      List<ProblemFeatures> target) {
    if (statesProblems.size() != target.size()) {
      throw new IllegalArgumentException(statesProblems.size() + " problems of " + source + " for " + target.size());
    }
    int[] index = new int[taps.length];
    for (int t = 0; t < taps.length; t++) {
      index[t] = states.tapIndex(taps[t]);
    }
    List<ProbeTrainer.Problem> out = new ArrayList<>(target.size());
    for (int n = 0; n < target.size(); n++) {
      ProblemFeatures s = statesProblems.get(n);
      ProblemFeatures p = target.get(n);
      if (!s.id().equals(p.id()) || !Arrays.equals(s.completion(), p.completion())) {
        throw new IllegalArgumentException("problem " + n + ": " + source + "'s features are of '" + s.id()
            + "', the target's of '" + p.id() + "' (or their completions' tokens differ)");
      }
      out.add(new ProbeTrainer.Problem(inputs(s, index, states.hiddenSize(), p), p.tokenLabels(), p.lines(),
          p.lineLabels(), p.problemLabel()));
    }
    return out;
  }

  private float[][] inputs(ProblemFeatures states, int[] index, int hidden, ProblemFeatures target) {
    if (index.length == 1 && recordFeatures.isEmpty()) {
      return states.hiddenAt(index[0]); // the hidden states as they are: no copy
    }
    float[][] x = new float[target.size()][size(hidden)];
    for (int i = 0; i < target.size(); i++) {
      for (int t = 0; t < index.length; t++) {
        System.arraycopy(states.hiddenAt(index[t])[i], 0, x[i], t * hidden, hidden);
      }
      for (int f = 0; f < recordFeatures.size(); f++) {
        x[i][index.length * hidden + f] = (float) recordFeatures.get(f)
            .value(target.tokenLogprob()[i], target.tokenEntropy()[i]);
      }
    }
    return x;
  }
}
