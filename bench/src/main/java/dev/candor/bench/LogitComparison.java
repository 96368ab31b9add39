package dev.candor.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Two engines' logits for the same teacher-forced sequence, position by position: the largest difference as a
 * fraction of the position's logit range (max − min of the reference's logits), and whether the argmax agrees. Greedy
 * agreement alone says little on random weights, whose logits are near-ties everywhere (16 of 48 tokens agreed on one
 * machine, 48 of 48 on another, for the same weights); the logits themselves say how close the two computations are.
 *
 * @param positions positions compared
 * @param maxRelative the largest max|Δ| / range over positions
 * @param medianRelative the median over positions of max|Δ| / range
 * @param maxAbsolute the largest max|Δ| in logit units
 * @param meanRange the mean logit range
 * @param argmaxAgree positions whose argmax is the same in both
 * @param perPosition max|Δ| / range at each position
 */
public record LogitComparison(int positions, double maxRelative, double medianRelative, double maxAbsolute,
    double meanRange, int argmaxAgree, double[] perPosition) {

  private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** Compares two engines' logits [positions][vocab] in memory; {@code reference} sets each position's range. */
  public static LogitComparison of(float[][] reference, float[][] other) {
    int positions = reference.length;
    double[] relative = new double[positions];
    double maxAbsolute = 0;
    double ranges = 0;
    int agree = 0;
    for (int p = 0; p < positions; p++) {
      float[] u = reference[p];
      float[] v = other[p];
      int argA = 0;
      int argB = 0;
      float min = Float.POSITIVE_INFINITY;
      double worst = 0;
      for (int i = 0; i < u.length; i++) {
        worst = Math.max(worst, Math.abs(u[i] - v[i]));
        argA = u[i] > u[argA] ? i : argA;
        argB = v[i] > v[argB] ? i : argB;
        min = Math.min(min, u[i]);
      }
      relative[p] = worst / Math.max(1e-30, u[argA] - min);
      maxAbsolute = Math.max(maxAbsolute, worst);
      ranges += u[argA] - min;
      agree += argA == argB ? 1 : 0;
    }
    double[] sorted = relative.clone();
    Arrays.sort(sorted);
    return new LogitComparison(positions, sorted[positions - 1], sorted[positions / 2], maxAbsolute,
        ranges / positions, agree, relative);
  }

  /** Compares two files of little-endian float32 [positions, vocab]; {@code reference} sets each position's range. */
  public static LogitComparison of(Path reference, Path other, int vocab) throws IOException {
    try (Arena arena = Arena.ofConfined();
        FileChannel a = FileChannel.open(reference, StandardOpenOption.READ);
        FileChannel b = FileChannel.open(other, StandardOpenOption.READ)) {
      if (a.size() != b.size() || a.size() % (4L * vocab) != 0) {
        throw new IllegalArgumentException(reference + " (" + a.size() + " bytes) and " + other + " (" + b.size()
            + " bytes) are not both [positions, " + vocab + "] float32");
      }
      MemorySegment x = a.map(FileChannel.MapMode.READ_ONLY, 0, a.size(), arena);
      MemorySegment y = b.map(FileChannel.MapMode.READ_ONLY, 0, b.size(), arena);
      int positions = (int) (a.size() / (4L * vocab));
      double[] relative = new double[positions];
      double maxAbsolute = 0;
      double ranges = 0;
      int agree = 0;
      for (int p = 0; p < positions; p++) {
        long base = (long) p * vocab;
        float max = Float.NEGATIVE_INFINITY;
        float min = Float.POSITIVE_INFINITY;
        int argA = 0;
        int argB = 0;
        double worst = 0;
        for (int i = 0; i < vocab; i++) {
          float u = x.getAtIndex(LE, base + i);
          float v = y.getAtIndex(LE, base + i);
          worst = Math.max(worst, Math.abs(u - v));
          if (u > max) {
            max = u;
            argA = i;
          }
          min = Math.min(min, u);
          if (v > y.getAtIndex(LE, base + argB)) {
            argB = i;
          }
        }
        relative[p] = worst / Math.max(1e-30, max - min);
        maxAbsolute = Math.max(maxAbsolute, worst);
        ranges += max - min;
        agree += argA == argB ? 1 : 0;
      }
      double[] sorted = relative.clone();
      Arrays.sort(sorted);
      return new LogitComparison(positions, sorted[positions - 1], sorted[positions / 2], maxAbsolute,
          ranges / positions, agree, relative);
    }
  }
}
