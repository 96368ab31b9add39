package dev.candor.engine.grammar;

import static dev.candor.engine.grammar.GrammarTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fast path against its oracle, on Qwen's 151,936-id vocabulary: the mask from one walk of the sorted vocabulary
 * with memoised, interned states must equal the mask from walking every token's bytes through the byte-level
 * parser alone. And the rules for tokens that are not text: end tokens exactly where the text is complete, added
 * tokens only where markup spells them.
 */
class TokenMaskTest {
  static final String SCHEMA = """
      {"type":"object","properties":{"name":{"type":"string","maxLength":6},"n":{"type":"number"},
       "kind":{"enum":["a","ab","b\\u00e9"]},"list":{"type":"array","items":{"type":["integer","null"]},"maxItems":3},
       "inner":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}},
       "required":["name","n","kind","list","inner"],"additionalProperties":false}""";

  static Grammar toolCall() {
    return Grammar.sequence(Grammar.literal("<tool_call>\n"), Grammar.json(json(
        "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_weather\"},\"arguments\":{\"type\":\"object\","
            + "\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":12}},\"required\":[\"city\"],"
            + "\"additionalProperties\":false}},\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}")),
        Grammar.literal("\n</tool_call>"));
  }

  /** Whether the byte-level parser alone takes token {@code id} at {@code state}: no trie, no memo, no interning. */
  static boolean oracle(TokenAutomaton a, TokenAutomaton.State state, int id) {
    Vocabulary v = a.vocabulary();
    if (state.ended) {
      return false;
    }
    if (v.isEnd(id)) {
      return state.complete;
    }
    byte[] text = v.bytes[id];
    ByteState s = text.length == 0 ? null : state.bytes;
    for (int i = 0; i < text.length && s != null; i++) {
      s = v.isAdded(id) ? s.feedMarkup(text[i] & 0xFF) : s.feed(text[i] & 0xFF);
    }
    return s != null;
  }

  /** States along a random constrained walk: every one is checked. */
  static List<TokenAutomaton.State> walk(TokenAutomaton a, long seed, int length) {
    GrammarTesting.RandomLogits logits = new GrammarTesting.RandomLogits(a.vocabulary().size(), seed);
    Sampler sampler = new Sampler(seed);
    SamplingParams params = new SamplingParams(1.0, 0, 1.0, seed);
    List<TokenAutomaton.State> states = new ArrayList<>();
    TokenAutomaton.State s = a.start();
    while (!a.isEnded(s) && states.size() < length) {
      states.add(s);
      int token = sampler.sample(ConstrainedDecoding.distribution(a, s, logits.next(), params));
      s = a.advance(s, token);
    }
    return states;
  }

  @Test
  void theVocabularyWalkEqualsTheTokenByTokenOracle() {
    Vocabulary qwen = GrammarTesting.qwenVocabulary();
    int checked = 0;
    for (Grammar g : List.of(Grammar.jsonSchema(json(SCHEMA)), Grammar.jsonObject(), toolCall())) {
      TokenAutomaton a = TokenAutomaton.compile(g, qwen);
      List<TokenAutomaton.State> states = walk(a, 11, 30);
      for (int i = 0; i < states.size(); i += 6) {
        TokenAutomaton.State s = states.get(i);
        TokenMask mask = a.allowed(s);
        assertFalse(mask.isEmpty(), "a reachable state with nothing allowed");
        for (int id = 0; id < qwen.size(); id++) {
          if (mask.allows(id) != oracle(a, s, id)) {
            throw new AssertionError(g + ", step " + i + ": token " + id + " "
                + GrammarTesting.qwenTokenizer().text(id) + ": mask " + mask.allows(id) + ", oracle " + !mask.allows(id));
          }
        }
        checked++;
      }
    }
    assertTrue(checked >= 12, "states checked: " + checked);
  }

  @Test
  void endTokensComeExactlyWhenCompleteAndAddedTokensNeverInsideJson() {
    Vocabulary qwen = GrammarTesting.qwenVocabulary();
    Tokenizer tokenizer = GrammarTesting.qwenTokenizer();
    int toolCallToken = tokenizer.addedTokenId("<tool_call>");
    List<Integer> added = new ArrayList<>();
    for (String t : List.of("<|im_start|>", "<|object_ref_start|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>")) {
      added.add(tokenizer.addedTokenId(t));
    }
    TokenAutomaton a = TokenAutomaton.compile(Grammar.jsonSchema(json(SCHEMA)), qwen);
    for (TokenAutomaton.State s : walk(a, 3, 200)) {
      TokenMask mask = a.allowed(s);
      for (int end : GrammarTesting.QWEN_END) {
        assertEquals(a.isComplete(s), mask.allows(end));
      }
      for (int id : added) {
        assertFalse(mask.allows(id), "added token " + id + " inside JSON");
      }
      for (int pad = tokenizer.size(); pad < qwen.size(); pad += 17) {
        assertFalse(mask.allows(pad), "padded id " + pad);
      }
    }
    // in markup the added token may spell its own text, and so may the ordinary tokens that spell it byte by byte
    TokenAutomaton call = TokenAutomaton.compile(toolCall(), qwen);
    TokenAutomaton.State start = call.start();
    assertTrue(call.allowed(start).allows(toolCallToken), "<tool_call> where the tag begins");
    TokenAutomaton.State s = start;
    for (int id : tokenizer.encode("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"")) {
      s = call.advance(s, id);
    }
    assertFalse(call.allowed(s).allows(toolCallToken), "inside a JSON string the added token is not text");
    assertTrue(call.allowed(s).allows(tokenizer.encode("<")[0]), "but '<' is");
    TokenAutomaton.State spelled = start;
    for (byte b : "<tool_call>\n".getBytes()) {
      spelled = call.advance(spelled, tokenizer.encode(new String(new byte[] {b}))[0]);
    }
    assertSame(call.advance(call.advance(start, toolCallToken), tokenizer.encode("\n")[0]), spelled,
        "the tag spelled byte by byte reaches the same state as the added token");
  }

  @Test
  void masksAreComputedOncePerStateAndShared() {
    Vocabulary qwen = GrammarTesting.qwenVocabulary();
    GrammarCache cache = new GrammarCache(4);
    TokenAutomaton a = cache.get(Grammar.jsonSchema(json(SCHEMA)), qwen);
    assertSame(a, cache.get(Grammar.jsonSchema(json(SCHEMA)), qwen), "the same schema text finds the same automaton");
    TokenAutomaton.State s = a.start();
    assertSame(a.allowed(s), a.allowed(s));
    // two routes to the same position are one state: "{" then "\"" vs the token "{\""
    Tokenizer t = GrammarTesting.qwenTokenizer();
    TokenAutomaton.State viaTwo = a.advance(a.advance(s, t.encode("{")[0]), t.encode("\"")[0]);
    TokenAutomaton.State viaOne = a.advance(s, t.encode("{\"")[0]);
    assertSame(viaOne, viaTwo);
    for (int i = 0; i < 5; i++) {
      cache.get(Grammar.jsonSchema(json("{\"const\":" + i + "}")), qwen);
    }
    assertEquals(4, cache.size(), "least recently used automata are dropped");
  }
}
