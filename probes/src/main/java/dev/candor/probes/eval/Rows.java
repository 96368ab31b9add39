package dev.candor.probes.eval;

import dev.candor.probes.features.ProblemFeatures;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows a report scores, at each level (token, line, problem): every token of every problem in order, every code
 * line, every problem; each row's label and problem (the group that cross-validation and the bootstrap keep
 * together); and the named subsets of rows that the report also scores: by line type, confidently wrong lines (min
 * token probability &gt; 0.9, yet wrong), the dataset's line tags (propagated errors, counterfactual roles), and the
 * harder half by difficulty.
 */
final class Rows {
  static final String[] LEVELS = {"token", "line", "problem"};
  static final int TOKEN = 0;
  static final int LINE = 1;
  static final int PROBLEM = 2;
  static final double CONFIDENT = 0.9;
  static final double HARD = 0.5;

  final List<ProblemFeatures> problems;
  final boolean[][] labels = new boolean[3][]; // [level][rows]
  final int[][] groups = new int[3][]; // [level][rows]: the problem of each row
  final LineType[] lineTypes; // [lines]
  final List<Map<String, boolean[]>> subsets = new ArrayList<>(); // [level]: name -> mask [rows]

  Rows(List<ProblemFeatures> problems) {
    this.problems = problems;
    int tokens = problems.stream().mapToInt(ProblemFeatures::size).sum();
    int lines = problems.stream().mapToInt(p -> p.lines().length).sum();
    labels[TOKEN] = new boolean[tokens];
    labels[LINE] = new boolean[lines];
    labels[PROBLEM] = new boolean[problems.size()];
    groups[TOKEN] = new int[tokens];
    groups[LINE] = new int[lines];
    groups[PROBLEM] = new int[problems.size()];
    lineTypes = new LineType[lines];
    int t = 0;
    int l = 0;
    for (int g = 0; g < problems.size(); g++) {
      ProblemFeatures p = problems.get(g);
      for (int i = 0; i < p.size(); i++, t++) {
        labels[TOKEN][t] = p.tokenLabels()[i];
        groups[TOKEN][t] = g;
      }
      for (int k = 0; k < p.lines().length; k++, l++) {
        labels[LINE][l] = p.lineLabels()[k];
        groups[LINE][l] = g;
        lineTypes[l] = LineType.of(p.lineTexts()[k]);
      }
      labels[PROBLEM][g] = p.problemLabel();
      groups[PROBLEM][g] = g;
    }
    for (int level = 0; level < 3; level++) {
      subsets.add(new LinkedHashMap<>());
    }
    defineSubsets();
  }

  int count(int level) {
    return labels[level].length;
  }

  /** Per line: the minimum of its tokens' probabilities [lines]. */
  double[] lineMinProbability() {
    double[] out = new double[count(LINE)];
    int l = 0;
    for (ProblemFeatures p : problems) {
      for (int k = 0; k < p.lines().length; k++) {
        double min = 1;
        for (int i = p.lineStart(k); i < p.lineEnd(k); i++) {
          min = Math.min(min, Math.exp(p.tokenLogprob()[i]));
        }
        out[l++] = min;
      }
    }
    return out;
  }

  private void defineSubsets() {
    Map<String, boolean[]> lines = subsets.get(LINE);
    for (LineType type : LineType.values()) {
      boolean[] mask = new boolean[count(LINE)];
      boolean any = false;
      for (int l = 0; l < mask.length; l++) {
        mask[l] = lineTypes[l] == type;
        any |= mask[l];
      }
      if (any) {
        lines.put("type:" + type.key(), mask);
      }
    }
    double[] min = lineMinProbability();
    boolean[] confident = new boolean[count(LINE)];
    for (int l = 0; l < confident.length; l++) {
      confident[l] = min[l] > CONFIDENT && !labels[LINE][l];
    }
    lines.put("confidently_wrong", confident);
    int l = 0;
    for (ProblemFeatures p : problems) {
      for (int k = 0; k < p.lines().length; k++, l++) {
        for (String tag : p.lineTags().get(k)) {
          lines.computeIfAbsent(tag, name -> new boolean[count(LINE)])[l] = true;
        }
      }
    }
    if (problems.stream().allMatch(p -> !Double.isNaN(p.difficulty()))) {
      for (int level = 0; level < 3; level++) {
        boolean[] hard = new boolean[count(level)];
        for (int r = 0; r < hard.length; r++) {
          hard[r] = problems.get(groups[level][r]).difficulty() > HARD;
        }
        subsets.get(level).put("difficulty>" + HARD, hard);
      }
    }
  }

  /** The union of two line subsets under a new name (for example a counterfactual and its control). */
  void union(String name, String a, String b) {
    Map<String, boolean[]> lines = subsets.get(LINE);
    if (lines.containsKey(a) && lines.containsKey(b)) {
      boolean[] mask = new boolean[count(LINE)];
      for (int r = 0; r < mask.length; r++) {
        mask[r] = lines.get(a)[r] || lines.get(b)[r];
      }
      lines.put(name, mask);
    }
  }
}
