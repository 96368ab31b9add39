package dev.candor.probes.features;

import java.util.List;

/**
 * Everything the probe pipeline needs about one example, computed once (the model is not run again during
 * training) and cached on disk.
 *
 * @param id the example's id
 * @param promptTokens tokens in the prompt
 * @param completion the completion's token ids [C]
 * @param hidden the hidden states at each completion token's own position, per extracted tap [taps][C][hidden]
 * @param tokenLogprob the model's raw logprob of each completion token under teacher forcing [C]
 * @param tokenEntropy entropy of the model's raw distribution at each completion token, nats [C]
 * @param tokenLabels per-token correctness [C]
 * @param lines code lines (blank lines left out) as token ranges [L][2] = {start, end}
 * @param lineTexts each code line's text [L]
 * @param lineTags each code line's tags from the dataset [L] (empty lists when it gave none)
 * @param lineLabels per-line correctness [L]
 * @param problemLabel the whole completion is correct
 * @param difficulty the problem's difficulty in [0, 1], or NaN when the dataset does not say
 * @param samples agreement with the dataset's samples, or null without samples
 */
public record ProblemFeatures(String id, int promptTokens, int[] completion, float[][][] hidden, double[] tokenLogprob,
    double[] tokenEntropy, boolean[] tokenLabels, int[][] lines, String[] lineTexts, List<List<String>> lineTags,
    boolean[] lineLabels, boolean problemLabel, double difficulty, Samples samples) {

  /**
   * How the completion agrees with other samples of the same prompt (the multisampling baselines).
   *
   * @param tokenAgreement per token, the fraction of samples whose diff keeps it [C]
   * @param lineAgreement per code line, the fraction of samples that hold it after alignment
   *     ({@link dev.candor.engine.confidence.Consistency}) [L]
   * @param answerAgreement the fraction of samples whose non-blank lines are the completion's
   */
  public record Samples(double[] tokenAgreement, double[] lineAgreement, double answerAgreement) {}

  public int size() {
    return completion.length;
  }

  /** The hidden states of the {@code t}-th extracted tap [C][hidden]. */
  public float[][] hiddenAt(int t) {
    return hidden[t];
  }

  /** The tokens of code line {@code l}: [start, end). */
  public int lineStart(int l) {
    return lines[l][0];
  }

  public int lineEnd(int l) {
    return lines[l][1];
  }
}
