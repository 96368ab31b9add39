package dev.candor.engine.grammar;

import dev.candor.engine.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * A model's vocabulary as constrained decoding sees it: the exact bytes of every id, sorted so that a walk over all
 * of them visits each shared prefix once (a trie laid out flat: {@code lcp[i]} is how many leading bytes token i
 * shares with the one before it), and three kinds of ids kept apart:
 *
 * <ul>
 *   <li><b>end</b> tokens ({@code <|im_end|>}, {@code <|endoftext|>}): allowed exactly where the text is complete;
 *   <li><b>added</b> tokens (every other special or added token: {@code <|im_start|>}, {@code <tool_call>},
 *       {@code <|fim_prefix|>}): never inside JSON, only where markup spells their text ({@code <tool_call>} in a
 *       tool call's tags);
 *   <li>ordinary tokens: allowed where their bytes are.
 * </ul>
 *
 * Ids past the tokenizer (Qwen's padded rows) are never allowed. Built once per tokenizer (about 0.2 s for Qwen's).
 */
public final class Vocabulary {
  final int size; // logits per row
  final byte[][] bytes; // [id] -> its bytes (empty for an id the tokenizer does not define)
  final int[] sorted; // ordinary ids in unsigned lexicographic order of their bytes
  final int[] lcp; // [i] -> common prefix length of sorted[i - 1] and sorted[i] (0 for i = 0)
  final int[] added; // added, non-end ids
  final int[] end; // end-of-sequence ids
  final int maxLength; // longest ordinary token, in bytes

  private Vocabulary(int size, byte[][] bytes, int[] sorted, int[] added, int[] end) {
    this.size = size;
    this.bytes = bytes;
    this.sorted = sorted;
    this.added = added;
    this.end = end;
    this.lcp = new int[sorted.length];
    int longest = 0;
    for (int i = 0; i < sorted.length; i++) {
      byte[] t = bytes[sorted[i]];
      longest = Math.max(longest, t.length);
      if (i > 0) {
        lcp[i] = Arrays.mismatch(bytes[sorted[i - 1]], t);
        if (lcp[i] < 0) {
          lcp[i] = t.length; // two ids with the same bytes
        }
      }
    }
    this.maxLength = longest;
  }

  /**
   * The vocabulary of {@code tokenizer} for a model with {@code modelVocabSize} logits per row.
   *
   * @param endTokens the ids that end a generation (generation_config.json's eos_token_id)
   */
  public static Vocabulary of(Tokenizer tokenizer, Collection<Integer> endTokens, int modelVocabSize) {
    if (modelVocabSize < tokenizer.size()) {
      throw new IllegalArgumentException("the model has " + modelVocabSize + " logits per row but the tokenizer defines "
          + tokenizer.size() + " ids");
    }
    byte[][] bytes = new byte[modelVocabSize][];
    Set<Integer> added = new TreeSet<>();
    for (int id = 0; id < modelVocabSize; id++) {
      bytes[id] = tokenizer.bytes(id);
      // an added token maps its own text back to itself (an ordinary token with the same text would not)
      if (id < tokenizer.size() && (tokenizer.isSpecial(id) || tokenizer.addedTokenId(tokenizer.text(id)) == id)) {
        added.add(id);
      }
    }
    return of(bytes, added, endTokens);
  }

  /**
   * A vocabulary from raw token bytes (tests, other tokenizers).
   *
   * @param added ids that are special or added tokens (the end tokens may be among them)
   * @param endTokens ids that end a generation
   */
  public static Vocabulary of(byte[][] tokens, Collection<Integer> added, Collection<Integer> endTokens) {
    int size = tokens.length;
    for (int id : endTokens) {
      if (id < 0 || id >= size) {
        throw new IllegalArgumentException("end token " + id + " outside the vocabulary 0.." + (size - 1));
      }
    }
    Set<Integer> ends = new TreeSet<>(endTokens);
    byte[][] bytes = new byte[size][];
    for (int id = 0; id < size; id++) {
      bytes[id] = tokens[id] == null ? new byte[0] : tokens[id];
    }
    int[] addedIds = added.stream().filter(id -> !ends.contains(id) && id >= 0 && id < size).distinct().sorted()
        .mapToInt(Integer::intValue).toArray();
    Set<Integer> notOrdinary = new TreeSet<>(added);
    notOrdinary.addAll(ends);
    int[] sorted = IntStream.range(0, size).filter(id -> !notOrdinary.contains(id) && bytes[id].length > 0).boxed()
        .sorted(Comparator.comparing(id -> bytes[id], Arrays::compareUnsigned)).mapToInt(Integer::intValue).toArray();
    return new Vocabulary(size, bytes, sorted, addedIds, ends.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Logits per row: the size of every mask. */
  public int size() {
    return size;
  }

  public boolean isEnd(int id) {
    return Arrays.binarySearch(end, id) >= 0;
  }

  boolean isAdded(int id) {
    return Arrays.binarySearch(added, id) >= 0;
  }

  /** The end-of-sequence ids. */
  public int[] endTokens() {
    return end.clone();
  }
}
