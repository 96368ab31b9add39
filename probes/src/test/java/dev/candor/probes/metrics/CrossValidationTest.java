package dev.candor.probes.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Fold assignment by group is deterministic and balanced, and cross-fitting never scales a row by its own fold. */
class CrossValidationTest {
  @Test
  void sameSeedSameFolds() {
    assertArrayEquals(CrossValidation.folds(50, 5, 42), CrossValidation.folds(50, 5, 42));
  }

  @Test
  void differentSeedDifferentFolds() {
    assertFalse(Arrays.equals(CrossValidation.folds(50, 5, 42), CrossValidation.folds(50, 5, 43)));
  }

  @Test
  void everyGroupInOneFoldAndFoldsBalanced() {
    int groups = 23;
    int k = 5;
    int[] folds = CrossValidation.folds(groups, k, 7);
    assertEquals(groups, folds.length); // one fold per group, so each group is in exactly one
    int[] sizes = new int[k];
    for (int fold : folds) {
      assertTrue(fold >= 0 && fold < k, "fold " + fold);
      sizes[fold]++;
    }
    int[] sorted = sizes.clone();
    Arrays.sort(sorted);
    assertArrayEquals(new int[] {4, 4, 5, 5, 5}, sorted); // 23 = 5 + 5 + 5 + 4 + 4
  }

  @Test
  void groupsAreShuffledNotDealtById() {
    int[] folds = CrossValidation.folds(100, 4, 1);
    int byId = 0;
    for (int g = 0; g < folds.length; g++) {
      byId += folds[g] == g % 4 ? 1 : 0;
    }
    assertTrue(byId < 50, byId + " of 100 groups where round-robin by id would put them");
  }

  @Test
  void impossibleFoldCountsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> CrossValidation.folds(10, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> CrossValidation.folds(3, 4, 0));
  }

  @Test
  void masksFollowTheRowsGroups() {
    int[] groupOfRow = {0, 0, 1, 2, 2, 2};
    int[] foldOfGroup = {1, 0, 1};
    int[] foldOfRow = CrossValidation.rowFolds(groupOfRow, foldOfGroup);
    assertArrayEquals(new int[] {1, 1, 0, 1, 1, 1}, foldOfRow);
    assertArrayEquals(new boolean[] {true, true, false, true, true, true}, CrossValidation.trainMask(foldOfRow, 0));
    assertArrayEquals(new boolean[] {false, false, true, false, false, false}, CrossValidation.testMask(foldOfRow, 0));
    double[] values = {1, 2, 3, 4, 5, 6};
    assertArrayEquals(new double[] {3}, CrossValidation.select(values, CrossValidation.testMask(foldOfRow, 0)));
  }

  @Test
  void crossFitNeverUsesTheRowsOwnFold() {
    // three groups, one per fold. In fold 0 a high score means correct; in folds 1 and 2 it means wrong. A scaling
    // fitted with fold 0 included would follow fold 0's direction there; fitted only on folds 1 and 2 it is reversed.
    int[] foldOfGroup = {0, 1, 2};
    double[] scores = new double[60];
    boolean[] labels = new boolean[60];
    int[] groupOfRow = new int[60];
    for (int r = 0; r < 60; r++) {
      groupOfRow[r] = r / 20;
      scores[r] = (r % 20) / 2.0 - 5; // −5 .. 4.5 in each group
      boolean high = scores[r] > 0;
      labels[r] = groupOfRow[r] == 0 ? high : !high;
    }
    double[] scaled = CrossValidation.crossFit(groupOfRow, foldOfGroup, scores, labels);

    int[] foldOfRow = CrossValidation.rowFolds(groupOfRow, foldOfGroup);
    for (int fold = 0; fold < 3; fold++) {
      boolean[] train = CrossValidation.trainMask(foldOfRow, fold);
      Platt.Fit expected = Platt.fit(CrossValidation.select(scores, train), CrossValidation.select(labels, train));
      for (int r = 0; r < 60; r++) {
        if (foldOfRow[r] == fold) {
          assertEquals(expected.apply(scores[r]), scaled[r], 1e-12, "row " + r);
        }
      }
    }
    // visibly: fold 0's highest score is correct, yet it is scaled by folds 1 and 2, where high means wrong
    assertTrue(scaled[19] < 0.2, "row 19: " + scaled[19]);
    assertTrue(scaled[0] > 0.8, "row 0: " + scaled[0]);
    // and a fit on everything (fold 0 included) would say something else for the same row
    Platt.Fit all = Platt.fit(scores, labels);
    assertTrue(Math.abs(all.apply(scores[19]) - scaled[19]) > 0.05);
  }

  @Test
  void crossFitNeedsRowsOutsideEachFold() {
    int[] foldOfGroup = {0, 1};
    int[] groupOfRow = {0, 0, 0}; // group 1 has no rows, so fold 0 has nothing to fit on
    double[] scores = {1, 2, 3};
    boolean[] labels = {true, false, true};
    assertThrows(IllegalArgumentException.class, () -> CrossValidation.crossFit(groupOfRow, foldOfGroup, scores, labels));
  }
}
