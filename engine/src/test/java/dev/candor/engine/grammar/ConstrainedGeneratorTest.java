package dev.candor.engine.grammar;

import static dev.candor.engine.grammar.GrammarTesting.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.generate.FinishReason;
import dev.candor.engine.generate.GenerationRequest;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.sampling.LogitAdjustments;
import dev.candor.engine.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The grammar inside the real decode loop: the default code-trace model, with and without its drafter, greedy and
 * sampled, with penalties on top, always writes JSON an independent validator accepts for the schema, ends with an
 * end-of-sequence token, and greedy speculative output equals greedy plain output token for token.
 */
class ConstrainedGeneratorTest {
  static LoadedModel target;
  static LoadedModel drafter;
  static TokenAutomaton automaton;
  static JsonNode schema;
  static int[] prompt;

  @BeforeAll
  static void load() {
    Path models = ConstrainedModelsTest.repoRoot().resolve("models/default");
    target = LoadedModel.load(models.resolve("target"), "cpu", "java");
    drafter = LoadedModel.load(models.resolve("drafter"), "cpu", "java");
    schema = json(ConstrainedModelsTest.ANSWER);
    automaton = TokenAutomaton.compile(Grammar.jsonSchema(schema),
        Vocabulary.of(target.tokenizer(), target.eosTokens(), target.backend().config().vocabSize()));
    prompt = target.tokenizer().encode("<|im_start|>user\nTrace this program:\na = 347\nb = a * 26\nprint(b)\n"
        + "Answer in JSON.<|im_end|>\n<|im_start|>assistant\n");
  }

  @AfterAll
  static void close() {
    target.close();
    drafter.close();
  }

  static GenerationResult generate(boolean speculative, SamplingParams params, LogitAdjustments adjust) {
    Generator generator = new Generator(target.backend(), speculative ? drafter.backend() : null, target.tokenizer(),
        target.eosTokens(), 4);
    int room = generator.contextWindow() - prompt.length - 8;
    GenerationRequest request = GenerationRequest.builder(room, params).constraint(automaton).adjustments(adjust)
        .build();
    return generator.generate(prompt, request, (r, o, t) -> { });
  }

  @Test
  void everySeedWritesSchemaValidJson() {
    int tokens = 0;
    for (int seed = 0; seed < 10; seed++) {
      SamplingParams params = seed % 5 == 0 ? SamplingParams.greedy() : new SamplingParams(1.0, 0, 1.0, seed);
      LogitAdjustments adjust = seed % 3 == 0 ? new LogitAdjustments(1.2, 0.5, 0.5, Map.of()) : LogitAdjustments.NONE;
      GenerationResult r = generate(seed % 2 == 0, params, adjust);
      assertEquals(FinishReason.STOP, r.finishReason(), "seed " + seed + " ends where the grammar does: " + r.text());
      assertEquals(List.of(), GrammarTesting.violations(schema, r.text()), "seed " + seed + ": " + r.text());
      tokens += r.tokens().size();
    }
    assertTrue(tokens > 10 * 10, "real answers, not empty ones: " + tokens + " tokens");
  }

  @Test
  void greedySpeculativeEqualsGreedyPlain() {
    GenerationResult plain = generate(false, SamplingParams.greedy(), LogitAdjustments.NONE);
    GenerationResult speculative = generate(true, SamplingParams.greedy(), LogitAdjustments.NONE);
    assertArrayEquals(plain.tokens().stream().mapToInt(TokenRecord::token).toArray(),
        speculative.tokens().stream().mapToInt(TokenRecord::token).toArray());
    assertTrue(speculative.stats().nAccepted() > 0, "the drafter's tokens were accepted under the mask");
    for (TokenRecord r : speculative.tokens()) {
      assertTrue(Double.isFinite(r.rawLogprob()), "every token keeps the model's raw logprob");
    }
  }

  @Test
  void aConstrainedGenerationCannotIgnoreTheEnd() {
    Generator generator = new Generator(target.backend(), null, target.tokenizer(), target.eosTokens(), 0);
    GenerationRequest request = GenerationRequest.builder(8, SamplingParams.greedy()).constraint(automaton)
        .ignoreEos(true).build();
    assertThrows(IllegalArgumentException.class, () -> generator.generate(prompt, request, (r, o, t) -> { }));
  }
}
