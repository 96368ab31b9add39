package dev.candor.engine.grammar;

import static dev.candor.engine.grammar.GrammarTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.tools.FunctionSpec;
import dev.candor.engine.tools.HermesFormat;
import dev.candor.engine.tools.ToolCall;
import dev.candor.engine.tools.ToolCallParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * tool_choice "required" and a named function, by constrained decoding: whatever the logits, the text is one or
 * more hermes blocks that the tool-call parser reads back as calls of the offered functions, each with arguments the
 * independent validator accepts against that function's parameters.
 */
class ToolCallGrammarTest {
  static final List<FunctionSpec> FUNCTIONS = List.of(
      new FunctionSpec("get_weather", json("""
          {"type":"object","properties":{"city":{"type":"string","maxLength":10},
           "unit":{"enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}""")),
      new FunctionSpec("get_time", json("""
          {"$defs":{"zone":{"type":"string","maxLength":6}},"type":"object",
           "properties":{"zone":{"$ref":"#/$defs/zone"}},"required":["zone"],"additionalProperties":false}""")),
      new FunctionSpec("ping", null));

  static List<ToolCall> generate(TokenAutomaton a, long seed, int budget) {
    GrammarTesting.RandomLogits logits = new GrammarTesting.RandomLogits(a.vocabulary().size(), seed);
    Sampler sampler = new Sampler(seed);
    SamplingParams params = seed % 3 == 2 ? SamplingParams.greedy() : new SamplingParams(1.0, 0, 1.0, seed);
    TokenAutomaton.State s = a.start();
    List<Integer> tokens = new ArrayList<>();
    while (!a.isEnded(s)) {
      assertTrue(tokens.size() < budget, "no end within " + budget + " tokens");
      int token = sampler.sample(ConstrainedDecoding.distribution(a, s, logits.next(), params));
      s = a.advance(s, token);
      if (!a.isEnded(s)) {
        tokens.add(token);
      }
    }
    String text = GrammarTesting.qwenTokenizer().decode(tokens.stream().mapToInt(Integer::intValue).toArray(), false);
    Set<String> names = FUNCTIONS.stream().map(FunctionSpec::name).collect(Collectors.toSet());
    ToolCallParser.Parsed parsed = ToolCallParser.parse(text, names, ToolCallParser.randomIds());
    assertNull(parsed.content(), "nothing but calls: " + text);
    Map<String, FunctionSpec> byName = FUNCTIONS.stream().collect(Collectors.toMap(FunctionSpec::name,
        Function.identity()));
    for (ToolCall call : parsed.calls()) {
      assertEquals(List.of(), GrammarTesting.violations(byName.get(call.name()).parameters(), call.arguments()),
          call + " in " + text);
    }
    return parsed.calls();
  }

  @Test
  void requiredGivesOneValidCallOfAnOfferedFunction() {
    TokenAutomaton a = TokenAutomaton.compile(HermesFormat.grammar(FUNCTIONS, 1, 1), GrammarTesting.qwenVocabulary());
    for (int seed = 0; seed < 6; seed++) {
      assertEquals(1, generate(a, seed, 300).size());
    }
  }

  @Test
  void parallelCallsGiveOneToThreeValidCalls() {
    TokenAutomaton a = TokenAutomaton.compile(HermesFormat.grammar(FUNCTIONS, 1, 3), GrammarTesting.qwenVocabulary());
    int most = 0;
    for (int seed = 0; seed < 4; seed++) {
      int n = generate(a, 20 + seed, 600).size();
      assertTrue(n >= 1 && n <= 3, "calls: " + n);
      most = Math.max(most, n);
    }
    assertTrue(most > 1, "random logits should make more than one call sometimes");
  }

  @Test
  void aNamedFunctionIsTheOnlyOneCalled() {
    TokenAutomaton a = TokenAutomaton.compile(HermesFormat.grammar(FUNCTIONS.subList(1, 2), 1, 1),
        GrammarTesting.qwenVocabulary());
    for (int seed = 0; seed < 4; seed++) {
      assertEquals("get_time", generate(a, 40 + seed, 300).get(0).name());
    }
  }

  @Test
  void aFunctionWhoseParametersUseAnUnsupportedKeywordIsRefusedWithItsPath() {
    SchemaException e = assertThrows(SchemaException.class, () -> HermesFormat.grammar(List.of(new FunctionSpec("f",
        json("{\"type\":\"object\",\"properties\":{\"d\":{\"type\":\"string\",\"format\":\"date\"}}}"))), 1, 1));
    assertEquals("#/properties/d", e.path());
    assertEquals("format", e.keyword());
  }
}
