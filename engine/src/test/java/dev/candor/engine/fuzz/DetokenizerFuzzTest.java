package dev.candor.engine.fuzz;

import static dev.candor.engine.fuzz.Fuzzing.check;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.candor.engine.tokenizer.StreamDecoder;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Fuzzes detokenization with the Qwen2.5 tokenizer: {@link Tokenizer#decode}, {@link Tokenizer#bytes},
 * {@link Tokenizer#text} and the streaming {@link StreamDecoder}, over any ids a client or a model could produce
 * (negative, unassigned and huge ones too). None may throw, and streaming must be exact: the pieces pushed out, then
 * the flush, concatenate to {@code new String(all the bytes, UTF_8)}, no piece splits a surrogate pair, and no more
 * than one unfinished character (3 bytes) is ever held back.
 */
class DetokenizerFuzzTest {
  private static final Tokenizer TOKENIZER = Fuzzing.qwenTokenizer();
  /** [byte value] -> the id of the token that is exactly that one byte. */
  private static final int[] BYTE_TOKEN = byteTokens(TOKENIZER);

  /**
   * Four little-endian bytes per id. The top two bits choose the id: 00, an id below the tokenizer's size plus 64
   * (the rest of the int, modulo); 01, the single-byte token of the low byte; 1x, the int itself (negative ids).
   * So real token streams, raw UTF-8 bytes and hostile ids mix in one input.
   */
  @FuzzTest
  void tokenIds(byte[] input) {
    int[] raw = Fuzzing.ints(input);
    int[] ids = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      int v = raw[i];
      ids[i] = switch (v >>> 30) {
        case 0 -> v % (TOKENIZER.size() + 64);
        case 1 -> BYTE_TOKEN[v & 0xff];
        default -> v;
      };
    }
    checkDecoding(ids);
  }

  /** One single-byte token per input byte: the fuzzer controls every UTF-8 boundary the stream decoder sees. */
  @FuzzTest
  void byteStream(byte[] input) {
    int[] ids = new int[input.length];
    for (int i = 0; i < input.length; i++) {
      ids[i] = BYTE_TOKEN[input[i] & 0xff];
    }
    String streamed = checkDecoding(ids);
    check(streamed.equals(new String(input, StandardCharsets.UTF_8)), "byte tokens do not stream to their bytes");
  }

  /** Checks every decoding of {@code ids} against Java's UTF-8 decoding of their bytes; returns the streamed text. */
  static String checkDecoding(int[] ids) {
    return Fuzzing.withinBudget("decoding " + ids.length + " ids", (16L << 20) + 400L * ids.length, () -> {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      ByteArrayOutputStream withoutSpecial = new ByteArrayOutputStream();
      for (int id : ids) {
        byte[] bytes = TOKENIZER.bytes(id);
        check(bytes != null, () -> "bytes(" + id + ") is null");
        check(id >= 0 && id < TOKENIZER.size() || bytes.length == 0, () -> "id " + id + " outside the tokenizer has bytes");
        check(TOKENIZER.text(id).equals(new String(bytes, StandardCharsets.UTF_8)), () -> "text(" + id + ")");
        all.writeBytes(bytes);
        if (!TOKENIZER.isSpecial(id)) {
          withoutSpecial.writeBytes(bytes);
        }
      }
      String expected = all.toString(StandardCharsets.UTF_8);
      check(TOKENIZER.decode(ids, false).equals(expected), "decode(ids, false) != UTF-8 of their bytes");
      check(TOKENIZER.decode(ids, true).equals(withoutSpecial.toString(StandardCharsets.UTF_8)),
          "decode(ids, true) != UTF-8 of the bytes of the non-special ids");

      StreamDecoder stream = new StreamDecoder(TOKENIZER);
      StringBuilder streamed = new StringBuilder();
      for (int i = 0; i < ids.length; i++) {
        String piece = stream.push(ids[i]);
        int pushed = i;
        if (!piece.isEmpty()) {
          check(!Character.isHighSurrogate(piece.charAt(piece.length() - 1)),
              () -> "push #" + pushed + " ends inside a surrogate pair: " + Arrays.toString(ids));
          check(!Character.isLowSurrogate(piece.charAt(0)),
              () -> "push #" + pushed + " starts inside a surrogate pair: " + Arrays.toString(ids));
        }
        check(stream.pendingBytes() <= 3, () -> "holds " + stream.pendingBytes() + " bytes after push #" + pushed);
        streamed.append(piece);
      }
      streamed.append(stream.flush());
      check(stream.pendingBytes() == 0, "bytes pending after flush");
      if (!streamed.toString().equals(expected)) {
        throw new AssertionError("streamed text differs from the UTF-8 decoding of the same bytes\n ids: "
            + Arrays.toString(ids) + "\n bytes: " + hex(all.toByteArray()) + "\n streamed: "
            + codePoints(streamed.toString()) + "\n expected: " + codePoints(expected));
      }
      return streamed.toString();
    });
  }

  private static int[] byteTokens(Tokenizer tokenizer) {
    int[] table = new int[256];
    Arrays.fill(table, -1);
    for (int id = 0; id < tokenizer.size(); id++) {
      byte[] b = tokenizer.bytes(id);
      if (b.length == 1 && table[b[0] & 0xff] < 0 && !tokenizer.isSpecial(id)) {
        table[b[0] & 0xff] = id;
      }
    }
    for (int b = 0; b < 256; b++) {
      check(table[b] >= 0, "no single-byte token for byte " + b);
    }
    return table;
  }

  static String hex(byte[] bytes) {
    StringBuilder s = new StringBuilder();
    for (byte b : bytes) {
      s.append(String.format("%02x ", b & 0xff));
    }
    return s.toString().trim();
  }

  private static String codePoints(String s) {
    StringBuilder out = new StringBuilder();
    s.chars().forEach(c -> out.append(String.format("%04x ", c)));
    return out.toString().trim();
  }
}
