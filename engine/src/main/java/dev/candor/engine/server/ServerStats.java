package dev.candor.engine.server;

import java.util.concurrent.atomic.AtomicLong;

/** Counters the server keeps about itself (shown by /health). */
final class ServerStats {
  final AtomicLong requests = new AtomicLong();
  final AtomicLong generations = new AtomicLong();
  final AtomicLong cancelled = new AtomicLong();
  final AtomicLong rejected = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  final AtomicLong tokens = new AtomicLong();
}
