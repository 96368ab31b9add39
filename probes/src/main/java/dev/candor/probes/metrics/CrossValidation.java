package dev.candor.probes.metrics;

import java.util.List;
import java.util.function.Function;
import java.util.function.ToDoubleBiFunction;

import java.util.SplittableRandom;

/**
 * k-fold cross-validation by group. A group is one problem: every token and line of a problem goes to the same fold,
 * so a probe (or a Platt scaling) is never evaluated on a problem it saw in training; splitting the tokens of one
 * problem across folds would leak its code into both sides. The assignment is a pure function of (groups, k, seed),
 * so every method in a report is evaluated on the same folds.
 */
public final class CrossValidation {
  private CrossValidation() {}

  /**
   * The fold of each group [groups]: group ids shuffled by Fisher–Yates with {@code SplittableRandom(seed)}, then
   * dealt round-robin, so fold sizes differ by at most 1. Needs 2 ≤ k ≤ groups, so that no fold is empty.
   */
  public static int[] folds(int groups, int k, long seed) {
    if (k < 2 || k > groups) {
      throw new IllegalArgumentException("need 2 <= k <= groups, got k = " + k + " for " + groups + " groups");
    }
    int[] order = new int[groups];
    for (int g = 0; g < groups; g++) {
      order[g] = g;
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = groups - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    int[] foldOfGroup = new int[groups];
    for (int position = 0; position < groups; position++) {
      foldOfGroup[order[position]] = position % k;
    }
    return foldOfGroup;
  }

  /** The fold of each row [rows], from the group of each row [rows] and the fold of each group [groups]. */
  public static int[] rowFolds(int[] groupOfRow, int[] foldOfGroup) {
    int[] foldOfRow = new int[groupOfRow.length];
    for (int r = 0; r < groupOfRow.length; r++) {
      foldOfRow[r] = foldOfGroup[groupOfRow[r]];
    }
    return foldOfRow;
  }

  /** Whether each row (or group) trains for {@code fold}: true where its fold is another one. */
  public static boolean[] trainMask(int[] foldOf, int fold) {
    boolean[] mask = new boolean[foldOf.length];
    for (int r = 0; r < foldOf.length; r++) {
      mask[r] = foldOf[r] != fold;
    }
    return mask;
  }

  /** Whether each row (or group) is held out for {@code fold}: true where its fold is this one. */
  public static boolean[] testMask(int[] foldOf, int fold) {
    boolean[] mask = new boolean[foldOf.length];
    for (int r = 0; r < foldOf.length; r++) {
      mask[r] = foldOf[r] == fold;
    }
    return mask;
  }

  /** The entries of {@code values} where {@code mask} is true, in order. */
  public static double[] select(double[] values, boolean[] mask) {
    double[] out = new double[count(mask)];
    for (int r = 0, o = 0; r < values.length; r++) {
      if (mask[r]) {
        out[o++] = values[r];
      }
    }
    return out;
  }

  /** The entries of {@code values} where {@code mask} is true, in order. */
  public static boolean[] select(boolean[] values, boolean[] mask) {
    boolean[] out = new boolean[count(mask)];
    for (int r = 0, o = 0; r < values.length; r++) {
      if (mask[r]) {
        out[o++] = values[r];
      }
    }
    return out;
  }

  /**
   * Cross-fitted Platt scaling: the calibrated probability of every row [rows], where row r's scaling was fitted only
   * on rows of the other folds, never on its own. {@code scores} [rows] are logits (or {@link Platt#logit} of
   * probabilities), {@code labels} [rows], {@code groupOfRow} [rows] and {@code foldOfGroup} [groups] as from
   * {@link #folds}. Fails if a fold holding rows has no rows outside it to fit on.
   */
  public static double[] crossFit(int[] groupOfRow, int[] foldOfGroup, double[] scores, boolean[] labels) {
    if (groupOfRow.length != scores.length || scores.length != labels.length) {
      throw new IllegalArgumentException("rows disagree: " + groupOfRow.length + " group ids, " + scores.length
          + " scores, " + labels.length + " labels");
    }
    return crossFit(groupOfRow, foldOfGroup, train -> Platt.fit(select(scores, train), select(labels, train)),
        (fit, r) -> fit.apply(scores[r]), null);
  }

  /**
   * Out-of-fold predictions of any fitted model: row r [rows] is predicted by the model {@code fit} made from the
   * rows of the other folds only (given as a train mask [rows]). A fold without rows is skipped, unless
   * {@code models} asks for every fold's model (then added in fold order); a fold holding every row fails.
   */
  public static <M> double[] crossFit(int[] groupOfRow, int[] foldOfGroup, Function<boolean[], M> fit,
      ToDoubleBiFunction<M, Integer> predict, List<M> models) {
    int[] foldOfRow = rowFolds(groupOfRow, foldOfGroup);
    int k = 0;
    for (int fold : foldOfGroup) {
      k = Math.max(k, fold + 1);
    }
    double[] out = new double[groupOfRow.length];
    for (int fold = 0; fold < k; fold++) {
      boolean[] test = testMask(foldOfRow, fold);
      if (count(test) == 0 && models == null) {
        continue;
      }
      boolean[] train = trainMask(foldOfRow, fold);
      if (count(train) == 0) {
        throw new IllegalArgumentException("fold " + fold + " holds every row: nothing to fit its scaling on");
      }
      M model = fit.apply(train);
      if (models != null) {
        models.add(model);
      }
      for (int r = 0; r < out.length; r++) {
        if (test[r]) {
          out[r] = predict.applyAsDouble(model, r);
        }
      }
    }
    return out;
  }

  private static int count(boolean[] mask) {
    int n = 0;
    for (boolean b : mask) {
      if (b) {
        n++;
      }
    }
    return n;
  }
}
