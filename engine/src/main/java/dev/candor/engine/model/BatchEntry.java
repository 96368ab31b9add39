package dev.candor.engine.model;

/**
 * One sequence's part of a batched forward ({@link Backend#forward(java.util.List)}): its new tokens and what it
 * wants back, exactly the arguments of {@link Sequence#forward} or {@link Sequence#forwardSummaries}. A prefill
 * chunk asks for no logits; a decode step for one row; a k-token verification for k + 1.
 *
 * @param sequence the sequence (of the backend the batch runs on), whose cache grows by {@code tokens}
 * @param tokens [n] the new tokens, at positions sequence.length() ..
 * @param numRows how many of the last new positions to return rows for
 * @param summaries return each row as a {@link dev.candor.engine.sampling.LogitSummary} instead of logits
 * @param taps hidden states to return, by Hugging Face index, for every new position
 */
public record BatchEntry(Sequence sequence, int[] tokens, int numRows, boolean summaries, int[] taps) {
  /** This entry run on its own. */
  public Forward runAlone() {
    return summaries ? sequence.forwardSummaries(tokens, numRows, taps) : sequence.forward(tokens, numRows, taps);
  }
}
