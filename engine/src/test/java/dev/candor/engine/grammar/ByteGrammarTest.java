package dev.candor.engine.grammar;

import static dev.candor.engine.grammar.GrammarTesting.accepts;
import static dev.candor.engine.grammar.GrammarTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The grammar, byte by byte (on a one-byte-per-token vocabulary): texts it must accept and texts it must refuse, for
 * each JSON construct and schema keyword. Every accepted text is also checked against the independent validator, so
 * a grammar that accepts something invalid fails twice over.
 */
class ByteGrammarTest {
  static final Vocabulary BYTES = GrammarTesting.byteVocabulary();

  static TokenAutomaton automaton(String schema) {
    return TokenAutomaton.compile(Grammar.jsonSchema(json(schema)), BYTES);
  }

  static void check(String schema, List<String> valid, List<String> invalid) {
    TokenAutomaton a = automaton(schema);
    JsonNode s = json(schema);
    for (String text : valid) {
      assertTrue(accepts(a, text), "must accept " + text + " for " + schema);
      assertEquals(List.of(), GrammarTesting.violations(s, text), "the test's own valid text " + text);
    }
    for (String text : invalid) {
      assertFalse(accepts(a, text), "must refuse " + text + " for " + schema);
    }
  }

  @Test
  void stringsTakeEveryEscapeAndValidUtf8AndNothingElse() {
    check("{\"type\":\"string\"}",
        List.of("\"\"", "\"plain\"", "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\u00e9\\u0041\\uFFFD\"",
            "\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\"", "\"café ü 日本 😀\"", "\"\u007f\"", " \"padded\"\n"),
        List.of("\"unclosed", "plain", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"", "\"\\udc00\"",
            "\"\\ud83d\\u0041\"", "\"tab\there\"", "\"new\nline\"", "'single'", "\"a\"\"b\""));
    TokenAutomaton a = automaton("{\"type\":\"string\"}");
    // malformed UTF-8: a lone continuation byte, an overlong form, an encoded surrogate, past U+10FFFF, truncated
    for (byte[] bad : List.of(new byte[] {'"', (byte) 0x80, '"'}, new byte[] {'"', (byte) 0xC0, (byte) 0x80, '"'},
        new byte[] {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'},
        new byte[] {'"', (byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80, '"'},
        new byte[] {'"', (byte) 0xF5, (byte) 0x80, (byte) 0x80, (byte) 0x80, '"'},
        new byte[] {'"', (byte) 0xE6, (byte) 0x97, '"'})) {
      assertFalse(accepts(a, bad), "malformed UTF-8 " + java.util.HexFormat.of().formatHex(bad));
    }
    assertTrue(accepts(a, new byte[] {'"', (byte) 0xF4, (byte) 0x8F, (byte) 0xBF, (byte) 0xBF, '"'}), "U+10FFFF");
  }

  @Test
  void lengthsCountCharactersNotBytesAndAPairOfEscapesOnce() {
    check("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}",
        List.of("\"ab\"", "\"abc\"", "\"日本\"", "\"😀😀😀\"", "\"\\n\\t\"", "\"\\ud83d\\ude00a\"", "\"a\\u00e9\""),
        List.of("\"a\"", "\"abcd\"", "\"日\"", "\"😀😀😀😀\"", "\"\\n\"", "\"\\ud83d\\ude00\"", "\"\""));
  }

  @Test
  void numbersFollowJsonsGrammar() {
    check("{\"type\":\"number\"}",
        List.of("0", "-0", "7", "-12", "3.25", "0.5", "1e10", "1E+2", "2.5e-3", "-0.0e0"),
        List.of("01", "-", "1.", ".5", "1e", "1e+", "+1", "0x1", "1.2.3", "--1", "NaN", "Infinity", "1 2"));
    check("{\"type\":\"integer\"}", List.of("0", "-3", "42"), List.of("1.0", "1e3", "-", "00"));
  }

  @Test
  void numberPartsAndWhitespaceRunsAreBounded() {
    TokenAutomaton a = automaton("{\"type\":\"number\"}");
    assertTrue(accepts(a, "1".repeat(20)));
    assertFalse(accepts(a, "1".repeat(21)), "an integer part of 21 digits");
    assertTrue(accepts(a, "0." + "5".repeat(20) + "e123"));
    assertFalse(accepts(a, "1e1234"), "a 4-digit exponent");
    TokenAutomaton o = automaton("{\"type\":\"object\"}");
    assertTrue(accepts(o, "{\n" + " \t".repeat(10) + "}"), "a newline and 20 bytes of indentation");
    assertFalse(accepts(o, "{\n" + " ".repeat(21) + "}"), "21 bytes of indentation");
    assertFalse(accepts(o, "{  }"), "two spaces");
    assertFalse(accepts(o, "{\n\n}"), "a blank line");
    assertTrue(accepts(o, "{\n  \"a\": [\n    1,\n    2\n  ]\n}"), "pretty-printed");
    assertTrue(accepts(o, "{ \"a\" : [ 1 , 2 ] }"), "spaced");
  }

  @Test
  void objectsWriteTheSchemasPropertiesInOrderAndOnlyThem() {
    String schema = """
        {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"nick":{"type":"string"}},
         "required":["name","age"],"additionalProperties":false}""";
    check(schema,
        List.of("{\"name\":\"a\",\"age\":1}", "{\"name\": \"a\", \"age\": 1, \"nick\": \"b\"}", "{ \"name\" : \"\" , \"age\" : 0 }"),
        List.of("{\"age\":1,\"name\":\"a\"}", "{\"name\":\"a\"}", "{\"name\":\"a\",\"age\":1,\"extra\":1}",
            "{\"name\":\"a\",\"age\":1,}", "{\"name\":\"a\",\"age\":\"1\"}", "{}", "{\"name\":\"a\",\"age\":1,\"nick\":\"b\",\"nick\":\"c\"}"));
    check("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":\"null\"}}}",
        List.of("{}", "{\"a\":true}", "{\"b\":null}", "{\"a\":false,\"b\":null}"),
        List.of("{\"b\":null,\"a\":true}", "{\"c\":1}"));
  }

  @Test
  void jsonObjectIsAnyObjectAndNothingElse() {
    TokenAutomaton a = TokenAutomaton.compile(Grammar.jsonObject(), BYTES);
    for (String ok : List.of("{}", "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", " {\"x\": {\"y\": {\"z\": []}}} ")) {
      assertTrue(accepts(a, ok), ok);
    }
    for (String bad : List.of("[]", "1", "\"s\"", "{\"a\"}", "{\"a\":}", "{1:2}", "{\"a\":1,}", "{} {}", "{}x")) {
      assertFalse(accepts(a, bad), bad);
    }
  }

  @Test
  void arraysCountTheirItems() {
    check("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}",
        List.of("[1]", "[1,2,3]", "[ 1 , 2 ]"),
        List.of("[]", "[1,2,3,4]", "[1,]", "[,1]", "[1 2]", "[\"1\"]"));
    check("{\"type\":\"array\",\"maxItems\":0}", List.of("[]"), List.of("[1]"));
  }

  @Test
  void enumsConstsTypeListsAndAnyOf() {
    check("{\"enum\":[\"red\",\"green\",1,12,null,{\"a\":[true]}]}",
        List.of("\"red\"", "\"green\"", "1", "12", "null", "{\"a\":[true]}"),
        List.of("\"blue\"", "\"re\"", "2", "123", "{\"a\": [true]}"));
    check("{\"type\":\"string\",\"enum\":[\"a\",1]}", List.of("\"a\""), List.of("1"));
    check("{\"const\":\"x\\\"y\"}", List.of("\"x\\\"y\""), List.of("\"xy\""));
    check("{\"type\":[\"string\",\"null\"]}", List.of("\"s\"", "null"), List.of("1", "true"));
    check("{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"],"
            + "\"additionalProperties\":false},{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},"
            + "\"b\":{\"type\":\"boolean\"}},\"required\":[\"a\",\"b\"],\"additionalProperties\":false}]}",
        List.of("{\"a\":1}", "{\"a\":\"s\",\"b\":true}"),
        List.of("{\"a\":1,\"b\":true}", "{\"a\":\"s\"}"));
    check("{\"type\":\"boolean\"}", List.of("true", "false"), List.of("tru", "True", "truee"));
  }

  @Test
  void referencesAndRecursion() {
    String tree = """
        {"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},
          "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value","children"],
          "additionalProperties":false}},"$ref":"#/$defs/node"}""";
    check(tree,
        List.of("{\"value\":1,\"children\":[]}", "{\"value\":1,\"children\":[{\"value\":2,\"children\":[]}]}"),
        List.of("{\"value\":1}", "{\"value\":1,\"children\":[{}]}"));
  }

  @Test
  void nestingIsBoundedWithoutDeadEnds() {
    TokenAutomaton a = TokenAutomaton.compile(Grammar.jsonObject(), BYTES);
    // open arrays as deep as the grammar lets us: every prefix must stay completable
    TokenAutomaton.State s = a.advance(a.start(), '{');
    for (byte b : "\"k\":".getBytes()) {
      s = a.advance(s, b);
    }
    int depth = 1;
    while (a.allowed(s).allows('[')) {
      s = a.advance(s, '[');
      depth++;
    }
    assertTrue(depth >= 28 && depth <= 32, "JSON nests about 30 deep, got " + depth);
    assertTrue(a.allowed(s).allows(']'), "the deepest array can still be closed");
    assertFalse(a.allowed(s).allows('{'), "nor can an object open there");
  }

  @Test
  void endIsAllowedExactlyWhenComplete() {
    TokenAutomaton a = automaton("{\"type\":\"integer\"}");
    TokenAutomaton.State s = a.start();
    assertFalse(a.allowed(s).allows(GrammarTesting.BYTE_END));
    s = a.advance(s, '4');
    assertTrue(a.allowed(s).allows(GrammarTesting.BYTE_END));
    assertTrue(a.allowed(s).allows('2'), "a number may go on");
    TokenAutomaton.State end = a.advance(s, GrammarTesting.BYTE_END);
    assertTrue(a.isEnded(end));
    assertEquals(0, a.allowed(end).cardinality(), "nothing after the end");
  }
}
