package dev.candor.engine.sampling;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One position's next-token distribution, in the two forms Candor reports:
 *
 * <ul>
 *   <li><b>raw</b>: softmax(logits), the model's own belief, untouched by sampling settings. Entropy is always of
 *       this one.
 *   <li><b>sampling</b>: what the token is actually drawn from: softmax(logits / temperature), cut by top-k and
 *       top-p, renormalised. Greedy decoding (temperature 0) has no sampling distribution (it is a point mass at the
 *       argmax).
 * </ul>
 *
 * <p>Reported logprobs ({@link #logprob}, {@link #top}) follow OpenAI's meaning, the distribution the token was
 * sampled from; under greedy decoding, where that is a point mass, they are the raw distribution. The logits are
 * read, never written: the verifier, the logprobs and the probes all consume this record.
 */
public final class TokenDistribution {
  private static final VectorSpecies<Float> SPECIES = VectorMath.SPECIES;

  /** An alternative token and its reported logprob. */
  public record Alternative(int token, double logprob) {}

  private final float[] logits; // [vocab], raw; null when built from a summary
  private final LogitSummary summary; // the greedy summary this was built from, or null
  private final SamplingParams params;
  private final int argmax;
  private final double logZ; // log Σ exp(logits)
  private final double entropy; // nats, of softmax(logits)
  private final float[] probs; // [vocab], the sampling distribution; null when greedy

  private TokenDistribution(float[] logits, SamplingParams params, int argmax, double logZ, double entropy, float[] probs) {
    this(logits, null, params, argmax, logZ, entropy, probs);
  }

  private TokenDistribution(float[] logits, LogitSummary summary, SamplingParams params, int argmax, double logZ,
      double entropy, float[] probs) {
    this.logits = logits;
    this.summary = summary;
    this.params = params;
    this.argmax = argmax;
    this.logZ = logZ;
    this.entropy = entropy;
    this.probs = probs;
  }

  /** Builds the distribution of {@code logits} under {@code params}. The array is kept, so callers must not reuse it. */
  public static TokenDistribution of(float[] logits, SamplingParams params) {
    return of(logits, logits, params);
  }

  /**
   * The distribution of a position whose logits were adjusted before sampling (penalties, a logit bias, a grammar's
   * mask): the token is drawn from (and greedy takes the argmax of) {@code processed}; the raw view (raw logprobs,
   * entropy, raw top alternatives) stays the model's own {@code raw}. Both arrays are kept.
   *
   * @param raw [vocab] the model's logits
   * @param processed [vocab] the adjusted logits (-inf for a token that may not be drawn); may be {@code raw} itself
   */
  public static TokenDistribution of(float[] raw, float[] processed, SamplingParams params) {
    int argmax = argmax(processed);
    float max = processed[argmax];
    if (!Float.isFinite(max)) {
      throw new IllegalStateException(processed == raw
          ? "logits are not finite (max " + max + "): the model produced NaN or infinity"
          : "no token may be drawn: every adjusted logit is " + max);
    }
    float rawMax = processed == raw ? max : raw[argmax(raw)];
    if (!Float.isFinite(rawMax)) {
      throw new IllegalStateException("logits are not finite (max " + rawMax + "): the model produced NaN or infinity");
    }
    double[] partition = logPartitionAndEntropy(raw, rawMax);
    float[] probs = params.isGreedy() ? null : samplingProbs(processed, max, params);
    return new TokenDistribution(raw, params, argmax, partition[0], partition[1], probs);
  }

  /** The first index of the largest value (ties go to the lower id, as everywhere in Candor). */
  private static int argmax(float[] logits) {
    int argmax = 0;
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < logits.length; i++) {
      if (logits[i] > max) {
        max = logits[i];
        argmax = i;
      }
    }
    return argmax;
  }

  /** {log Σ exp(logits), the entropy of softmax(logits) in nats}, given the largest logit. */
  private static double[] logPartitionAndEntropy(float[] logits, float max) {
    int vocab = logits.length;
    // raw softmax: Z = Σ e_i with e_i = exp(l_i - max); H = log Z - Σ e_i (l_i - max) / Z.
    // e_i in float (VectorMath.exp, under 2 ulp, the same bits in every JIT tier), each vector's lanes summed in a
    // fixed order, the sums in double; a -inf logit is clamped to -1e30 so that it adds exp(-1e30) = 0 and
    // 0 * -1e30 = 0 (0 * -inf would be NaN).
    double sum = 0;
    double weighted = 0;
    int i = 0;
    for (int bound = SPECIES.loopBound(vocab); i < bound; i += SPECIES.length()) {
      FloatVector shifted = FloatVector.fromArray(SPECIES, logits, i).sub(max).max(-1e30f);
      FloatVector e = VectorMath.exp(shifted);
      sum += VectorMath.sum(e);
      weighted += VectorMath.sum(e.mul(shifted));
    }
    for (; i < vocab; i++) {
      float shifted = Math.max(logits[i] - max, -1e30f);
      float e = VectorMath.exp(shifted);
      sum += e;
      weighted += (double) (e * shifted);
    }
    return new double[] {max + Math.log(sum), Math.log(sum) - weighted / sum};
  }

  /**
   * A greedy distribution known only by its summary (computed where the logits are): everything a greedy step and
   * its record need. Logits and logprobs are known for the summary's top tokens, which always include the argmax;
   * asking for another token's is an error.
   */
  public static TokenDistribution of(LogitSummary summary) {
    if (!Double.isFinite(summary.logPartition())) {
      throw new IllegalStateException("logits are not finite (log partition " + summary.logPartition()
          + "): the model produced NaN or infinity");
    }
    return new TokenDistribution(null, summary, SamplingParams.greedy(), summary.argmax(), summary.logPartition(),
        summary.entropy(), null);
  }

  private static float[] samplingProbs(float[] logits, float max, SamplingParams params) {
    int vocab = logits.length;
    double inverseT = 1.0 / params.temperature();
    float[] probs = new float[vocab];
    // top-k: everything below the k-th largest logit is out (ties with it stay in, as in Hugging Face)
    float floor = Float.NEGATIVE_INFINITY;
    if (params.topK() > 0 && params.topK() < vocab) {
      int[] best = TopK.select(vocab, params.topK(), (a, b) -> Float.compare(logits[a], logits[b]));
      floor = logits[best[best.length - 1]];
    }
    float scale = (float) inverseT;
    double sum = 0;
    int i = 0;
    for (int bound = SPECIES.loopBound(vocab); i < bound; i += SPECIES.length()) {
      FloatVector l = FloatVector.fromArray(SPECIES, logits, i);
      FloatVector e = VectorMath.exp(l.sub(max).mul(scale)).blend(0f, l.compare(VectorOperators.LT, floor));
      e.intoArray(probs, i);
      sum += VectorMath.sum(e);
    }
    for (; i < vocab; i++) {
      if (logits[i] >= floor) {
        float e = VectorMath.exp((logits[i] - max) * scale);
        probs[i] = e;
        sum += e;
      }
    }
    scale(probs, sum);
    if (params.topP() < 1) {
      nucleus(probs, params.topP());
    }
    return probs;
  }

  /**
   * Top-p: keep tokens in descending order while the probability before them is below topP (so the token that
   * crosses the threshold stays, and at least one always does); zero the rest and renormalise.
   */
  private static void nucleus(float[] probs, double topP) {
    int vocab = probs.length;
    for (int candidates = Math.min(vocab, 256); ; candidates = Math.min(vocab, candidates * 8)) {
      int[] order = TopK.select(vocab, candidates, (a, b) -> Float.compare(probs[a], probs[b]));
      double cumulative = 0;
      int keep = -1;
      for (int r = 0; r < order.length; r++) {
        if (cumulative >= topP) {
          keep = r;
          break;
        }
        cumulative += probs[order[r]];
      }
      if (keep < 0 && candidates < vocab) {
        continue; // the nucleus is larger than the candidates looked at
      }
      if (keep < 0) {
        return; // everything is in the nucleus
      }
      boolean[] kept = new boolean[vocab];
      double sum = 0;
      for (int r = 0; r < keep; r++) {
        kept[order[r]] = true;
        sum += probs[order[r]];
      }
      for (int i = 0; i < vocab; i++) {
        if (!kept[i]) {
          probs[i] = 0;
        }
      }
      scale(probs, sum);
      return;
    }
  }

  private static void scale(float[] probs, double sum) {
    float inverse = (float) (1.0 / sum);
    for (int i = 0; i < probs.length; i++) {
      probs[i] *= inverse;
    }
  }

  public int vocabSize() {
    return logits != null ? logits.length : summary.vocabSize();
  }

  public SamplingParams params() {
    return params;
  }

  public int argmax() {
    return argmax;
  }

  /** Entropy of the raw distribution, in nats. */
  public double entropy() {
    return entropy;
  }

  /** log softmax(logits)[token]. */
  public double rawLogprob(int token) {
    return logit(token) - logZ;
  }

  /** The probability the sampler draws {@code token} with (greedy: 1 for the argmax, 0 otherwise). */
  public double samplingProb(int token) {
    if (probs == null) {
      return token == argmax ? 1 : 0;
    }
    return probs[token];
  }

  /** The reported logprob: of the sampling distribution, or of the raw one under greedy decoding. */
  public double logprob(int token) {
    return probs == null ? rawLogprob(token) : Math.log(probs[token]);
  }

  /**
   * The n most likely tokens by reported logprob, best first. Where fewer than n tokens survive top-k/top-p, the rest
   * are the next by raw logit, with logprob −∞.
   */
  public Alternative[] top(int n) {
    if (summary != null) {
      return topRaw(n); // greedy: the reported distribution is the raw one
    }
    int[] best = probs == null
        ? TopK.select(logits.length, n, (a, b) -> Float.compare(logits[a], logits[b]))
        : TopK.select(logits.length, n, (a, b) -> {
          int c = Float.compare(probs[a], probs[b]);
          return c != 0 ? c : Float.compare(logits[a], logits[b]);
        });
    Alternative[] out = new Alternative[best.length];
    for (int i = 0; i < best.length; i++) {
      out[i] = new Alternative(best[i], logprob(best[i]));
    }
    return out;
  }

  /** The n most likely tokens by raw logprob, best first, with raw logprobs. */
  public Alternative[] topRaw(int n) {
    if (summary != null) {
      int kept = summary.topTokens().length;
      if (n > kept && kept < summary.vocabSize()) {
        throw new IllegalArgumentException("a summary keeps the top " + kept + ", not " + n);
      }
      n = Math.min(n, kept); // a vocabulary smaller than n: all of it, as from the logits
      Alternative[] out = new Alternative[n];
      for (int i = 0; i < n; i++) {
        out[i] = new Alternative(summary.topTokens()[i], summary.topLogits()[i] - logZ);
      }
      return out;
    }
    int[] best = TopK.select(logits.length, n, (a, b) -> Float.compare(logits[a], logits[b]));
    Alternative[] out = new Alternative[best.length];
    for (int i = 0; i < best.length; i++) {
      out[i] = new Alternative(best[i], rawLogprob(best[i]));
    }
    return out;
  }

  /** A copy of the sampling distribution (greedy: the one-hot argmax), for verification and analysis. */
  public float[] samplingProbs() {
    if (probs == null) {
      float[] oneHot = new float[vocabSize()];
      oneHot[argmax] = 1;
      return oneHot;
    }
    return Arrays.copyOf(probs, probs.length);
  }

  /** The raw logit of {@code token}. */
  public float logit(int token) {
    if (logits != null) {
      return logits[token];
    }
    int[] top = summary.topTokens();
    for (int i = 0; i < top.length; i++) {
      if (top[i] == token) {
        return summary.topLogits()[i];
      }
    }
    throw new IllegalArgumentException("token " + token + " is not among the " + top.length
        + " a greedy summary keeps");
  }

  /** log Σ exp(logits): rawLogprob(t) = logit(t) − logPartition(). */
  public double logPartition() {
    return logZ;
  }
}
