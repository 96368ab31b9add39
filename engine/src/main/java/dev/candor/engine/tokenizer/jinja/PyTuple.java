package dev.candor.engine.tokenizer.jinja;

import java.util.AbstractList;
import java.util.List;

/** A Python tuple: an immutable list that prints with parentheses and never equals a list. */
final class PyTuple extends AbstractList<Object> {
  static final PyTuple EMPTY = new PyTuple(List.of());

  private final List<Object> items;

  PyTuple(List<?> items) {
    this.items = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(items));
  }

  static PyTuple of(Object... items) {
    return new PyTuple(java.util.Arrays.asList(items));
  }

  @Override
  public Object get(int index) {
    return items.get(index);
  }

  @Override
  public int size() {
    return items.size();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PyTuple t && items.equals(t.items);
  }

  @Override
  public int hashCode() {
    return items.hashCode();
  }
}
