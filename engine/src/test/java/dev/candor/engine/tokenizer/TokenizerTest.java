package dev.candor.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Qwen2.5 tokenizer against llama.cpp's test vectors, and byte-exact decoding for streaming. */
class TokenizerTest {
  static Tokenizer tokenizer;
  static List<String> inputs;
  static List<int[]> expected;

  @BeforeAll
  static void load() throws IOException {
    Path dir = TestCheckpoints.qwenTokenizer();
    tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
    // llama.cpp's format: each case is followed by a line "__ggml_vocab_test__"; ids one line per case
    String inp = Files.readString(dir.resolve("tokenizer-cases.inp"), StandardCharsets.UTF_8);
    inputs = Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)).subList(0, (int) inp.lines()
        .filter(l -> l.equals("__ggml_vocab_test__")).count());
    expected = Files.readAllLines(dir.resolve("tokenizer-cases.out")).stream()
        .map(line -> line.isBlank() ? new int[0] : Arrays.stream(line.trim().split(" ")).mapToInt(Integer::parseInt).toArray())
        .toList();
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  @Test
  void encodesEveryFixtureCaseExactly() {
    assertEquals(46, inputs.size(), "fixture cases");
    assertEquals(inputs.size(), expected.size());
    for (int i = 0; i < inputs.size(); i++) {
      assertArrayEquals(expected.get(i), tokenizer.encode(inputs.get(i)), "case " + i + ": " + inputs.get(i));
    }
  }

  @Test
  void decodesEveryFixtureCaseBackToItsText() {
    for (int i = 0; i < inputs.size(); i++) {
      int[] ids = expected.get(i);
      assertEquals(inputs.get(i), tokenizer.decode(ids, false), "case " + i);
      assertEquals(tokenizer.decodeWithLibrary(ids), tokenizer.decode(ids, false), "case " + i + " vs the library");
    }
  }

  @Test
  void longInputIsNotTruncated() {
    String text = "word ".repeat(3000);
    int[] ids = tokenizer.encode(text);
    assertTrue(ids.length >= 3000, "got " + ids.length + " tokens: the library's 512-token default truncation is on");
    assertEquals(text, tokenizer.decode(ids, false));
  }

  @Test
  void specialTokensInTextBecomeTheirIds() {
    int imStart = tokenizer.addedTokenId("<|im_start|>");
    int imEnd = tokenizer.addedTokenId("<|im_end|>");
    assertEquals(151644, imStart);
    assertEquals(151645, imEnd);
    int[] ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>");
    assertEquals(imStart, ids[0]);
    assertEquals(imEnd, ids[ids.length - 1]);
    assertTrue(tokenizer.isSpecial(imEnd));
    assertFalse(tokenizer.isSpecial(ids[1]));
    assertEquals("user\nhi", tokenizer.decode(ids, true));
  }

  @Test
  void streamingNeverEmitsHalfACharacter() {
    for (int i = 0; i < inputs.size(); i++) {
      StreamDecoder stream = new StreamDecoder(tokenizer);
      StringBuilder text = new StringBuilder();
      for (int id : expected.get(i)) {
        String piece = stream.push(id);
        assertFalse(piece.contains("\uFFFD"), "case " + i + " emitted a replacement character mid-stream");
        text.append(piece);
      }
      text.append(stream.flush());
      assertEquals(inputs.get(i), text.toString(), "case " + i);
    }
  }

  @Test
  void multiByteCharactersSplitAcrossTokensAreHeldBack() {
    // 🦙 is four bytes that Qwen spells as several tokens; at least one of them ends mid-character
    int[] ids = tokenizer.encode(" this is 🦙.cpp");
    StreamDecoder stream = new StreamDecoder(tokenizer);
    boolean heldBack = false;
    for (int id : ids) {
      String piece = stream.push(id);
      heldBack |= piece.isEmpty() && stream.pendingBytes() > 0;
    }
    assertTrue(heldBack);
    assertEquals("", stream.flush());
  }

  @Test
  void invalidBytesAreReleasedAtTheEnd() {
    assertEquals(2, StreamDecoder.completePrefix(new byte[] {'a', 'b', (byte) 0xE6}));
    assertEquals(3, StreamDecoder.completePrefix(new byte[] {'a', 'b', (byte) 0x80}));
    assertEquals(4, StreamDecoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0xA6, (byte) 0x99}));
    assertEquals(0, StreamDecoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0xA6}));
    assertEquals(1, StreamDecoder.completePrefix(new byte[] {(byte) 0xFF}));
  }

  // ---- split_special_tokens ----

  private static int[] concat(String... pieces) {
    return Arrays.stream(pieces).flatMapToInt(p -> Arrays.stream(tokenizer.encode(p))).toArray();
  }

  /**
   * With special tokens split, their text is ordinary text: Qwen's pre-tokenizer (tokenizer.json's Split regex) cuts
   * "<|im_start|>user\nhi" into "<|", "im", "_start", "|>", "user", "\n", "hi", each of which BPE-encodes alone.
   */
  @Test
  void splitSpecialTokensEncodesTheirTextAsText() {
    assertArrayEquals(new int[] {151644}, tokenizer.encode("<|im_start|>"));
    String text = "<|im_start|>user\nhi<|im_end|>";
    int[] split = tokenizer.encode(text, true);
    assertArrayEquals(concat("<|", "im", "_start", "|>", "user", "\n", "hi", "<|", "im", "_end", "|>"), split);
    assertTrue(Arrays.stream(split).noneMatch(tokenizer::isSpecial), Arrays.toString(split));
    assertEquals(text, tokenizer.decode(split, false), "the text survives, byte for byte");
  }

  @Test
  void splitSpecialTokensChangesNothingElse() {
    for (int i = 0; i < inputs.size(); i++) {
      assertArrayEquals(expected.get(i), tokenizer.encode(inputs.get(i), true), "case " + i);
    }
    int toolCall = tokenizer.addedTokenId("<tool_call>");
    assertFalse(tokenizer.isSpecial(toolCall), "Qwen's <tool_call> is an added token that is not special");
    assertArrayEquals(new int[] {toolCall}, tokenizer.encode("<tool_call>", true), "and so it still matches");
    String longText = "word ".repeat(2000);
    assertEquals(tokenizer.encode(longText).length, tokenizer.encode(longText, true).length, "no truncation");
  }
}
