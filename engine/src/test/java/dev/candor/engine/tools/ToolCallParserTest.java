package dev.candor.engine.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** A whole reply into content and calls: well-formed blocks become calls, anything else stays content. */
class ToolCallParserTest {
  static final Set<String> TOOLS = Set.of("get_weather", "search");

  static Supplier<String> ids() {
    int[] n = {0};
    return () -> "call_" + n[0]++;
  }

  static ToolCallParser.Parsed parse(String text) {
    return ToolCallParser.parse(text, TOOLS, ids());
  }

  @Test
  void oneCallAsQwenWritesIt() {
    ToolCallParser.Parsed p = parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
    assertNull(p.content());
    assertEquals(List.of(new ToolCall("call_0", "get_weather", "{\"city\": \"Paris\"}")), p.calls());
  }

  @Test
  void parallelCallsWithTextAroundThem() {
    String text = "Let me look.\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"a }\\\" b\", \"n\": [1, {\"x\": 2}]}}\n"
        + "</tool_call>\n<tool_call>\n{\"arguments\": {}, \"name\": \"get_weather\"}\n</tool_call>\nDone.";
    ToolCallParser.Parsed p = parse(text);
    assertEquals("Let me look.Done.", p.content());
    assertEquals(List.of(new ToolCall("call_0", "search", "{\"q\": \"a }\\\" b\", \"n\": [1, {\"x\": 2}]}"),
        new ToolCall("call_1", "get_weather", "{}")), p.calls());
  }

  @Test
  void argumentsKeepTheModelsOwnSpellingOfUnicode() {
    ToolCallParser.Parsed p = parse("<tool_call>{\"name\":\"search\",\"arguments\":{\"q\":\"日本 😀 \\u00e9\"}}</tool_call>");
    assertEquals("{\"q\":\"日本 😀 \\u00e9\"}", p.calls().get(0).arguments());
  }

  @Test
  void malformedBlocksComeBackAsContentTagsAndAll() {
    for (String bad : List.of(
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": }\n</tool_call>",  // not JSON
        "<tool_call>{\"arguments\": {}}</tool_call>",                                          // no name
        "<tool_call>{\"name\": 3, \"arguments\": {}}</tool_call>",                             // name not a string
        "<tool_call>{\"name\": \"search\", \"arguments\": \"{}\"}</tool_call>",                // arguments a string
        "<tool_call>{\"name\": \"search\"}</tool_call>",                                       // no arguments
        "<tool_call>{\"name\": \"delete_all\", \"arguments\": {}}</tool_call>",                // not offered
        "<tool_call>{\"name\": \"search\", \"arguments\": {}} trailing</tool_call>",           // junk after
        "<tool_call>{\"name\": \"search\", \"name\": \"search\", \"arguments\": {}}</tool_call>", // duplicate key
        "<tool_call>[1, 2]</tool_call>",
        "<tool_call></tool_call>",
        "<tool_call>{\"name\": \"search\", \"arguments\": {\"q\": \"unfinished")) {       // cut off mid-call
      ToolCallParser.Parsed p = parse("Before " + bad + " after");
      assertEquals(List.of(), p.calls(), bad);
      assertEquals("Before " + bad + " after", p.content(), "exactly the text: " + bad);
    }
  }

  @Test
  void aCallTheModelEndedWithoutItsClosingTagStillCounts() {
    ToolCallParser.Parsed p = parse("<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n");
    assertNull(p.content());
    assertEquals("{\"q\": \"x\"}", p.calls().get(0).arguments());
  }

  @Test
  void textWithoutCallsIsUntouched() {
    for (String text : List.of("", "  plain text\n\n", "a < b and <tool", "</tool_call> alone", "<tool_cal>")) {
      ToolCallParser.Parsed p = parse(text);
      assertEquals(text, p.content());
      assertTrue(p.calls().isEmpty());
    }
  }

  @Test
  void anyNameIsAcceptedWhenNoneAreGiven() {
    ToolCallParser.Parsed p = ToolCallParser.parse("<tool_call>{\"name\": \"x\", \"arguments\": {}}</tool_call>",
        Set.of(), ids());
    assertEquals("x", p.calls().get(0).name());
  }

  @Test
  void randomIdsLookLikeOpenAis() {
    String id = ToolCallParser.randomIds().get();
    assertTrue(id.matches("call_[A-Za-z0-9]{24}"), id);
  }
}
