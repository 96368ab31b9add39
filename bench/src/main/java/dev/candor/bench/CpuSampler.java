package dev.candor.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPU time a process (the server) has used, sampled every 20 ms on the client's clock, so the CPU spent inside a
 * window known only afterwards (while every stream was decoding) can be read off: on a machine shared with other
 * jobs the wall-clock throughput says how much CPU the server got, its CPU per token says what batching saved.
 * Linux only (/proc/PID/stat, at the kernel's 100 ticks a second); elsewhere every reading is NaN.
 */
final class CpuSampler implements AutoCloseable {
  private static final double TICKS = 100;
  private final ServingClient clock;
  private final Path stat;
  private final List<double[]> samples = new ArrayList<>(); // {client seconds, CPU seconds}
  private final Thread thread;
  private volatile boolean stop;

  CpuSampler(ServingClient clock, long pid) {
    this.clock = clock;
    this.stat = Path.of("/proc/" + pid + "/stat");
    sample();
    thread = Thread.ofPlatform().daemon().start(() -> {
      while (!stop) {
        sample();
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
  }

  private void sample() {
    double cpu;
    try {
      String s = Files.readString(stat);
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" "); // fields from 3 (state) on
      cpu = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS; // utime, stime
    } catch (IOException | RuntimeException e) {
      cpu = Double.NaN;
    }
    synchronized (samples) {
      samples.add(new double[] {clock.now(), cpu});
    }
  }

  /** The process's CPU seconds at client time t, interpolated between the samples around it. */
  double at(double t) {
    synchronized (samples) {
      for (int i = 1; i < samples.size(); i++) {
        double[] a = samples.get(i - 1);
        double[] b = samples.get(i);
        if (b[0] >= t) {
          return b[0] == a[0] ? b[1] : a[1] + (b[1] - a[1]) * (t - a[0]) / (b[0] - a[0]);
        }
      }
      return samples.getLast()[1];
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join();
  }
}
