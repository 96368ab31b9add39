package dev.candor.probes.eval;

import dev.candor.probes.features.ProblemFeatures;
import dev.candor.probes.metrics.LogisticRegression;
import dev.candor.probes.metrics.Platt;
import java.util.List;

/**
 * The methods the probe must beat, all computed from what a deployer sees without model internals beyond the
 * output distribution:
 *
 * <ul>
 *   <li>{@code token_prob}: the target's raw probability of each token; a line or problem by the minimum of its
 *       tokens ({@code token_prob_mean}: by the mean).
 *   <li>{@code multisample}: agreement with 5 samples at temperature 0.8: per token the fraction of samples whose
 *       diff keeps it, per line the fraction that hold the whole line after alignment, per problem the fraction
 *       with exactly the same lines.
 *   <li>{@code line_type}: the line's {@link LineType} alone (a fitted lookup table, line level).
 *   <li>{@code type_token_prob}: line type and the line's minimum token probability, a Platt scaling per type.
 *   <li>{@code content}: a logistic regression over cheap features at each level: line type, minimum and mean
 *       token probability, entropy, position, length.
 * </ul>
 *
 * The first two have raw probabilities (Platt-scaled in the report like the probe); the others are fitted models.
 */
final class Baselines {
  static final double LAMBDA = 1.0;

  private Baselines() {}

  /** What kind of baseline a name is. */
  enum Fitted {
    LINE_TYPE("line_type"), TYPE_TOKEN_PROB("type_token_prob"), CONTENT("content");

    final String key;

    Fitted(String key) {
      this.key = key;
    }
  }

  /** Raw probabilities of token_prob (min), token_prob_mean and multisample (null when there are no samples). */
  static Scored fixed(String method, Rows rows) {
    Scored s = Scored.of(method);
    double[] tokens = new double[rows.count(Rows.TOKEN)];
    double[] lines = new double[rows.count(Rows.LINE)];
    double[] problems = new double[rows.count(Rows.PROBLEM)];
    int t = 0;
    int l = 0;
    for (int g = 0; g < rows.problems.size(); g++) {
      ProblemFeatures p = rows.problems.get(g);
      double[] prob = new double[p.size()];
      for (int i = 0; i < prob.length; i++) {
        prob[i] = Math.exp(p.tokenLogprob()[i]);
      }
      switch (method) {
        case "token_prob", "token_prob_mean" -> {
          boolean min = method.equals("token_prob");
          System.arraycopy(prob, 0, tokens, t, prob.length);
          for (int k = 0; k < p.lines().length; k++) {
            lines[l + k] = min ? min(prob, p.lineStart(k), p.lineEnd(k)) : mean(prob, p.lineStart(k), p.lineEnd(k));
          }
          problems[g] = min ? min(prob, 0, prob.length) : mean(prob, 0, prob.length);
        }
        case "multisample" -> {
          if (p.samples() == null) {
            return null;
          }
          System.arraycopy(p.samples().tokenAgreement(), 0, tokens, t, p.size());
          System.arraycopy(p.samples().lineAgreement(), 0, lines, l, p.lines().length);
          problems[g] = p.samples().answerAgreement();
        }
        default -> throw new IllegalArgumentException("no fixed baseline '" + method + "'");
      }
      t += p.size();
      l += p.lines().length;
    }
    s.raw()[Rows.TOKEN] = method.equals("token_prob_mean") ? null : tokens;
    s.raw()[Rows.LINE] = lines;
    s.raw()[Rows.PROBLEM] = problems;
    return s;
  }

  /** The feature rows of a fitted baseline at a level [rows][features]; null when it does not cover the level. */
  static double[][] features(Fitted kind, Rows rows, int level) {
    if (kind != Fitted.CONTENT && level != Rows.LINE) {
      return null;
    }
    return switch (level) {
      case Rows.TOKEN -> tokenFeatures(rows);
      case Rows.LINE -> lineFeatures(kind, rows);
      default -> problemFeatures(rows);
    };
  }

  /** Fits a baseline on {@code train}'s rows at a level and predicts {@code test}'s. */
  static double[] fitAndPredict(double[][] trainX, boolean[] trainY, double[][] testX) {
    return LogisticRegression.fit(trainX, trainY, LAMBDA).predict(testX);
  }

  private static double[][] lineFeatures(Fitted kind, Rows rows) {
    double[][] x = new double[rows.count(Rows.LINE)][];
    int l = 0;
    for (ProblemFeatures p : rows.problems) {
      int lineCount = p.lines().length;
      for (int k = 0; k < lineCount; k++, l++) {
        LineType type = rows.lineTypes[l];
        double[] prob = probabilities(p, p.lineStart(k), p.lineEnd(k));
        double minLogit = Platt.logit(min(prob, 0, prob.length));
        double[] oneHot = new double[LineType.values().length];
        double[] slope = new double[LineType.values().length];
        oneHot[type.ordinal()] = 1;
        slope[type.ordinal()] = minLogit;
        x[l] = switch (kind) {
          case LINE_TYPE -> oneHot;
          case TYPE_TOKEN_PROB -> concat(oneHot, slope);
          case CONTENT -> concat(oneHot, slope, new double[] {minLogit, Platt.logit(mean(prob, 0, prob.length)),
              maxEntropy(p, p.lineStart(k), p.lineEnd(k)), meanEntropy(p, p.lineStart(k), p.lineEnd(k)),
              lineCount > 1 ? (double) k / (lineCount - 1) : 0, k, Math.log1p(prob.length)});
        };
      }
    }
    return x;
  }

  private static double[][] tokenFeatures(Rows rows) {
    double[][] x = new double[rows.count(Rows.TOKEN)][];
    int t = 0;
    int l = 0;
    for (ProblemFeatures p : rows.problems) {
      double[][] perToken = new double[p.size()][];
      double[] none = new double[LineType.values().length + 3];
      for (int i = 0; i < p.size(); i++) {
        perToken[i] = none; // a token on a blank line: no line to describe
      }
      for (int k = 0; k < p.lines().length; k++, l++) {
        double[] lineProb = probabilities(p, p.lineStart(k), p.lineEnd(k));
        double lineMin = Platt.logit(min(lineProb, 0, lineProb.length));
        for (int i = p.lineStart(k); i < p.lineEnd(k); i++) {
          double[] f = new double[LineType.values().length + 3];
          f[rows.lineTypes[l].ordinal()] = 1;
          f[LineType.values().length] = (double) (i - p.lineStart(k)) / Math.max(1, p.lineEnd(k) - p.lineStart(k) - 1);
          f[LineType.values().length + 1] = p.lines().length > 1 ? (double) k / (p.lines().length - 1) : 0;
          f[LineType.values().length + 2] = lineMin;
          perToken[i] = f;
        }
      }
      for (int i = 0; i < p.size(); i++, t++) {
        x[t] = concat(new double[] {Platt.logit(Math.exp(p.tokenLogprob()[i])), p.tokenEntropy()[i]}, perToken[i]);
      }
    }
    return x;
  }

  private static double[][] problemFeatures(Rows rows) {
    double[][] x = new double[rows.count(Rows.PROBLEM)][];
    int l = 0;
    for (int g = 0; g < rows.problems.size(); g++) {
      ProblemFeatures p = rows.problems.get(g);
      double[] prob = probabilities(p, 0, p.size());
      int operations = 0;
      int doubtful = 0;
      for (int k = 0; k < p.lines().length; k++, l++) {
        operations += rows.lineTypes[l] == LineType.OPERATION ? 1 : 0;
        doubtful += min(prob, p.lineStart(k), p.lineEnd(k)) < Rows.CONFIDENT ? 1 : 0;
      }
      x[g] = new double[] {Platt.logit(min(prob, 0, prob.length)), Platt.logit(mean(prob, 0, prob.length)),
          maxEntropy(p, 0, p.size()), meanEntropy(p, 0, p.size()), p.lines().length, operations, doubtful,
          Math.log1p(p.size())};
    }
    return x;
  }

  private static double[] probabilities(ProblemFeatures p, int from, int to) {
    double[] out = new double[to - from];
    for (int i = from; i < to; i++) {
      out[i - from] = Math.exp(p.tokenLogprob()[i]);
    }
    return out;
  }

  static double min(double[] values, int from, int to) {
    double m = 1;
    for (int i = from; i < to; i++) {
      m = Math.min(m, values[i]);
    }
    return m;
  }

  static double mean(double[] values, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += values[i];
    }
    return to > from ? Math.min(1, Math.max(0, s / (to - from))) : 0;
  }

  private static double maxEntropy(ProblemFeatures p, int from, int to) {
    double m = 0;
    for (int i = from; i < to; i++) {
      m = Math.max(m, p.tokenEntropy()[i]);
    }
    return m;
  }

  private static double meanEntropy(ProblemFeatures p, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += p.tokenEntropy()[i];
    }
    return to > from ? s / (to - from) : 0;
  }

  private static double[] concat(double[]... parts) {
    int n = 0;
    for (double[] part : parts) {
      n += part.length;
    }
    double[] out = new double[n];
    int at = 0;
    for (double[] part : parts) {
      System.arraycopy(part, 0, out, at, part.length);
      at += part.length;
    }
    return out;
  }

  static List<String> fixedNames() {
    return List.of("token_prob", "token_prob_mean", "multisample");
  }
}
