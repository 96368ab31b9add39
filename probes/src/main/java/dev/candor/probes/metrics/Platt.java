package dev.candor.probes.metrics;

import dev.candor.engine.confidence.StackedProbe;

/**
 * Platt scaling (Platt 1999, "Probabilistic Outputs for Support Vector Machines"): p = sigmoid(a·s + b), a
 * one-feature logistic regression that recalibrates a score s without changing its ranking (for a &gt; 0). Gros &amp;
 * Devanbu report every method both raw and Platt-scaled; s is the probe's logit, or for a probability-valued baseline
 * {@link #logit} of its probability.
 *
 * <p>Fitted by maximum likelihood with Newton–Raphson on (a, b) and a backtracking line search, as in Lin, Lin &amp;
 * Weng (2007, "A note on Platt's probabilistic outputs for support vector machines"). The targets are Platt's
 * smoothed ones, t₊ = (N₊ + 1)/(N₊ + 2) for correct items and t₋ = 1/(N₋ + 2) for incorrect ones, which keep the
 * fit from becoming infinitely confident on small samples; a tiny L2 penalty λ(a² + b²) keeps the Hessian invertible
 * when all scores are equal.
 */
public final class Platt {
  /** Scores are clipped to [CLIP, 1 − CLIP] before {@link #logit}, so a probability of 0 or 1 maps to ±13.8. */
  public static final double CLIP = StackedProbe.CLIP;

  private static final double PENALTY = 1e-6; // λ
  private static final int MAX_ITERATIONS = 100;
  private static final double MIN_STEP = 1e-10;
  private static final double ARMIJO = 1e-4; // sufficient-decrease constant of the line search

  private Platt() {}

  /** A fitted scaling, p = sigmoid(a·s + b). */
  public record Fit(double a, double b) {
    /** The calibrated probability of score {@code s}. */
    public double apply(double s) {
      return sigmoid(a * s + b);
    }

    /** {@link #apply} on every score. */
    public double[] apply(double[] s) {
      double[] p = new double[s.length];
      for (int i = 0; i < s.length; i++) {
        p[i] = apply(s[i]);
      }
      return p;
    }
  }

  /** log(p / (1 − p)) of p clipped to [1e-6, 1 − 1e-6]: the score to Platt-scale a probability-valued method by. */
  public static double logit(double p) {
    return StackedProbe.logit(p);
  }

  /** 1 / (1 + e^(−x)), without overflow for large |x|. */
  public static double sigmoid(double x) {
    if (x >= 0) {
      return 1 / (1 + Math.exp(-x));
    }
    double e = Math.exp(x);
    return e / (1 + e);
  }

  /**
   * Fits (a, b) on scores {@code s} [n] and labels {@code y} [n]. When y has one class only, returns a = 0 and
   * b = logit of that class's smoothed target, the maximum-likelihood constant.
   */
  public static Fit fit(double[] s, boolean[] y) {
    if (s.length != y.length) {
      throw new IllegalArgumentException(s.length + " scores but " + y.length + " labels");
    }
    if (s.length == 0) {
      throw new IllegalArgumentException("no scores to fit on");
    }
    int positives = 0;
    for (int i = 0; i < s.length; i++) {
      if (!Double.isFinite(s[i])) {
        throw new IllegalArgumentException("score " + i + " is " + s[i]);
      }
      if (y[i]) {
        positives++;
      }
    }
    int negatives = s.length - positives;
    double highTarget = (positives + 1.0) / (positives + 2.0);
    double lowTarget = 1.0 / (negatives + 2.0);
    if (negatives == 0) {
      return new Fit(0, logitOf(highTarget));
    }
    if (positives == 0) {
      return new Fit(0, logitOf(lowTarget));
    }
    double[] t = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      t[i] = y[i] ? highTarget : lowTarget;
    }

    // Newton–Raphson from Platt's start: a = 0, b = log((N₊ + 1)/(N₋ + 1))
    double a = 0;
    double b = Math.log((positives + 1.0) / (negatives + 1.0));
    double objective = objective(s, t, a, b);
    for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
      // gradient g and Hessian H of the penalised negative log-likelihood
      double ga = 2 * PENALTY * a;
      double gb = 2 * PENALTY * b;
      double haa = 2 * PENALTY;
      double hab = 0;
      double hbb = 2 * PENALTY;
      for (int i = 0; i < s.length; i++) {
        double q = sigmoid(a * s[i] + b);
        double residual = q - t[i];
        double w = q * (1 - q);
        ga += residual * s[i];
        gb += residual;
        haa += w * s[i] * s[i];
        hab += w * s[i];
        hbb += w;
      }
      if (Math.max(Math.abs(ga), Math.abs(gb)) < 1e-10 * s.length) {
        break;
      }
      // direction d = −H⁻¹ g (2×2 inverse by the adjugate)
      double det = haa * hbb - hab * hab;
      double da = -(hbb * ga - hab * gb) / det;
      double db = -(-hab * ga + haa * gb) / det;
      double slope = ga * da + gb * db; // < 0: H is positive definite
      double step = 1;
      while (step >= MIN_STEP) {
        double candidate = objective(s, t, a + step * da, b + step * db);
        if (candidate <= objective + ARMIJO * step * slope) {
          a += step * da;
          b += step * db;
          objective = candidate;
          break;
        }
        step /= 2;
      }
      if (step < MIN_STEP) {
        break; // no decrease possible in floating point: at the optimum to machine precision
      }
    }
    return new Fit(a, b);
  }

  /** Σ −[t log q + (1 − t) log(1 − q)] + λ(a² + b²), with q = sigmoid(f), via log(1 + e^f) − t·f (stable). */
  private static double objective(double[] s, double[] t, double a, double b) {
    double sum = PENALTY * (a * a + b * b);
    for (int i = 0; i < s.length; i++) {
      double f = a * s[i] + b;
      double softplus = Math.max(f, 0) + Math.log1p(Math.exp(-Math.abs(f)));
      sum += softplus - t[i] * f;
    }
    return sum;
  }

  private static double logitOf(double p) {
    return Math.log(p / (1 - p));
  }
}
