package dev.candor.probes.eval;

/**
 * One method's p(correct) for every row of a {@link Rows}, per level: {@code raw}, the method's own probability
 * (null for a fitted model, which has no unscaled form), and {@code scaled}, Platt-scaled or fitted on problems it
 * never scores. A level the method does not cover is null in both.
 *
 * @param method the report's name for it
 * @param raw [level][rows] or null entries
 * @param scaled [level][rows] or null entries
 */
record Scored(String method, double[][] raw, double[][] scaled) {
  static Scored of(String method) {
    return new Scored(method, new double[3][], new double[3][]);
  }

  Scored renamed(String name) {
    return new Scored(name, raw, scaled);
  }
}
