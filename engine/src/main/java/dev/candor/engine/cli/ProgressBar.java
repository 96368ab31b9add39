package dev.candor.engine.cli;

import java.io.PrintStream;

/** A one-line progress bar for long runs (training, feature extraction): done/total, rate, elapsed, ETA, a note. */
public final class ProgressBar {
  private static final int WIDTH = 30;

  private final PrintStream out;
  private final String label;
  private final long total;
  private final long start = System.nanoTime();
  private long lastDraw;

  public ProgressBar(PrintStream out, String label, long total) {
    this.out = out;
    this.label = label;
    this.total = total;
  }

  /** Redraws (at most ten times a second, and always at the end) with {@code done} of total finished. */
  public void update(long done, String note) {
    long now = System.nanoTime();
    if (now - lastDraw < 100_000_000L && done < total) {
      return;
    }
    lastDraw = now;
    double elapsed = (now - start) / 1e9;
    int filled = (int) Math.round(WIDTH * (double) done / Math.max(1, total));
    double eta = done == 0 ? 0 : elapsed / done * (total - done);
    out.printf("\r%s [%s%s] %3d%% %d/%d  elapsed %s  ETA %s  %s ", label, "#".repeat(filled),
        ".".repeat(WIDTH - filled), 100 * done / Math.max(1, total), done, total, clock(elapsed), clock(eta), note);
    if (done >= total) {
      out.println();
    }
    out.flush();
  }

  public double elapsedSeconds() {
    return (System.nanoTime() - start) / 1e9;
  }

  public static String clock(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
  }
}
