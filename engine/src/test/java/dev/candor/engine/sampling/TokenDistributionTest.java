package dev.candor.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The distribution record against brute-force definitions (full sorts, direct sums). */
class TokenDistributionTest {
  static float[] randomLogits(int vocab, long seed, double scale) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] logits = new float[vocab];
    for (int i = 0; i < vocab; i++) {
      logits[i] = (float) (r.nextGaussian() * scale);
    }
    return logits;
  }

  /** Sampling probabilities by the textbook recipe: sort everything. */
  static double[] bruteForce(float[] logits, double temperature, int topK, double topP) {
    int v = logits.length;
    Integer[] order = IntStream.range(0, v).boxed().sorted(Comparator.comparingDouble(i -> -logits[i])).toArray(Integer[]::new);
    boolean[] kept = new boolean[v];
    float kth = topK > 0 && topK < v ? logits[order[topK - 1]] : Float.NEGATIVE_INFINITY;
    double max = logits[order[0]];
    double[] p = new double[v];
    double sum = 0;
    for (int i = 0; i < v; i++) {
      if (logits[i] >= kth) {
        p[i] = Math.exp((logits[i] - max) / temperature);
        sum += p[i];
      }
    }
    for (int i = 0; i < v; i++) {
      p[i] /= sum;
    }
    double cumulative = 0;
    for (Integer i : order) {
      if (cumulative < topP && p[i] > 0) {
        kept[i] = true;
        cumulative += p[i];
      }
    }
    double keptSum = 0;
    for (int i = 0; i < v; i++) {
      if (!kept[i]) {
        p[i] = 0;
      }
      keptSum += p[i];
    }
    for (int i = 0; i < v; i++) {
      p[i] /= keptSum;
    }
    return p;
  }

  @Test
  void samplingProbabilitiesMatchTheTextbookRecipe() {
    int[] vocabs = {5, 100, 3000};
    double[][] settings = {{1.0, 0, 1.0}, {0.7, 0, 1.0}, {1.3, 10, 1.0}, {1.0, 0, 0.9}, {0.8, 50, 0.5}, {1.0, 0, 0.999}};
    for (int vocab : vocabs) {
      for (double[] s : settings) {
        float[] logits = randomLogits(vocab, vocab, 2.0);
        TokenDistribution d = TokenDistribution.of(logits, new SamplingParams(s[0], (int) s[1], s[2], 0));
        double[] expected = bruteForce(logits, s[0], (int) s[1], s[2]);
        for (int i = 0; i < vocab; i++) {
          assertEquals(expected[i], d.samplingProb(i), 1e-5, "vocab " + vocab + " " + Arrays.toString(s) + " id " + i);
        }
      }
    }
  }

  @Test
  void entropyAndRawLogprobsMatchDirectSums() {
    float[] logits = randomLogits(1000, 3, 3.0);
    TokenDistribution d = TokenDistribution.of(logits, SamplingParams.greedy());
    double z = 0;
    for (float l : logits) {
      z += Math.exp(l);
    }
    double h = 0;
    for (float l : logits) {
      double p = Math.exp(l) / z;
      h -= p * Math.log(p);
    }
    // exponentials are computed in float (the Vector API's exp, ~1 ulp) and summed in double: 1e-6 absolute
    assertEquals(h, d.entropy(), 1e-6);
    for (int i = 0; i < logits.length; i += 97) {
      assertEquals(logits[i] - Math.log(z), d.rawLogprob(i), 1e-6);
      assertEquals(d.rawLogprob(i), d.logprob(i), 0.0, "greedy reports raw logprobs");
    }
  }

  @Test
  void topAlternativesAreTheBestInOrder() {
    float[] logits = randomLogits(5000, 4, 2.0);
    TokenDistribution d = TokenDistribution.of(logits, new SamplingParams(0.9, 0, 1, 0));
    TokenDistribution.Alternative[] top = d.top(20);
    int[] expected = IntStream.range(0, logits.length).boxed()
        .sorted(Comparator.comparingDouble(i -> -logits[i])).limit(20).mapToInt(Integer::intValue).toArray();
    assertArrayEquals(expected, Arrays.stream(top).mapToInt(TokenDistribution.Alternative::token).toArray());
    for (TokenDistribution.Alternative a : top) {
      assertEquals(Math.log(d.samplingProb(a.token())), a.logprob(), 1e-12);
    }
  }

  @Test
  void outsideTheNucleusTheLogprobIsMinusInfinityAndTheRankFollowsTheLogits() {
    float[] logits = {5, 4, 1, 0, -1};
    TokenDistribution d = TokenDistribution.of(logits, new SamplingParams(1, 0, 0.5, 0));
    TokenDistribution.Alternative[] top = d.top(4);
    assertEquals(0, top[0].token());
    assertEquals(0.0, top[0].logprob(), 1e-12, "the nucleus is the single most likely token");
    assertEquals(1, top[1].token());
    assertEquals(Double.NEGATIVE_INFINITY, top[1].logprob());
    assertEquals(2, top[2].token());
  }

  @Test
  void seededSamplingIsReproducibleAndFollowsTheDistribution() {
    float[] logits = randomLogits(6, 5, 1.0);
    TokenDistribution d = TokenDistribution.of(logits, new SamplingParams(1, 0, 1, 0));
    int[] a = new int[200];
    int[] b = new int[200];
    Sampler s1 = new Sampler(42);
    Sampler s2 = new Sampler(42);
    int[] counts = new int[6];
    for (int i = 0; i < a.length; i++) {
      a[i] = s1.sample(d);
      b[i] = s2.sample(d);
    }
    assertArrayEquals(a, b);
    assertNotEquals(Arrays.toString(a), Arrays.toString(new int[200]));
    Sampler s = new Sampler(7);
    int n = 60_000;
    for (int i = 0; i < n; i++) {
      counts[s.sample(d)]++;
    }
    for (int i = 0; i < 6; i++) {
      double p = d.samplingProb(i);
      assertEquals(p, counts[i] / (double) n, 5 * Math.sqrt(p * (1 - p) / n) + 1e-4, "token " + i);
    }
  }

  @Test
  void logitsAreNeverModified() {
    float[] logits = randomLogits(300, 6, 2.0);
    float[] copy = logits.clone();
    TokenDistribution d = TokenDistribution.of(logits, new SamplingParams(0.5, 7, 0.8, 1));
    d.top(20);
    new Sampler(1).sample(d);
    assertArrayEquals(copy, logits);
  }

  @Test
  void badParametersAndNonFiniteLogitsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new SamplingParams(-1, 0, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new SamplingParams(Double.NaN, 0, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, -2, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, 0, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, 0, 1.5, 0));
    assertThrows(IllegalStateException.class,
        () -> TokenDistribution.of(new float[] {Float.NaN, Float.NaN}, SamplingParams.greedy()));
    assertTrue(TokenDistribution.of(new float[] {1, Float.NEGATIVE_INFINITY}, SamplingParams.greedy()).entropy() >= 0);
  }

  /** A distribution built from a summary answers a greedy record's questions exactly as the one from the logits. */
  @Test
  void aSummaryAnswersAsTheLogitsDo() {
    SplittableRandom random = new SplittableRandom(9);
    for (int vocab : new int[] {7, 20, 300}) {
      float[] logits = new float[vocab];
      for (int i = 0; i < vocab; i++) {
        logits[i] = (float) random.nextGaussian() * 3;
      }
      logits[vocab / 2] = logits[vocab - 1]; // a tie somewhere
      TokenDistribution full = TokenDistribution.of(logits.clone(), SamplingParams.greedy());
      TokenDistribution summarised = TokenDistribution.of(LogitSummary.of(logits.clone()));
      assertEquals(full.argmax(), summarised.argmax());
      assertEquals(full.entropy(), summarised.entropy());
      assertEquals(full.rawLogprob(full.argmax()), summarised.rawLogprob(summarised.argmax()));
      assertEquals(full.vocabSize(), summarised.vocabSize());
      for (int n : new int[] {0, 1, 5, 20}) {
        TokenDistribution.Alternative[] a = full.top(n);
        TokenDistribution.Alternative[] b = summarised.top(n);
        assertEquals(a.length, b.length, "top " + n + " of " + vocab);
        for (int i = 0; i < a.length; i++) {
          assertEquals(a[i], b[i], "alternative " + i + " of top " + n + " of " + vocab);
        }
      }
      if (vocab > LogitSummary.TOP) {
        assertThrows(IllegalArgumentException.class, () -> summarised.top(LogitSummary.TOP + 1));
        int outside = full.top(vocab)[vocab - 1].token();
        assertThrows(IllegalArgumentException.class, () -> summarised.rawLogprob(outside));
      }
    }
  }
}
