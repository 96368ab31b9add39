package dev.candor.engine.tokenizer;

import java.util.HashMap;
import java.util.Map;

/**
 * GPT-2's byte-to-unicode table (openai/gpt-2 encoder.py, bytes_to_unicode): the 188 printable bytes stand for
 * themselves and the other 68 are shifted to code points 256+, so every byte is a visible character in the vocab.
 */
final class ByteLevel {
  private ByteLevel() {}

  static Map<Character, Byte> unicodeToByte() {
    Map<Character, Byte> map = new HashMap<>();
    int shifted = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char c = printable ? (char) b : (char) (256 + shifted++);
      map.put(c, (byte) b);
    }
    return map;
  }

  /** The bytes of a vocab entry; a character outside the table is taken as its own UTF-8. */
  static byte[] decode(String token, Map<Character, Byte> unicodeToByte) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(token.length());
    for (int i = 0; i < token.length(); i++) {
      Byte b = unicodeToByte.get(token.charAt(i));
      if (b != null) {
        out.write(b);
      } else {
        out.writeBytes(String.valueOf(token.charAt(i)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return out.toByteArray();
  }
}
