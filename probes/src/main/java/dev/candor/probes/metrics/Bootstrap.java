package dev.candor.probes.metrics;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Bootstrap intervals that resample problems, not rows: the tokens and lines of one problem are not independent
 * (a wrong value propagates down a trace), so resampling rows would understate the uncertainty. Each resample draws,
 * within every cross-validation fold, as many problems as the fold holds, with replacement (stratified by fold, so each
 * fold keeps its size and its own scaling), and recomputes the statistic exactly as the point estimate is computed:
 * per fold on that fold's rows, then the mean over folds. Intervals are the 2.5 and 97.5 percentiles (Efron &amp;
 * Tibshirani 1993, ch. 13). Paired comparisons apply the same resamples to both methods, so what the two share cancels.
 *
 * <p>Every statistic here decomposes over problems (Brier and the base rate are sums; ECE is a sum per bin of
 * residuals), so a resample is a weighted sum of per-problem totals: cheap enough for thousands of resamples of every
 * row of a report.
 */
public final class Bootstrap {
  public static final int BINS = 10;

  private final int[] foldOfGroup; // [groups]
  private final int folds;
  private final int[][] counts; // [resamples][groups]: times problem g is drawn in resample b

  public Bootstrap(int[] foldOfGroup, int resamples, long seed) {
    this.foldOfGroup = foldOfGroup.clone();
    int k = 0;
    for (int f : foldOfGroup) {
      k = Math.max(k, f + 1);
    }
    this.folds = k;
    int[][] members = new int[k][];
    for (int f = 0; f < k; f++) {
      final int fold = f;
      members[f] = java.util.stream.IntStream.range(0, foldOfGroup.length).filter(g -> foldOfGroup[g] == fold)
          .toArray();
    }
    SplittableRandom random = new SplittableRandom(seed);
    counts = new int[resamples][foldOfGroup.length];
    for (int b = 0; b < resamples; b++) {
      for (int[] fold : members) {
        for (int draw = 0; draw < fold.length; draw++) {
          counts[b][fold[random.nextInt(fold.length)]]++;
        }
      }
    }
  }

  public int resamples() {
    return counts.length;
  }

  /**
   * Per-problem totals of predictions {@code p} against labels {@code y} over the rows where {@code mask} holds (null:
   * all rows); {@code groupOfRow} gives each row's problem.
   */
  public Totals totals(double[] p, boolean[] y, int[] groupOfRow, boolean[] mask) {
    int groups = foldOfGroup.length;
    Totals t = new Totals(new double[groups], new double[groups], new double[groups], new double[groups],
        new double[groups][BINS], new double[groups][BINS]);
    for (int r = 0; r < p.length; r++) {
      if (mask != null && !mask[r]) {
        continue;
      }
      int g = groupOfRow[r];
      double label = y[r] ? 1 : 0;
      int bin = Math.min((int) (p[r] * BINS), BINS - 1);
      t.n[g]++;
      t.positives[g] += label;
      t.squaredError[g] += (p[r] - label) * (p[r] - label);
      t.sumP[g] += p[r];
      t.binCount[g][bin]++;
      t.binResidual[g][bin] += label - p[r];
    }
    return t;
  }

  /** Per-problem totals: rows, correct rows, Σ(p − y)², Σp, and per ECE bin the rows and Σ(y − p). */
  public record Totals(double[] n, double[] positives, double[] squaredError, double[] sumP, double[][] binCount,
      double[][] binResidual) {}

  /** Which statistic, each computed per fold and averaged over the folds where it is defined. */
  public enum Statistic { BSS, ECE, MEAN_P }

  /** The statistic on the sample itself (every problem once). */
  public double point(Totals t, Statistic s) {
    int[] once = new int[foldOfGroup.length];
    Arrays.fill(once, 1);
    return statistic(t, s, once);
  }

  /** The statistic on each resample [resamples]. */
  public double[] resampled(Totals t, Statistic s) {
    double[] out = new double[counts.length];
    for (int b = 0; b < counts.length; b++) {
      out[b] = statistic(t, s, counts[b]);
    }
    return out;
  }

  /** The 2.5 and 97.5 percentiles of the finite values, {NaN, NaN} when fewer than half are finite. */
  public static double[] interval(double[] values) {
    double[] finite = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
    if (finite.length < values.length / 2 || finite.length == 0) {
      return new double[] {Double.NaN, Double.NaN};
    }
    return new double[] {percentile(finite, 0.025), percentile(finite, 0.975)};
  }

  /** values[i] − others[i] for each resample (a paired difference). */
  public static double[] difference(double[] values, double[] others) {
    double[] d = new double[values.length];
    for (int i = 0; i < d.length; i++) {
      d[i] = values[i] - others[i];
    }
    return d;
  }

  private double statistic(Totals t, Statistic s, int[] weight) {
    double sum = 0;
    int defined = 0;
    for (int f = 0; f < folds; f++) {
      double value = foldStatistic(t, s, weight, f);
      if (Double.isFinite(value)) {
        sum += value;
        defined++;
      }
    }
    return defined == 0 ? Double.NaN : sum / defined;
  }

  private double foldStatistic(Totals t, Statistic s, int[] weight, int fold) {
    double n = 0;
    double positives = 0;
    double squaredError = 0;
    double sumP = 0;
    double[] binResidual = new double[BINS];
    for (int g = 0; g < foldOfGroup.length; g++) {
      int w = weight[g];
      if (w == 0 || foldOfGroup[g] != fold || t.n[g] == 0) {
        continue;
      }
      n += w * t.n[g];
      positives += w * t.positives[g];
      squaredError += w * t.squaredError[g];
      sumP += w * t.sumP[g];
      if (s == Statistic.ECE) {
        for (int b = 0; b < BINS; b++) {
          binResidual[b] += w * t.binResidual[g][b];
        }
      }
    }
    if (n == 0) {
      return Double.NaN;
    }
    return switch (s) {
      case BSS -> {
        double rate = positives / n;
        yield rate == 0 || rate == 1 ? Double.NaN : 1 - (squaredError / n) / (rate * (1 - rate));
      }
      case ECE -> {
        double e = 0;
        for (double r : binResidual) {
          e += Math.abs(r);
        }
        yield e / n;
      }
      case MEAN_P -> sumP / n;
    };
  }

  private static double percentile(double[] sorted, double q) {
    double position = q * (sorted.length - 1);
    int lo = (int) Math.floor(position);
    int hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
  }
}
