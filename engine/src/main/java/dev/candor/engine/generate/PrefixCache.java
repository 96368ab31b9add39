package dev.candor.engine.generate;

import dev.candor.engine.model.KvBlock;
import dev.candor.engine.model.Sequence;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * KV of prompt prefixes kept across requests (the same system prompt, a multi-turn chat, n choices of one prompt), in
 * blocks of {@link #BLOCK} tokens, as vLLM's automatic prefix caching keeps them but without paging: a hit is copied
 * into the new sequence's cache ({@link Sequence#append}), far cheaper than computing it. A block is found by a hash
 * of every token up to its end and checked token for token against the chain of blocks before it, so a hit is exact;
 * least recently used blocks leave first once the budget is full. One cache per model (the target's and the
 * drafter's are apart): a block is the cache of one model's sequence.
 */
public final class PrefixCache {
  /** Tokens per block: a prefix is reused in whole blocks. */
  public static final int BLOCK = 32;

  /** One cached block: its tokens, the block before it (null for the first) and the KV it holds. */
  private record Entry(int[] tokens, Entry parent, KvBlock kv) {}

  private final long budgetBytes;
  private final Map<Long, Entry> blocks = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
  private long bytes;
  private long lookups;
  private long hits;
  private long reusedTokens;

  public PrefixCache(long budgetBytes) {
    this.budgetBytes = budgetBytes;
  }

  /** What a cache did: its lookups, those that found a block, the tokens restored, the bytes it holds. */
  public record Stats(long lookups, long hits, long reusedTokens, long bytes, int blocks) {}

  public synchronized Stats stats() {
    return new Stats(lookups, hits, reusedTokens, bytes, blocks.size());
  }

  /**
   * Appends to the empty {@code sequence} the longest cached prefix of {@code tokens} in whole blocks, at most
   * {@code maxPositions} positions; returns how many it restored (0 on a miss).
   */
  public synchronized int restore(Sequence sequence, int[] tokens, int maxPositions) {
    if (!sequence.copiesKv() || sequence.length() != 0) {
      return 0;
    }
    lookups++;
    long hash = 0;
    Entry parent = null;
    int restored = 0;
    while (restored + BLOCK <= Math.min(maxPositions, tokens.length)) {
      hash = chain(hash, tokens, restored);
      Entry e = blocks.get(hash);
      if (e == null || e.parent() != parent || !Arrays.equals(e.tokens(), 0, BLOCK, tokens, restored,
          restored + BLOCK)) {
        break;
      }
      sequence.append(e.kv());
      parent = e;
      restored += BLOCK;
    }
    if (restored > 0) {
      hits++;
      reusedTokens += restored;
    }
    return restored;
  }

  /** Keeps the whole blocks of {@code tokens[0..length)} that {@code sequence}'s cache holds and this one lacks. */
  public synchronized void store(Sequence sequence, int[] tokens, int length) {
    if (!sequence.copiesKv()) {
      return;
    }
    long hash = 0;
    Entry parent = null;
    for (int from = 0; from + BLOCK <= Math.min(length, sequence.length()); from += BLOCK) {
      hash = chain(hash, tokens, from);
      Entry e = blocks.get(hash);
      if (e == null || e.parent() != parent || !Arrays.equals(e.tokens(), 0, BLOCK, tokens, from, from + BLOCK)) {
        KvBlock kv = sequence.copyOut(from, from + BLOCK);
        if (kv.bytes() > budgetBytes) {
          return;
        }
        e = new Entry(Arrays.copyOfRange(tokens, from, from + BLOCK), parent, kv);
        Entry replaced = blocks.put(hash, e);
        bytes += kv.bytes() - (replaced == null ? 0 : replaced.kv().bytes());
        evict(e);
      }
      parent = e;
    }
  }

  /** Least recently used blocks out until the budget holds (never the one just stored). */
  private void evict(Entry keep) {
    for (Iterator<Entry> it = blocks.values().iterator(); bytes > budgetBytes && it.hasNext(); ) {
      Entry e = it.next();
      if (e != keep) {
        it.remove();
        bytes -= e.kv().bytes();
      }
    }
  }

  /** The hash of every token up to the end of the block at {@code from}, given the hash up to its start. */
  private static long chain(long hash, int[] tokens, int from) {
    long h = hash * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
    for (int i = from; i < from + BLOCK; i++) {
      h = (h ^ tokens[i]) * 0xFF51AFD7ED558CCDL;
      h ^= h >>> 33;
    }
    return h;
  }
}
