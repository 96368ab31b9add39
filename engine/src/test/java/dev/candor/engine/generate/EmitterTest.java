package dev.candor.engine.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Stop sequences, end-of-sequence, max_tokens, and records that always spell the released text. */
class EmitterTest {
  static Tokenizer tokenizer;
  static final TokenDistribution FLAT = TokenDistribution.of(new float[151936], SamplingParams.greedy());

  @BeforeAll
  static void load() {
    tokenizer = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  record Run(Emitter emitter, List<String> deltas, StringBuilder streamed, List<TokenRecord> streamedRecords) {}

  static Run run(String text, Set<Integer> eos, List<String> stop, int max, int... extra) {
    List<String> deltas = new ArrayList<>();
    StringBuilder streamed = new StringBuilder();
    List<TokenRecord> records = new ArrayList<>();
    Emitter emitter = new Emitter(tokenizer, eos, stop, max, (r, offsets, delta) -> {
      deltas.add(delta);
      streamed.append(delta);
      records.addAll(r);
    });
    int[] ids = tokenizer.encode(text);
    int[] all = java.util.Arrays.copyOf(ids, ids.length + extra.length);
    System.arraycopy(extra, 0, all, ids.length, extra.length);
    for (int id : all) {
      if (!emitter.offer(TokenRecord.of(0, id, tokenizer.bytes(id), FLAT, 0, Source.TARGET))) {
        break;
      }
    }
    emitter.finish(FinishReason.LENGTH);
    return new Run(emitter, deltas, streamed, records);
  }

  static String spell(List<TokenRecord> records) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    records.forEach(r -> out.writeBytes(r.bytes()));
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void stopSequenceIsCutAndNotReleased() {
    Run r = run("Hello world. The end. More text", Set.of(), List.of(" The end"), 100);
    assertEquals("Hello world.", r.emitter().text());
    assertEquals(FinishReason.STOP, r.emitter().finishReason());
    assertEquals("Hello world.", r.streamed().toString());
    assertFalse(String.join("|", r.deltas()).contains("The"), "held-back text never leaked: " + r.deltas());
    assertEquals("Hello world.", spell(r.streamedRecords()));
  }

  @Test
  void aPartialStopMatchIsReleasedWhenItStopsMatching() {
    Run r = run("a.b. c", Set.of(), List.of(". d"), 100);
    assertEquals("a.b. c", r.emitter().text());
    assertEquals(FinishReason.LENGTH, r.emitter().finishReason());
    assertEquals(r.emitter().text(), spell(r.emitter().tokens()));
  }

  @Test
  void endOfSequenceEndsWithoutText() {
    int imEnd = tokenizer.addedTokenId("<|im_end|>");
    Run r = run("Done", Set.of(imEnd), List.of(), 100, imEnd, 9707);
    assertEquals("Done", r.emitter().text());
    assertEquals(FinishReason.STOP, r.emitter().finishReason());
    assertEquals(tokenizer.encode("Done").length, r.emitter().tokens().size());
    assertEquals(tokenizer.encode("Done").length + 1, r.emitter().generated());
  }

  @Test
  void maxTokensEndsWithLength() {
    Run r = run("one two three four five", Set.of(), List.of(), 3);
    assertEquals(3, r.emitter().tokens().size());
    assertEquals("one two three", r.emitter().text());
    assertEquals(FinishReason.LENGTH, r.emitter().finishReason());
  }

  @Test
  void recordsSpellTheTextAndOffsetsPointIntoIt() {
    String text = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～";
    Run r = run(text, Set.of(), List.of(), 1000);
    assertEquals(text, r.emitter().text());
    assertEquals(text, spell(r.emitter().tokens()));
    List<Integer> offsets = r.emitter().textOffsets();
    for (int i = 1; i < offsets.size(); i++) {
      assertTrue(offsets.get(i) >= offsets.get(i - 1));
    }
    for (int i = 0; i < r.emitter().tokens().size(); i++) {
      assertEquals(i, r.emitter().tokens().get(i).index());
    }
  }

  @Test
  void stopInsideAMultiTokenCharacterRunIsFound() {
    Run r = run("x 😁 y", Set.of(), List.of("😁"), 100);
    assertEquals("x ", r.emitter().text());
    assertEquals(FinishReason.STOP, r.emitter().finishReason());
    assertTrue(r.emitter().generated() >= tokenizer.encode("x 😁").length);
  }
}
