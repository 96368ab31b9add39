package dev.candor.engine.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.StreamDecoder;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Streaming: fed in any pieces, the reader gives the content and calls the whole-text parser gives; fed token by
 * token through the real Qwen2.5 and Qwen3 tokenizers (where {@code <tool_call>} is one added token, or spelled out
 * byte by byte as constrained decoding may write it), too. In INCREMENTAL mode the deltas have OpenAI's shape: a
 * first one with index, id and name, then argument pieces that concatenate to the arguments.
 */
class ToolCallStreamTest {
  static final Set<String> TOOLS = ToolCallParserTest.TOOLS;
  static final List<String> REPLIES = List.of(
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
      "I'll check both.\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"日本の天気 😀\", \"n\": 3}}\n</tool_call>\n"
          + "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>",
      "No tools needed: 2 < 3 and </tool_call> is just text.",
      "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"broken\"\n</tool_call> then text",
      "<tool_call>{\"name\": \"search\", \"arguments\": {\"q\": \"}{\\\"\", \"deep\": {\"a\": [[{}]]}}}</tool_call>\n\nAfter.",
      "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"cut\"}}\n");
  static Tokenizer qwen25;
  static Tokenizer qwen3;

  @BeforeAll
  static void load() throws IOException {
    Path dir = TestCheckpoints.qwenTokenizer();
    qwen25 = Tokenizer.load(dir.resolve("tokenizer.json"));
    qwen3 = Tokenizer.load(qwen3Tokenizer(dir));
  }

  @AfterAll
  static void close() {
    qwen25.close();
    qwen3.close();
  }

  /**
   * Qwen3's tokenizer.json is Qwen2.5's with four more added tokens (the fixture in the shared folder differs from
   * the project's Qwen2.5 copy in added_tokens only: same vocab, merges, normalizer and pre-tokenizer), so it is
   * made from it here rather than shipping a second 11 MB file.
   */
  static Path qwen3Tokenizer(Path qwen25Dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = (ObjectNode) json.readTree(qwen25Dir.resolve("tokenizer.json").toFile());
    ArrayNode added = (ArrayNode) root.get("added_tokens");
    String[] more = {"<tool_response>", "</tool_response>", "<think>", "</think>"};
    for (int i = 0; i < more.length; i++) {
      added.addObject().put("id", 151665 + i).put("content", more[i]).put("single_word", false).put("lstrip", false)
          .put("rstrip", false).put("normalized", false).put("special", false);
    }
    Path out = Path.of("target", "test-tokenizers", "qwen3", "tokenizer.json").toAbsolutePath();
    Files.createDirectories(out.getParent());
    json.writeValue(out.toFile(), root);
    return out;
  }

  /** What a stream produced: the content, the calls, and every tool-call delta in order. */
  record Result(String content, List<ToolCall> calls, List<ToolCallDelta> deltas) {}

  static Result stream(ToolCallStream.Mode mode, List<String> pieces) {
    int[] n = {0};
    ToolCallStream s = new ToolCallStream(mode, TOOLS, () -> "call_" + n[0]++);
    List<ToolCallStream.Event> events = new ArrayList<>();
    for (String piece : pieces) {
      events.addAll(s.push(piece));
    }
    events.addAll(s.finish());
    StringBuilder content = new StringBuilder();
    List<ToolCallDelta> deltas = new ArrayList<>();
    for (ToolCallStream.Event e : events) {
      if (e instanceof ToolCallStream.Content c) {
        content.append(c.text());
      } else {
        deltas.add((ToolCallDelta) e);
      }
    }
    return new Result(content.isEmpty() && !s.calls().isEmpty() ? null : content.toString(), s.calls(), deltas);
  }

  static void assertSameAsWhole(String reply, Result r, String how) {
    ToolCallParser.Parsed whole = ToolCallParser.parse(reply, TOOLS, ToolCallParserTest.ids());
    assertEquals(whole.content(), r.content(), how + ": content of " + reply);
    assertEquals(whole.calls(), r.calls(), how + ": calls of " + reply);
  }

  /** OpenAI's shape: per index, a first delta with id and name and "" arguments, then pieces that add up. */
  static void assertOpenAiShape(Result r) {
    Map<Integer, StringBuilder> arguments = new LinkedHashMap<>();
    for (ToolCallDelta d : r.deltas()) {
      if (d.starts()) {
        assertEquals(arguments.size(), d.index(), "indexes count up from 0");
        assertNotNull(d.name());
        assertEquals("", d.arguments());
        arguments.put(d.index(), new StringBuilder());
      } else {
        assertNull(d.name());
        assertTrue(arguments.containsKey(d.index()), "a piece before its call's first delta");
        arguments.get(d.index()).append(d.arguments());
      }
    }
    assertEquals(r.calls().size(), arguments.size());
    for (int i = 0; i < r.calls().size(); i++) {
      assertEquals(r.calls().get(i).arguments(), arguments.get(i).toString());
    }
  }

  @Test
  void anySplitGivesWhatTheWholeTextGives() {
    SplittableRandom random = new SplittableRandom(1);
    for (String reply : REPLIES) {
      List<String> chars = reply.codePoints().mapToObj(Character::toString).toList();
      assertSameAsWhole(reply, stream(ToolCallStream.Mode.BUFFERED, chars), "char by char");
      for (int trial = 0; trial < 30; trial++) {
        List<String> pieces = new ArrayList<>();
        for (int at = 0; at < reply.length(); ) {
          int end = Math.min(reply.length(), at + 1 + random.nextInt(12));
          if (end < reply.length() && Character.isHighSurrogate(reply.charAt(end - 1))) {
            end++;
          }
          pieces.add(reply.substring(at, end));
          at = end;
        }
        Result buffered = stream(ToolCallStream.Mode.BUFFERED, pieces);
        assertSameAsWhole(reply, buffered, "pieces " + pieces);
        assertOpenAiShape(buffered);
      }
    }
  }

  @Test
  void tokenByTokenThroughQwenTokenizers() {
    for (Tokenizer tokenizer : List.of(qwen25, qwen3)) {
      int toolCall = tokenizer.addedTokenId("<tool_call>");
      assertEquals(151657, toolCall, "<tool_call> is one added token in both");
      for (String reply : REPLIES) {
        int[] ids = tokenizer.encode(reply);
        assertSameAsWhole(reply, stream(ToolCallStream.Mode.BUFFERED, deltas(tokenizer, ids)), "tokens");
        // constrained decoding may spell the tags with ordinary tokens: "<", "tool", "_call", ">"
        List<Integer> spelled = new ArrayList<>();
        for (int id : ids) {
          if (tokenizer.isSpecial(id) || id == toolCall || id == tokenizer.addedTokenId("</tool_call>")) {
            for (byte b : tokenizer.bytes(id)) {
              spelled.add(tokenizer.encode(Character.toString((char) (b & 0xFF)))[0]);
            }
          } else {
            spelled.add(id);
          }
        }
        List<String> spelledDeltas = deltas(tokenizer, spelled.stream().mapToInt(Integer::intValue).toArray());
        assertSameAsWhole(reply, stream(ToolCallStream.Mode.BUFFERED, spelledDeltas), "spelled tokens");
        Result incremental = stream(ToolCallStream.Mode.INCREMENTAL, spelledDeltas);
        if (ToolCallParser.parse(reply, TOOLS, ToolCallParserTest.ids()).calls().size() > 0
            && !reply.contains("broken")) {
          assertSameAsWhole(reply, incremental, "incremental");
          assertOpenAiShape(incremental);
        }
      }
    }
  }

  /** The text deltas a server streams: each token's text as the stream decoder releases it (whole characters). */
  static List<String> deltas(Tokenizer tokenizer, int[] ids) {
    StreamDecoder decoder = new StreamDecoder(tokenizer);
    List<String> out = new ArrayList<>();
    for (int id : ids) {
      out.add(decoder.push(id));
    }
    out.add(decoder.flush());
    return out;
  }

  @Test
  void incrementalStreamsTheNameFirstThenArgumentsAsTheyArrive() {
    String reply = "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"tokyo weather\", \"n\": 10}}\n</tool_call>";
    int[] ids = qwen25.encode(reply);
    List<String> pieces = deltas(qwen25, ids);
    int[] n = {0};
    ToolCallStream s = new ToolCallStream(ToolCallStream.Mode.INCREMENTAL, TOOLS, () -> "call_" + n[0]++);
    int firstDeltaAt = -1;
    int argumentPieces = 0;
    String sentSoFar = "";
    for (int i = 0; i < pieces.size(); i++) {
      sentSoFar += pieces.get(i);
      for (ToolCallStream.Event e : s.push(pieces.get(i))) {
        ToolCallDelta d = (ToolCallDelta) e;
        if (d.starts()) {
          firstDeltaAt = i;
          assertEquals("search", d.name());
          assertTrue(sentSoFar.endsWith("\"arguments\": {") || sentSoFar.contains("\"arguments\": {"), sentSoFar);
        } else {
          argumentPieces++;
        }
      }
    }
    s.finish();
    assertTrue(firstDeltaAt >= 0 && firstDeltaAt < pieces.size() / 2, "the name goes out early: piece " + firstDeltaAt);
    assertTrue(argumentPieces >= 5, "arguments go out as they arrive, not at the end: " + argumentPieces);
    assertEquals("{\"q\": \"tokyo weather\", \"n\": 10}", s.calls().get(0).arguments());
  }

  @Test
  void aBlockThatGoesWrongAfterItStartedEndsAsContentWithoutThrowing() {
    Result r = stream(ToolCallStream.Mode.INCREMENTAL, List.of("<tool_call>{\"name\": \"search\", \"arguments\": {\"q\"",
        ": oops}}</tool_call>"));
    assertTrue(r.calls().isEmpty());
    assertEquals(1, r.deltas().stream().filter(ToolCallDelta::starts).count(), "its first delta was already out");
    assertTrue(r.content().contains("oops"), r.content());
  }
}
