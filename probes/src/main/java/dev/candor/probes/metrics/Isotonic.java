package dev.candor.probes.metrics;

import dev.candor.engine.confidence.StackedProbe;
import java.util.Arrays;

/**
 * Isotonic calibration (Zadrozny &amp; Elkan 2002, "Transforming classifier scores into accurate multiclass
 * probability estimates"): the non-decreasing step function of a score that minimises the squared error to the
 * labels, fitted by pool-adjacent-violators: constant over each block of pooled scores, linear from one block's
 * highest score to the next one's lowest (as scikit-learn's {@code IsotonicRegression} reads it), clipped to [{@link Platt#CLIP}, 1 − CLIP] so that a logit of it stays finite. The
 * study tries it at the line level, where Platt's two parameters may be too stiff for the probe's pooled logits.
 */
public final class Isotonic {
  private final double[] x; // [knots]: each block's lowest and highest score, increasing
  private final double[] y; // [knots]: the block's mean label at both, non-decreasing

  private final int bottomCount; // points pooled into the lowest block
  private final int topCount; // points pooled into the highest block
  private final StackedProbe.Isotonic served;

  private Isotonic(double[] x, double[] y, int bottomCount, int topCount) {
    this.x = x;
    this.y = y;
    this.bottomCount = bottomCount;
    this.topCount = topCount;
    this.served = new StackedProbe.Isotonic(x, y);
  }

  /** Fits on scores {@code s} [n] and labels {@code labels} [n]; ties in s are pooled into one block. */
  public static Isotonic fit(double[] s, boolean[] labels) {
    int n = s.length;
    if (n == 0 || n != labels.length) {
      throw new IllegalArgumentException(n + " scores and " + labels.length + " labels");
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (i, j) -> Double.compare(s[i], s[j]));
    double[] lo = new double[n]; // [blocks]: lowest score
    double[] hi = new double[n]; // [blocks]: highest score
    double[] mean = new double[n]; // [blocks]: mean label
    double[] weight = new double[n]; // [blocks]: points
    int blocks = 0;
    for (int k = 0; k < n; k++) {
      int i = order[k];
      lo[blocks] = hi[blocks] = s[i];
      mean[blocks] = labels[i] ? 1 : 0;
      weight[blocks] = 1;
      blocks++;
      // pool while the last two blocks violate the order, or share a score
      while (blocks > 1 && (mean[blocks - 2] >= mean[blocks - 1] || hi[blocks - 2] == lo[blocks - 1])) {
        double w = weight[blocks - 2] + weight[blocks - 1];
        mean[blocks - 2] = (mean[blocks - 2] * weight[blocks - 2] + mean[blocks - 1] * weight[blocks - 1]) / w;
        hi[blocks - 2] = hi[blocks - 1];
        weight[blocks - 2] = w;
        blocks--;
      }
    }
    double[] knotX = new double[2 * blocks];
    double[] knotY = new double[2 * blocks];
    int knots = 0;
    for (int b = 0; b < blocks; b++) {
      knotX[knots] = lo[b];
      knotY[knots++] = mean[b];
      if (hi[b] > lo[b]) {
        knotX[knots] = hi[b];
        knotY[knots++] = mean[b];
      }
    }
    return new Isotonic(Arrays.copyOf(knotX, knots), Arrays.copyOf(knotY, knots), (int) weight[0],
        (int) weight[blocks - 1]);
  }

  /**
   * The same map with its ends bounded: a lowest block whose points were all wrong, or a highest block whose points
   * were all right, says the posterior mean under a uniform prior, 1/(n + 2) or (n + 1)/(n + 2) for its n points,
   * not 0 or 1 (PAV's blocks have strictly increasing means, so only the ends can be 0 or 1); kept no further than
   * its neighbouring block. n lines that were all right do not show that the next one will be.
   */
  public Isotonic bounded() {
    double[] b = y.clone();
    int last = b.length - 1;
    if (b[last] == 1) {
      double bound = (topCount + 1.0) / (topCount + 2.0);
      double floor = 0;
      for (int i = last; i >= 0 && y[i] == 1; i--) {
        b[i] = Double.NaN; // the top block's knots
      }
      for (int i = last; i >= 0; i--) {
        if (!Double.isNaN(b[i])) {
          floor = b[i];
          break;
        }
      }
      for (int i = last; i >= 0 && Double.isNaN(b[i]); i--) {
        b[i] = Math.max(floor, bound);
      }
    }
    if (b[0] == 0) {
      double bound = 1.0 / (bottomCount + 2.0);
      double ceiling = 1;
      for (int i = 0; i < b.length && y[i] == 0; i++) {
        b[i] = Double.NaN;
      }
      for (int i = 0; i < b.length; i++) {
        if (!Double.isNaN(b[i])) {
          ceiling = b[i];
          break;
        }
      }
      for (int i = 0; i < b.length && Double.isNaN(b[i]); i++) {
        b[i] = Math.min(ceiling, bound);
      }
    }
    return new Isotonic(x, b, bottomCount, topCount);
  }

  /**
   * The calibrated probability of score {@code s}: interpolated between the blocks, constant beyond the ends; as the
   * server computes it ({@link StackedProbe.Isotonic}).
   */
  public double apply(double s) {
    return served.apply(s);
  }

  /** The fitted function as the engine holds it. */
  public StackedProbe.Isotonic served() {
    return served;
  }

  /** {@link #apply} on every score. */
  public double[] apply(double[] s) {
    double[] p = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      p[i] = apply(s[i]);
    }
    return p;
  }

  /** The fitted function's distinct values, one per block (for tests). */
  long blocks() {
    return Arrays.stream(y).distinct().count();
  }
}
