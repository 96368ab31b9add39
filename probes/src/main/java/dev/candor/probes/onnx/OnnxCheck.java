package dev.candor.probes.onnx;

import ai.onnxruntime.OrtException;
import dev.candor.engine.confidence.Probe;
import java.util.List;

/**
 * Holds an ONNX export against its oracle, the plain-Java {@link Probe}: both score the same token sets and the largest
 * disagreement is reported, separately for the logit and for the Platt-scaled probabilities of every level.
 */
public final class OnnxCheck {
  private OnnxCheck() {}

  /**
   * Largest absolute differences between the Java probe and its ONNX export over some sets.
   *
   * @param logit max |s_java − s_onnx| over the sets and heads
   * @param probability max |p_java − p_onnx| over the sets and the three levels
   * @param sets how many sets were compared
   */
  public record Difference(double logit, double probability, int sets) {
    /** The larger of the two. */
    public double max() {
      return Math.max(logit, probability);
    }
  }

  /**
   * Scores every set with both implementations. Each set is a non-empty list of probe inputs [count][input]; the
   * sets are laid one after another as the ONNX input's tokens, each selecting its own rows, so a hidden state shared
   * by several sets (a token and its line) is scored once per set, exactly as the Java probe sees it.
   */
  public static Difference compare(Probe probe, OnnxProbe onnx, List<List<float[]>> sets) throws OrtException {
    if (sets.isEmpty()) {
      throw new IllegalArgumentException("no sets to compare");
    }
    int tokens = 0;
    for (List<float[]> set : sets) {
      if (set.isEmpty()) {
        throw new IllegalArgumentException("an empty set has no score");
      }
      tokens += set.size();
    }
    float[][] hidden = new float[tokens][]; // [tokens][hidden]
    float[][] mask = new float[sets.size()][tokens]; // [sets][tokens]
    int n = 0;
    for (int s = 0; s < sets.size(); s++) {
      for (float[] h : sets.get(s)) {
        hidden[n] = h;
        mask[s][n] = 1;
        n++;
      }
    }

    double[][] scores = onnx.score(hidden, mask); // [sets][3 + heads]
    if (onnx.heads() != probe.heads().size()) {
      throw new IllegalArgumentException("the export has " + onnx.heads() + " heads, the probe "
          + probe.heads().size());
    }
    double logit = 0;
    double probability = 0;
    for (int s = 0; s < sets.size(); s++) {
      for (int h = 0; h < probe.heads().size(); h++) {
        double javaLogit = probe.logit(probe.heads().get(h), sets.get(s));
        logit = Math.max(logit, Math.abs(javaLogit - scores[s][OnnxProbe.headColumn(h)]));
      }
      for (Probe.Level level : Probe.Level.values()) {
        double javaP = probe.probability(sets.get(s), level);
        probability = Math.max(probability, Math.abs(javaP - scores[s][OnnxProbe.column(level)]));
      }
    }
    return new Difference(logit, probability, sets.size());
  }

  /** The largest of all differences {@link #compare} finds, logit and probabilities alike. */
  public static double maxAbsDifference(Probe probe, OnnxProbe onnx, List<List<float[]>> sets) throws OrtException {
    return compare(probe, onnx, sets).max();
  }
}
