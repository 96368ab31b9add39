package dev.candor.engine.grammar;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A grammar compiled against one vocabulary: the token-level automaton constrained decoding runs. Its states are the
 * byte-level parser's states ({@link ByteState}), interned, so each distinct position is one {@link State} that
 * caches its byte transitions and its {@link TokenMask}; the first request for a schema pays for each mask once
 * (a walk of the flat vocabulary trie, a few milliseconds for Qwen's 151,936 ids), later ones find them all.
 *
 * <p>The interface the generator uses: {@link #start}, {@link #allowed}, {@link #advance}, {@link #isComplete}. A
 * {@link State} is immutable to its users, so a drafter can advance a copy along its draft while the committed
 * state stays where it is. End-of-sequence tokens are allowed exactly where the text is complete; after one,
 * nothing is. Thread-safe: masks are computed under the automaton's lock, and states may be shared across requests.
 */
public final class TokenAutomaton {
  /** Interned states kept before the table starts afresh (states in use stay valid, they are just not shared). */
  private static final int MAX_STATES = 1 << 16;

  /** A position in the automaton. Immutable to its users; it caches what was computed from it. */
  public static final class State {
    final ByteState bytes; // null for the two sentinels
    final boolean complete;
    final boolean ended; // an end-of-sequence token was taken
    State[] next; // [byte] -> successor (DEAD when the byte is not allowed); null until first used
    volatile TokenMask mask;

    private State(ByteState bytes, boolean complete, boolean ended) {
      this.bytes = bytes;
      this.complete = complete;
      this.ended = ended;
    }
  }

  private static final State DEAD = new State(null, false, false);

  private final Grammar grammar;
  private final Vocabulary vocabulary;
  private final State ended = new State(null, true, true);
  private final State start;
  private Map<ByteState, State> interned = new HashMap<>();

  private TokenAutomaton(Grammar grammar, Vocabulary vocabulary) {
    this.grammar = grammar;
    this.vocabulary = vocabulary;
    this.start = intern(ByteState.start(grammar.root));
  }

  /** The automaton of {@code grammar} over {@code vocabulary}: cheap, masks are computed as positions are reached. */
  public static TokenAutomaton compile(Grammar grammar, Vocabulary vocabulary) {
    return new TokenAutomaton(grammar, vocabulary);
  }

  public Grammar grammar() {
    return grammar;
  }

  public Vocabulary vocabulary() {
    return vocabulary;
  }

  public State start() {
    return start;
  }

  /** Whether the text so far is complete, so an end-of-sequence token may come (true after one). */
  public boolean isComplete(State state) {
    return state.complete;
  }

  /** Whether an end-of-sequence token has been taken (nothing is allowed after it). */
  public boolean isEnded(State state) {
    return state.ended;
  }

  /** The tokens allowed next. Never empty before the end: every position the automaton reaches can be completed. */
  public TokenMask allowed(State state) {
    TokenMask mask = state.mask;
    if (mask == null) {
      synchronized (this) {
        mask = state.mask;
        if (mask == null) {
          mask = state.ended ? TokenMask.none(vocabulary.size) : computeMask(state);
          state.mask = mask;
        }
      }
    }
    return mask;
  }

  /** Whether {@code token} may come next (cheaper than a whole mask when only one token is asked about). */
  public boolean allows(State state, int token) {
    TokenMask mask = state.mask;
    return mask != null ? mask.allows(token) : tryAdvance(state, token) != null;
  }

  /**
   * The state after {@code token}.
   *
   * @throws IllegalArgumentException if the token is not allowed there
   */
  public State advance(State state, int token) {
    State next = tryAdvance(state, token);
    if (next == null) {
      throw new IllegalArgumentException("token " + token + " is not allowed here by the grammar");
    }
    return next;
  }

  private State tryAdvance(State state, int token) {
    if (state.ended || token < 0 || token >= vocabulary.size) {
      return null;
    }
    if (vocabulary.isEnd(token)) {
      return state.complete ? ended : null;
    }
    byte[] text = vocabulary.bytes[token];
    if (text.length == 0) {
      return null;
    }
    if (vocabulary.isAdded(token)) {
      synchronized (this) {
        return walkMarkup(state, text);
      }
    }
    State s = state;
    for (byte b : text) {
      State[] next = s.next;
      State n = next == null ? null : next[b & 0xFF];
      if (n == null) {
        synchronized (this) {
          n = step(s, b & 0xFF);
        }
      }
      if (n == DEAD) {
        return null;
      }
      s = n;
    }
    return s;
  }

  /**
   * Computes masks for the states reachable from the start, breadth first, until {@code maxStates} are known: what
   * a server does once per schema so that no request waits for a mask. Returns the number of states covered.
   */
  public int precompute(int maxStates) {
    Set<State> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    ArrayDeque<State> queue = new ArrayDeque<>();
    seen.add(start);
    queue.add(start);
    while (!queue.isEmpty() && seen.size() < maxStates) {
      State s = queue.poll();
      for (int id : allowed(s).ids()) {
        State t = advance(s, id);
        if (!t.ended && seen.add(t)) {
          queue.add(t);
        }
      }
    }
    return seen.size();
  }

  /** Distinct states interned so far (a measure of the cache's size). */
  public synchronized int internedStates() {
    return interned.size();
  }

  // --- under the lock ---

  private State intern(ByteState bytes) {
    State s = interned.get(bytes);
    if (s == null) {
      if (interned.size() >= MAX_STATES) {
        interned = new HashMap<>();
      }
      s = new State(bytes, bytes.complete, false);
      interned.put(bytes, s);
    }
    return s;
  }

  /** The successor of {@code s} on byte {@code b}, memoised. */
  private State step(State s, int b) {
    State[] next = s.next;
    if (next == null) {
      next = new State[256];
      s.next = next;
    }
    State n = next[b];
    if (n == null) {
      ByteState after = s.bytes.feed(b);
      n = after == null ? DEAD : intern(after);
      next[b] = n;
    }
    return n;
  }

  private State walkMarkup(State state, byte[] text) {
    ByteState s = state.bytes;
    for (int i = 0; i < text.length && s != null; i++) {
      s = s.feedMarkup(text[i] & 0xFF);
    }
    return s == null ? null : intern(s);
  }

  /**
   * One walk of the sorted vocabulary: {@code path[d]} is the state after the first d bytes of the current token;
   * a token reuses the states of the prefix it shares with the one before it, and every token under a prefix that
   * died is skipped without a step.
   */
  private TokenMask computeMask(State state) {
    Vocabulary v = vocabulary;
    long[] bits = new long[(v.size + 63) >>> 6];
    State[] path = new State[v.maxLength + 1];
    path[0] = state;
    int alive = 0; // path[0..alive] holds for the last token walked
    for (int i = 0; i < v.sorted.length; i++) {
      int shared = v.lcp[i];
      if (shared > alive) {
        continue; // shares a prefix that was refused
      }
      byte[] text = v.bytes[v.sorted[i]];
      int d = shared;
      while (d < text.length) {
        State n = step(path[d], text[d] & 0xFF);
        if (n == DEAD) {
          break;
        }
        path[++d] = n;
      }
      alive = d;
      if (d == text.length) {
        set(bits, v.sorted[i]);
      }
    }
    for (int id : v.added) {
      if (walkMarkup(state, v.bytes[id]) != null) {
        set(bits, id);
      }
    }
    if (state.complete) {
      for (int id : v.end) {
        set(bits, id);
      }
    }
    return TokenMask.of(v.size, bits);
  }

  private static void set(long[] bits, int id) {
    bits[id >>> 6] |= 1L << id;
  }
}
