package dev.candor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.grammar.Grammar;
import dev.candor.engine.grammar.TokenAutomaton;
import dev.candor.engine.grammar.TokenMask;
import dev.candor.engine.grammar.Vocabulary;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What constrained decoding costs per token, against what a token costs anyway: a Qwen2.5-0.5B-shaped decode step
 * ({@link DecodeStep}, in the same run). {@link PerToken} walks a 66-token JSON reply (Qwen2.5's tokenizer, its
 * 151,936-id vocabulary) through the automaton: per token, the mask, setting the forbidden logits of a 151,936-float
 * row to −∞ (in place, as the generator does), and the advance. {@code cached} is a server's steady state (the schema seen before: every mask in
 * the cache); {@code cold} is a schema's first request, every mask computed as it is reached. {@link Compile} is the
 * precompute per schema: compiling it and computing the mask of every state reachable from the start.
 */
public final class GrammarBenchmarks {
  private GrammarBenchmarks() {}

  static final String JVM = "--add-modules=jdk.incubator.vector";
  static final int QWEN_VOCAB = 151936;
  static final String SCHEMA = """
      {"type":"object","properties":{"name":{"type":"string"},"date":{"type":"string"},
       "participants":{"type":"array","items":{"type":"string"}},
       "location":{"type":"object","properties":{"city":{"type":"string"},"country":{"type":"string"}},
         "required":["city","country"],"additionalProperties":false},
       "priority":{"enum":["low","normal","high"]},"duration_minutes":{"type":"integer"}},
       "required":["name","date","participants","location","priority","duration_minutes"],"additionalProperties":false}""";
  static final String REPLY = "{\"name\": \"Science fair\", \"date\": \"2026-12-04\", \"participants\": [\"Alice\", "
      + "\"Bob\", \"Charlie\"], \"location\": {\"city\": \"Zürich\", \"country\": \"Switzerland\"}, \"priority\": "
      + "\"high\", \"duration_minutes\": 90}";

  static Grammar grammar(String kind) {
    try {
      return kind.equals("json_object") ? Grammar.jsonObject()
          : Grammar.jsonSchema(new ObjectMapper().readTree(SCHEMA));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The vocabulary and the reply's tokens, shared by the per-token and the precompute benchmarks. */
  @State(Scope.Benchmark)
  public static class Qwen {
    Tokenizer tokenizer;
    Vocabulary vocabulary;
    int[] reply; // the reply's tokens, then <|im_end|>
    float[] row; // a row of logits, masked in place

    @Setup(Level.Trial)
    public void load() {
      tokenizer = Tokenizer.load(BenchCheckpoints.repoRoot().resolve("models/tokenizers/qwen2.5/tokenizer.json"));
      vocabulary = Vocabulary.of(tokenizer, List.of(151645, 151643), QWEN_VOCAB);
      int[] text = tokenizer.encode(REPLY);
      reply = java.util.Arrays.copyOf(text, text.length + 1);
      reply[text.length] = 151645;
      SplittableRandom random = new SplittableRandom(1);
      row = new float[QWEN_VOCAB];
      for (int i = 0; i < QWEN_VOCAB; i++) {
        row[i] = (float) (3 * random.nextGaussian());
      }
    }

    @TearDown(Level.Trial)
    public void close() {
      tokenizer.close();
    }
  }

  /** One reply, token by token: mask, masked logits, advance. Reported per token. */
  @State(Scope.Benchmark)
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Fork(value = 2, jvmArgsAppend = {JVM, "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
  @Warmup(iterations = 3, time = 2)
  @Measurement(iterations = 5, time = 2)
  public static class PerToken {
    static final int TOKENS = 67; // REPLY is 66 Qwen2.5 tokens, then the end token (checked at setup)

    @Param({"json_schema", "json_object"})
    public String kind;

    private TokenAutomaton warm;
    private TokenAutomaton fresh;
    private Qwen qwen;

    @Setup(Level.Trial)
    public void setUp(Qwen q) {
      qwen = q;
      if (q.reply.length != TOKENS) {
        throw new IllegalStateException("the reply is " + q.reply.length + " tokens; set TOKENS to that");
      }
      warm = TokenAutomaton.compile(grammar(kind), q.vocabulary);
      walk(warm); // every mask along the reply now cached
    }

    @Setup(Level.Invocation)
    public void freshAutomaton() {
      fresh = TokenAutomaton.compile(grammar(kind), qwen.vocabulary);
    }

    private float walk(TokenAutomaton a) {
      TokenAutomaton.State s = a.start();
      float sum = 0;
      float[] row = qwen.row; // masking it again does the same work: the mask, not the values, decides what is written
      for (int token : qwen.reply) {
        TokenMask mask = a.allowed(s);
        mask.applyTo(row);
        sum += row[token];
        s = a.advance(s, token);
      }
      return sum;
    }

    /** The schema seen before: masks from the cache. */
    @Benchmark
    @OperationsPerInvocation(TOKENS)
    public float cached() {
      return walk(warm);
    }

    /** A schema's first request: every mask computed when its state is first reached. */
    @Benchmark
    @OperationsPerInvocation(TOKENS)
    public float cold() {
      return walk(fresh);
    }
  }

  /** Per schema: compile, and compute the mask of every state reachable from the start (bounded). */
  @State(Scope.Benchmark)
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Fork(value = 2, jvmArgsAppend = {JVM, "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
  @Warmup(iterations = 2)
  @Measurement(iterations = 5)
  public static class Compile {
    /** The bound on states precomputed (json_object has no end of them: nesting and counters). */
    static final int MAX_STATES = 5000;

    @Benchmark
    public int precomputeSchema(Qwen q) {
      return TokenAutomaton.compile(grammar("json_schema"), q.vocabulary).precompute(MAX_STATES);
    }

    @Benchmark
    public int compileOnly(Qwen q) {
      return TokenAutomaton.compile(grammar("json_schema"), q.vocabulary).start().hashCode();
    }
  }

  /** The yardstick, in the same run: one decode step of a random Qwen2.5-0.5B-shaped checkpoint, Java backend. */
  @State(Scope.Benchmark)
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Fork(value = 2, jvmArgsAppend = {JVM, "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true", "-Xmx6g"})
  @Warmup(iterations = 3, time = 2)
  @Measurement(iterations = 5, time = 2)
  public static class DecodeStep {
    private LoadedModel loaded;
    private Sequence sequence;

    @Setup(Level.Trial)
    public void load() {
      loaded = LoadedModel.load(BenchCheckpoints.get("qwen2.5-0.5b", 0), "cpu", "java");
      sequence = loaded.backend().newSequence(80);
      int[] prompt = new int[64];
      for (int i = 0; i < prompt.length; i++) {
        prompt[i] = 32 + i % 90;
      }
      sequence.prefill(prompt);
    }

    @Benchmark
    public float[] decodeStep() {
      float[] logits = sequence.decode(42);
      sequence.truncate(64);
      return logits;
    }

    @TearDown(Level.Trial)
    public void close() {
      sequence.close();
      loaded.close();
    }
  }
}
