package dev.candor.engine.grammar;

import static dev.candor.engine.grammar.GrammarTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Whatever the model prefers, the text is valid: random logits over Qwen's vocabulary, sampled (and greedy) under the
 * mask, for many seeds, must give JSON that the independent validator accepts, every time. The schemas here bound
 * every string and array, so every generation must also end; for unbounded ones (json_object, where random logits
 * nest at random) every generation that ends is valid.
 */
class ConstrainedGenerationTest {
  static final String PERSON = """
      {"type":"object","properties":{
        "name":{"type":"string","minLength":1,"maxLength":10},
        "age":{"type":"integer"},
        "score":{"type":"number"},
        "active":{"type":"boolean"},
        "nick":{"type":["string","null"],"maxLength":4},
        "tags":{"type":"array","items":{"enum":["red","green","blue"]},"maxItems":3},
        "address":{"type":"object","properties":{"city":{"type":"string","maxLength":8},
           "zip":{"type":"string","minLength":5,"maxLength":5}},"required":["city","zip"],"additionalProperties":false},
        "note":{"type":"string","maxLength":6}},
       "required":["name","age","score","active","nick","tags","address"],"additionalProperties":false}""";

  static final String STEPS = """
      {"$defs":{"step":{"type":"object","properties":{"explanation":{"type":"string","maxLength":12},
          "output":{"anyOf":[{"type":"integer"},{"type":"string","maxLength":3},{"type":"null"}]}},
          "required":["explanation","output"],"additionalProperties":false}},
       "type":"object","properties":{"steps":{"type":"array","items":{"$ref":"#/$defs/step"},"minItems":1,"maxItems":3},
         "final_answer":{"const":"done"}},"required":["steps","final_answer"],"additionalProperties":false}""";

  /** A bare value at the top, and escapes: short strings in random logits are dense in backslashes and UTF-8. */
  static final String WORDS = """
      {"type":"array","items":{"type":"string","maxLength":3},"minItems":2,"maxItems":4}""";

  record Generated(String text, boolean ended) {}

  static Generated generate(TokenAutomaton a, long seed, SamplingParams params, int budget) {
    GrammarTesting.RandomLogits logits = new GrammarTesting.RandomLogits(a.vocabulary().size(), seed);
    Sampler sampler = new Sampler(seed);
    TokenAutomaton.State s = a.start();
    List<Integer> tokens = new ArrayList<>();
    while (!a.isEnded(s) && tokens.size() < budget) {
      int token = sampler.sample(ConstrainedDecoding.distribution(a, s, logits.next(), params));
      s = a.advance(s, token);
      if (!a.isEnded(s)) {
        tokens.add(token);
      }
    }
    int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
    return new Generated(GrammarTesting.qwenTokenizer().decode(ids, false), a.isEnded(s));
  }

  static void assertAlwaysValid(String schema, int seeds, int budget) {
    JsonNode s = json(schema);
    TokenAutomaton a = TokenAutomaton.compile(Grammar.jsonSchema(s), GrammarTesting.qwenVocabulary());
    for (int seed = 0; seed < seeds; seed++) {
      SamplingParams params = seed % 4 == 3 ? SamplingParams.greedy() : new SamplingParams(1.0, 0, 1.0, seed);
      Generated g = generate(a, seed, params, budget);
      assertTrue(g.ended(), "seed " + seed + ": a bounded schema must end within " + budget + " tokens: " + g.text());
      assertEquals(List.of(), GrammarTesting.violations(s, g.text()), "seed " + seed + ": " + g.text());
    }
  }

  @Test
  void randomLogitsAlwaysGiveValidJsonForABoundedObject() {
    assertAlwaysValid(PERSON, 12, 600);
  }

  @Test
  void randomLogitsAlwaysGiveValidJsonWithRefsAnyOfAndConst() {
    assertAlwaysValid(STEPS, 12, 600);
  }

  @Test
  void randomLogitsAlwaysGiveValidJsonForAnArrayOfShortStrings() {
    assertAlwaysValid(WORDS, 16, 200);
  }

  @Test
  void jsonObjectIsValidWheneverItEnds() {
    TokenAutomaton a = TokenAutomaton.compile(Grammar.jsonObject(), GrammarTesting.qwenVocabulary());
    JsonNode anyObject = json("{\"type\":\"object\"}");
    int ended = 0;
    int seeds = 5;
    for (int seed = 0; seed < seeds; seed++) {
      Generated g = generate(a, 100 + seed, new SamplingParams(1.0, 0, 1.0, seed), 250);
      if (g.ended()) {
        ended++;
        assertEquals(List.of(), GrammarTesting.violations(anyObject, g.text()), "seed " + seed + ": " + g.text());
      }
    }
    assertTrue(ended >= 2, "random logits should close some objects within 250 tokens: " + ended);
  }
}
