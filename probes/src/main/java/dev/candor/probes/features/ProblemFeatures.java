package dev.candor.probes.features;

/**
 * Everything the probe pipeline needs about one example, computed once (the model is not run again during
 * training) and cached on disk.
 *
 * @param id the example's id
 * @param promptTokens tokens in the prompt
 * @param completion the completion's token ids [C]
 * @param hidden tap hidden state at each completion token's own position [C][hidden]
 * @param tokenLogprob the target's raw logprob of each completion token under teacher forcing [C]
 * @param tokenLabels per-token correctness [C]
 * @param lines code lines (whitespace-only lines left out) as token ranges [L][2] = {start, end}
 * @param lineLabels per-line correctness [L]
 * @param problemLabel the whole completion is correct
 * @param sampleAgreement fraction of other samples whose diff keeps each token [C], or null without samples
 */
public record ProblemFeatures(String id, int promptTokens, int[] completion, float[][] hidden, double[] tokenLogprob,
    boolean[] tokenLabels, int[][] lines, boolean[] lineLabels, boolean problemLabel, double[] sampleAgreement) {

  public int size() {
    return completion.length;
  }
}
