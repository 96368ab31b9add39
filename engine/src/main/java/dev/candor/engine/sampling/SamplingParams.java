package dev.candor.engine.sampling;

/**
 * How the next token is chosen. Temperature 0 is greedy (argmax). Otherwise logits are divided by the temperature,
 * cut to the {@code topK} most likely tokens (0 = no cut), then to the smallest set whose probability reaches
 * {@code topP} (1 = no cut), renormalised, and sampled with a generator seeded from {@code seed}.
 */
public record SamplingParams(double temperature, int topK, double topP, long seed) {
  public SamplingParams {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must lie in (0, 1], got " + topP);
    }
  }

  public static SamplingParams greedy() {
    return new SamplingParams(0, 0, 1, 0);
  }

  public boolean isGreedy() {
    return temperature == 0;
  }
}
