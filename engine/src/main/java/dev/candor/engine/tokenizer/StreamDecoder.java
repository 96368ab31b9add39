package dev.candor.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Incremental detokenization for streaming: tokens arrive one by one and text leaves only in whole UTF-8
 * characters, so a client never sees half of a multi-byte character (a byte-level token can end mid-character:
 * Qwen splits many emoji and CJK characters over two or three tokens).
 */
public final class StreamDecoder {
  private final Tokenizer tokenizer;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

  public StreamDecoder(Tokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Appends a token and returns the text it completes (often "", when it ends mid-character). */
  public String push(int token) {
    pending.writeBytes(tokenizer.bytes(token));
    byte[] bytes = pending.toByteArray();
    int complete = completePrefix(bytes);
    pending.reset();
    pending.write(bytes, complete, bytes.length - complete);
    return new String(bytes, 0, complete, StandardCharsets.UTF_8);
  }

  /** Whatever is held back at the end of the stream; an unfinished character becomes U+FFFD. */
  public String flush() {
    String rest = pending.toString(StandardCharsets.UTF_8);
    pending.reset();
    return rest;
  }

  /** Bytes held back, waiting for the rest of a character. */
  public int pendingBytes() {
    return pending.size();
  }

  /**
   * Length of the longest prefix that does not end inside a character that more bytes could still complete. Bytes
   * that can never become valid UTF-8 are released (and decode to U+FFFD) rather than held forever.
   */
  static int completePrefix(byte[] b) {
    int n = b.length;
    // find the start of the last character: step back over at most 3 continuation bytes (10xxxxxx)
    int start = n - 1;
    while (start >= 0 && n - start <= 4 && (b[start] & 0xC0) == 0x80) {
      start--;
    }
    if (start < 0 || n - start > 4) {
      return n; // only continuation bytes: invalid, release them
    }
    int lead = b[start] & 0xFF;
    int needed;
    if (lead < 0x80) {
      needed = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      needed = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      needed = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      needed = 4;
    } else {
      return n; // not a lead byte of any valid character
    }
    return n - start < needed ? start : n;
  }
}
