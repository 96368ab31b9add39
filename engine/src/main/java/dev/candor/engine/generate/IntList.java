package dev.candor.engine.generate;

import java.util.Arrays;

/** A growable int array: the committed tokens of a sequence. */
final class IntList {
  private int[] values;
  private int size;

  IntList(int[] initial) {
    values = Arrays.copyOf(initial, Math.max(16, initial.length * 2));
    size = initial.length;
  }

  void add(int value) {
    if (size == values.length) {
      values = Arrays.copyOf(values, size * 2);
    }
    values[size++] = value;
  }

  int size() {
    return size;
  }

  int get(int i) {
    return values[i];
  }

  int[] slice(int from, int to) {
    return Arrays.copyOfRange(values, from, to);
  }
}
