package dev.candor.engine.grammar;

import static dev.candor.engine.grammar.GrammarTesting.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.generate.Draft;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.sampling.Sampler;
import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Real models through {@link Sequence}, the mask and the rejection sampler, the loop the generator will run:
 * the default code-trace model (a 256-byte BPE that has never seen JSON) with its drafter, and a random-weight model
 * of Qwen's vocabulary with another as drafter. Every seed, greedy or sampled, plain or speculative, must give JSON
 * the independent validator accepts.
 */
class ConstrainedModelsTest {
  // small enough that its longest text (every whitespace slot full) fits the default model's 512 positions
  static final String ANSWER = """
      {"type":"object","properties":{"answer":{"type":"integer"},"correct":{"type":"boolean"},
       "unit":{"enum":["none","ms"]}},"required":["answer","correct","unit"],"additionalProperties":false}""";

  /**
   * Generates under {@code automaton} as the generator does: the target holds every committed token but the last;
   * the drafter (if any) drafts k masked tokens; one target forward scores them; both caches roll back.
   */
  static List<Integer> generate(Backend target, Backend drafter, TokenAutomaton automaton, int[] prompt, int k,
      SamplingParams params, int maxTokens) {
    Sampler sampler = new Sampler(params.seed());
    int capacity = prompt.length + maxTokens + k + 2;
    List<Integer> committed = new ArrayList<>(Arrays.stream(prompt).boxed().toList());
    List<Integer> out = new ArrayList<>();
    try (Sequence t = target.newSequence(capacity); Sequence d = drafter == null ? null : drafter.newSequence(capacity)) {
      int[] head = Arrays.copyOf(prompt, prompt.length - 1);
      t.forward(head, 0);
      if (d != null) {
        d.forward(head, 0);
      }
      TokenAutomaton.State state = automaton.start();
      while (!automaton.isEnded(state) && out.size() < maxTokens) {
        int base = t.length();
        ConstrainedDecoding.ConstrainedDraft draft = d == null
            ? new ConstrainedDecoding.ConstrainedDraft(Draft.EMPTY, new TokenAutomaton.State[] {state})
            : ConstrainedDecoding.draft(automaton, state, d.forward(slice(committed, d.length()), 1).logits()[0],
                d::decode, k, params, sampler);
        int[] feed = concat(slice(committed, base), draft.draft().tokens());
        float[][] logits = t.forward(feed, draft.size() + 1).logits();
        ConstrainedDecoding.Step step = ConstrainedDecoding.verify(automaton, draft, logits, params, sampler);
        int accepted = step.verdict().accepted();
        for (int i = 0; i < accepted; i++) {
          committed.add(draft.draft().tokens()[i]);
          out.add(draft.draft().tokens()[i]);
        }
        if (!step.ended()) {
          committed.add(step.verdict().next());
          out.add(step.verdict().next());
        }
        t.truncate(base + 1 + accepted);
        if (d != null && d.length() > base + 1 + accepted) {
          d.truncate(base + 1 + accepted);
        }
        state = step.state();
      }
      assertTrue(automaton.isEnded(state), "no end within " + maxTokens + " tokens");
    }
    return out;
  }

  static String text(Tokenizer tokenizer, TokenAutomaton automaton, List<Integer> tokens) {
    int[] ids = tokens.stream().filter(id -> !automaton.vocabulary().isEnd(id)).mapToInt(Integer::intValue).toArray();
    return tokenizer.decode(ids, false);
  }

  static int[] slice(List<Integer> list, int from) {
    return list.subList(from, list.size()).stream().mapToInt(Integer::intValue).toArray();
  }

  static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/default/target"))) {
        return p;
      }
    }
    throw new IllegalStateException("models/default not found");
  }

  @Test
  void theDefaultModelWritesValidJsonOnEverySeed() {
    Path models = repoRoot().resolve("models/default");
    try (LoadedModel target = LoadedModel.load(models.resolve("target"), "cpu", "java");
        LoadedModel drafter = LoadedModel.load(models.resolve("drafter"), "cpu", "java")) {
      Vocabulary vocabulary = Vocabulary.of(target.tokenizer(), target.eosTokens(), target.backend().config().vocabSize());
      JsonNode schema = json(ANSWER);
      TokenAutomaton automaton = TokenAutomaton.compile(Grammar.jsonSchema(schema), vocabulary);
      int[] prompt = target.tokenizer().encode("<|im_start|>user\nTrace this program:\na = 347\nb = a * 26\n"
          + "print(b)\nAnswer in JSON.<|im_end|>\n<|im_start|>assistant\n");
      int room = target.backend().config().maxPositionEmbeddings() - prompt.length - 8;
      int accepted = 0;
      for (int seed = 0; seed < 12; seed++) {
        SamplingParams params = seed % 4 == 0 ? SamplingParams.greedy() : new SamplingParams(1.0, 0, 1.0, seed);
        boolean speculative = seed % 2 == 0;
        List<Integer> out = generate(target.backend(), speculative ? drafter.backend() : null, automaton, prompt, 4,
            params, room);
        String text = text(target.tokenizer(), automaton, out);
        assertEquals(List.of(), GrammarTesting.violations(schema, text), "seed " + seed + ": " + text);
        accepted += out.size();
      }
      assertTrue(accepted > 12 * 10, "the answers are real text, not empty: " + accepted + " tokens");
    }
  }

  @Test
  void aRandomWeightModelOfQwensVocabularyWritesValidJsonSpeculatively() {
    Tokenizer tokenizer = GrammarTesting.qwenTokenizer();
    Path dir = TestCheckpoints.qwenTokenizer();
    try (Checkpoint t = Checkpoint.open(TestCheckpoints.write("grammar-target",
            TestCheckpoints.tiny(GrammarTesting.QWEN_VOCAB, true), 41, 0.5, DType.F32, 0, dir));
        Checkpoint d = Checkpoint.open(TestCheckpoints.write("grammar-drafter",
            TestCheckpoints.tiny(GrammarTesting.QWEN_VOCAB, true), 42, 0.5, DType.F32, 0, dir));
        JavaBackend target = JavaBackend.load(t);
        JavaBackend drafter = JavaBackend.load(d)) {
      JsonNode schema = json(ConstrainedGenerationTest.PERSON);
      TokenAutomaton automaton = TokenAutomaton.compile(Grammar.jsonSchema(schema), GrammarTesting.qwenVocabulary());
      int[] prompt = tokenizer.encode("<|im_start|>user\nDescribe a person as JSON.<|im_end|>\n<|im_start|>assistant\n");
      for (int seed = 0; seed < 2; seed++) {
        SamplingParams params = seed == 1 ? SamplingParams.greedy() : new SamplingParams(1.0, 0, 1.0, seed);
        List<Integer> out = generate(target, drafter, automaton, prompt, 3, params, 400);
        String text = text(tokenizer, automaton, out);
        assertEquals(List.of(), GrammarTesting.violations(schema, text), "seed " + seed + ": " + text);
      }
    }
  }
}
