package dev.candor.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much of the machine other processes used while a case ran: every CPU's busy time from /proc/stat, less this
 * JVM's and its waited-for children's (the case's JVM, the peer) from /proc/self/stat, over all CPUs' time. On a
 * machine shared with other jobs a ratio of two speeds measured minutes apart means little, so a case above
 * {@link EndToEnd#SHARED_CPU} is marked invalid. Linux only; elsewhere it reports NaN and nothing is marked.
 */
final class CpuShare {
  private final long[] start;

  private CpuShare(long[] start) {
    this.start = start;
  }

  static CpuShare start() {
    return new CpuShare(sample());
  }

  /** Others' share of all CPU time since {@link #start}: 0 on an idle machine, 1 if others held every core. */
  double othersFraction() {
    long[] end = sample();
    if (start == null || end == null || end[0] == start[0]) {
      return Double.NaN;
    }
    double others = (end[1] - start[1]) - (end[2] - start[2]);
    return Math.max(0, others / (end[0] - start[0]));
  }

  /** {all CPUs' jiffies, their busy jiffies, this process's and its children's jiffies}, or null off Linux. */
  private static long[] sample() {
    try {
      String[] cpu = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < Math.min(cpu.length, 9); i++) { // user nice system idle iowait irq softirq steal
        total += Long.parseLong(cpu[i]);
      }
      long busy = total - Long.parseLong(cpu[4]) - Long.parseLong(cpu[5]);
      String stat = Files.readString(Path.of("/proc/self/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // fields from 3 (state) on
      long own = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
      return new long[] {total, busy, own};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
