package dev.candor.probes.metrics;

import dev.candor.engine.confidence.StackedProbe;

/**
 * L2-regularised logistic regression, fitted by Newton–Raphson (iteratively reweighted least squares): the content
 * baselines' model, a calibrated p(correct) from a handful of cheap features. Features are standardised with the
 * training rows' mean and deviation before fitting (so one penalty suits them all) and the intercept is not
 * penalised. Small problems only: the Hessian is d × d and solved by Cholesky, d up to a few dozen.
 */
public final class LogisticRegression {
  private static final int MAX_ITERATIONS = 50;

  private final double[] mean; // [d]
  private final double[] scale; // [d]
  private final double[] beta; // [d + 1], the intercept last

  private LogisticRegression(double[] mean, double[] scale, double[] beta) {
    this.mean = mean;
    this.scale = scale;
    this.beta = beta;
  }

  /** Fits on rows {@code x} [n][d] with labels {@code y} [n] and penalty {@code lambda} on the standardised weights. */
  public static LogisticRegression fit(double[][] x, boolean[] y, double lambda) {
    int n = x.length;
    if (n == 0 || n != y.length) {
      throw new IllegalArgumentException(n + " rows and " + y.length + " labels");
    }
    int d = x[0].length;
    double[] mean = new double[d];
    double[] scale = new double[d];
    for (double[] row : x) {
      for (int j = 0; j < d; j++) {
        if (!Double.isFinite(row[j])) {
          throw new IllegalArgumentException("a feature is " + row[j]);
        }
        mean[j] += row[j] / n;
      }
    }
    for (double[] row : x) {
      for (int j = 0; j < d; j++) {
        scale[j] += (row[j] - mean[j]) * (row[j] - mean[j]) / n;
      }
    }
    for (int j = 0; j < d; j++) {
      scale[j] = Math.sqrt(scale[j]) + 1e-9; // a constant feature stays 0 after standardising
    }
    double[] beta = new double[d + 1];
    double[] z = new double[d + 1];
    for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
      double[] gradient = new double[d + 1];
      double[][] hessian = new double[d + 1][d + 1];
      for (int i = 0; i < n; i++) {
        standardise(x[i], mean, scale, z);
        double p = Platt.sigmoid(dot(beta, z));
        double w = Math.max(p * (1 - p), 1e-12);
        double r = p - (y[i] ? 1 : 0);
        for (int a = 0; a <= d; a++) {
          gradient[a] += r * z[a];
          for (int b = 0; b <= a; b++) {
            hessian[a][b] += w * z[a] * z[b];
          }
        }
      }
      for (int a = 0; a < d; a++) {
        gradient[a] += lambda * beta[a];
        hessian[a][a] += lambda;
      }
      hessian[d][d] += 1e-9;
      double[] step = solve(hessian, gradient);
      // damped Newton: halve the step until the penalised negative log-likelihood does not rise
      double before = objective(x, y, mean, scale, beta, lambda);
      double[] next = new double[d + 1];
      double size = 1;
      for (int halvings = 0; halvings < 30; halvings++, size /= 2) {
        for (int a = 0; a <= d; a++) {
          next[a] = beta[a] - size * step[a];
        }
        if (objective(x, y, mean, scale, next, lambda) <= before + 1e-12) {
          break;
        }
      }
      double change = 0;
      for (int a = 0; a <= d; a++) {
        change = Math.max(change, Math.abs(next[a] - beta[a]));
        beta[a] = next[a];
      }
      if (change < 1e-9) {
        break;
      }
    }
    return new LogisticRegression(mean, scale, beta);
  }

  private static double objective(double[][] x, boolean[] y, double[] mean, double[] scale, double[] beta,
      double lambda) {
    double[] z = new double[beta.length];
    double sum = 0;
    for (int i = 0; i < x.length; i++) {
      standardise(x[i], mean, scale, z);
      double f = dot(beta, z);
      sum += Math.max(f, 0) + Math.log1p(Math.exp(-Math.abs(f))) - (y[i] ? f : 0);
    }
    for (int a = 0; a < mean.length; a++) {
      sum += 0.5 * lambda * beta[a] * beta[a];
    }
    return sum;
  }

  /** p(y = true) of one row [d], as the server computes it ({@link StackedProbe.Logistic}). */
  public double predict(double[] row) {
    return served().probability(row);
  }

  /** The fitted regression as the engine holds it. */
  public StackedProbe.Logistic served() {
    return new StackedProbe.Logistic(mean.clone(), scale.clone(), beta.clone());
  }

  /** {@link #predict} of every row [n][d]. */
  public double[] predict(double[][] rows) {
    double[] p = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      p[i] = predict(rows[i]);
    }
    return p;
  }

  private static void standardise(double[] row, double[] mean, double[] scale, double[] z) {
    for (int j = 0; j < mean.length; j++) {
      z[j] = (row[j] - mean[j]) / scale[j];
    }
    z[mean.length] = 1;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  /** Solves H s = g for symmetric positive definite H, given by its lower triangle, by Cholesky. */
  private static double[] solve(double[][] h, double[] g) {
    int m = g.length;
    double[][] l = new double[m][m];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j <= i; j++) {
        double sum = h[i][j];
        for (int k = 0; k < j; k++) {
          sum -= l[i][k] * l[j][k];
        }
        l[i][j] = i == j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / l[j][j];
      }
    }
    double[] v = new double[m];
    for (int i = 0; i < m; i++) {
      double sum = g[i];
      for (int k = 0; k < i; k++) {
        sum -= l[i][k] * v[k];
      }
      v[i] = sum / l[i][i];
    }
    double[] s = new double[m];
    for (int i = m - 1; i >= 0; i--) {
      double sum = v[i];
      for (int k = i + 1; k < m; k++) {
        sum -= l[k][i] * s[k];
      }
      s[i] = sum / l[i][i];
    }
    return s;
  }
}
