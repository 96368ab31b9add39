package dev.candor.engine.grammar;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Compiled automata per (grammar, vocabulary), least recently used first out: a client that sends the same schema
 * with every request (as SDKs do) gets the automaton, and every mask it has computed, from the first request on.
 */
public final class GrammarCache {
  private record Key(String grammar, Vocabulary vocabulary) {}

  private final int capacity;
  private final Map<Key, TokenAutomaton> automata;

  public GrammarCache(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
    this.automata = new LinkedHashMap<>(16, 0.75f, true);
  }

  /** The automaton of {@code grammar} over {@code vocabulary}, compiled on first use (compiling a schema is cheap). */
  public synchronized TokenAutomaton get(Grammar grammar, Vocabulary vocabulary) {
    Key k = new Key(grammar.key(), vocabulary);
    TokenAutomaton a = automata.get(k);
    if (a == null) {
      a = TokenAutomaton.compile(grammar, vocabulary);
      automata.put(k, a);
      if (automata.size() > capacity) {
        automata.remove(automata.keySet().iterator().next());
      }
    }
    return a;
  }

  public synchronized int size() {
    return automata.size();
  }
}
