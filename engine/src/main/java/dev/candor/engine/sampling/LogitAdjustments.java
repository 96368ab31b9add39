package dev.candor.engine.sampling;

import java.util.Map;

/**
 * What a request asks to change in the next-token logits before sampling, each as its reference defines it, in the
 * order vLLM applies them:
 *
 * <ol>
 *   <li>{@code logit_bias} (OpenAI): a value per token id added to its logit (−100 bans a token in practice, +100
 *       all but forces it).
 *   <li>{@code repetition_penalty} (Hugging Face's RepetitionPenaltyLogitsProcessor, after Keskar et al. 2019, CTRL):
 *       every token that occurs in the prompt or the output so far has its logit divided by the penalty when
 *       positive and multiplied by it when negative; 1 is off.
 *   <li>{@code presence_penalty} and {@code frequency_penalty} (OpenAI): logit − presence · [count &gt; 0] −
 *       frequency · count, counting occurrences in the output only; 0 is off.
 * </ol>
 *
 * <p>The generator applies them alike to the target's logits and to the drafter's at every drafted position, each
 * with the history that position has (the committed tokens and the draft before it), so speculative sampling stays
 * exact for the adjusted distribution. The raw logits stay as they are: raw logprobs and entropy are the model's.
 *
 * @param logitBias token id to bias; ids past the vocabulary are ignored
 */
public record LogitAdjustments(double repetitionPenalty, double presencePenalty, double frequencyPenalty,
    Map<Integer, Float> logitBias) {
  public static final LogitAdjustments NONE = new LogitAdjustments(1, 0, 0, Map.of());

  public LogitAdjustments {
    if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
      throw new IllegalArgumentException("repetition_penalty must be a positive number, got " + repetitionPenalty);
    }
    if (!Double.isFinite(presencePenalty) || !Double.isFinite(frequencyPenalty)) {
      throw new IllegalArgumentException("penalties must be finite");
    }
    logitBias = Map.copyOf(logitBias);
  }

  public boolean isNone() {
    return repetitionPenalty == 1 && presencePenalty == 0 && frequencyPenalty == 0 && logitBias.isEmpty();
  }

  /** Whether the adjustments read the history (otherwise only the bias applies, the same at every position). */
  boolean readsHistory() {
    return repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0;
  }

  /** The adjusted logits of a position whose history is {@code counts}: a new array; {@code raw} is untouched. */
  public float[] apply(float[] raw, TokenCounts counts) {
    float[] out = raw.clone();
    logitBias.forEach((token, bias) -> {
      if (token >= 0 && token < out.length) {
        out[token] += bias;
      }
    });
    if (!readsHistory()) {
      return out;
    }
    for (int i = 0; i < counts.distinct(); i++) {
      int token = counts.distinctToken(i);
      int inOutput = counts.inOutput(token);
      if (token >= out.length || (inOutput == 0 && !counts.inPrompt(token))) {
        continue;
      }
      float logit = out[token];
      if (repetitionPenalty != 1) {
        logit = (float) (logit > 0 ? logit / repetitionPenalty : logit * repetitionPenalty);
      }
      if (inOutput > 0) {
        logit = (float) (logit - presencePenalty - frequencyPenalty * inOutput);
      }
      out[token] = logit;
    }
    return out;
  }
}
