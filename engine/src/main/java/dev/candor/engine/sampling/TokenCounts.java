package dev.candor.engine.sampling;

import java.util.Arrays;

/**
 * The history {@link LogitAdjustments} read: which tokens the prompt holds and how often each occurs in the output so
 * far. Tokens can be taken back ({@link #removeOutput}), so a drafted continuation is counted while its positions are
 * scored and forgotten afterwards.
 */
public final class TokenCounts {
  private final boolean[] inPrompt; // [vocab]
  private final int[] inOutput; // [vocab]
  private final boolean[] listed; // [vocab]: in distinctTokens
  private int[] distinctTokens = new int[64]; // every token ever seen, once (some may be back to a count of 0)
  private int distinct;

  public TokenCounts(int vocab, int[] prompt) {
    inPrompt = new boolean[vocab];
    inOutput = new int[vocab];
    listed = new boolean[vocab];
    for (int token : prompt) {
      if (token >= 0 && token < vocab) {
        inPrompt[token] = true;
        list(token);
      }
    }
  }

  public void addOutput(int token) {
    if (token >= 0 && token < inOutput.length) {
      inOutput[token]++;
      list(token);
    }
  }

  public void removeOutput(int token) {
    if (token >= 0 && token < inOutput.length) {
      if (inOutput[token] == 0) {
        throw new IllegalStateException("token " + token + " was not counted");
      }
      inOutput[token]--;
    }
  }

  private void list(int token) {
    if (!listed[token]) {
      listed[token] = true;
      if (distinct == distinctTokens.length) {
        distinctTokens = Arrays.copyOf(distinctTokens, distinct * 2);
      }
      distinctTokens[distinct++] = token;
    }
  }

  int distinct() {
    return distinct;
  }

  int distinctToken(int i) {
    return distinctTokens[i];
  }

  public boolean inPrompt(int token) {
    return token >= 0 && token < inPrompt.length && inPrompt[token];
  }

  public int inOutput(int token) {
    return token >= 0 && token < inOutput.length ? inOutput[token] : 0;
  }
}
