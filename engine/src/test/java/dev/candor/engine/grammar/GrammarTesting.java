package dev.candor.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.candor.engine.testing.TestCheckpoints;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * What the grammar tests share: an independent judge of JSON (Jackson's strict parser and networknt's JSON Schema
 * validator, draft 2020-12) and a byte vocabulary (one token per byte plus an end token), on which a grammar's
 * automaton accepts exactly the texts its byte-level parser does.
 */
final class GrammarTesting {
  static final ObjectMapper JSON = new ObjectMapper()
      .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
  static final int BYTE_END = 256;

  /** Qwen2.5-Instruct's end tokens: {@code <|im_end|>} and {@code <|endoftext|>}. */
  static final List<Integer> QWEN_END = List.of(151645, 151643);
  /** Qwen2.5's logits per row (the embedding is padded past the tokenizer's 151,665 ids). */
  static final int QWEN_VOCAB = 151936;
  private static Tokenizer qwen;
  private static Vocabulary qwenVocabulary;

  private GrammarTesting() {}

  /** The Qwen2.5 tokenizer shipped with the project, loaded once per test JVM (it takes a second or two). */
  static synchronized Tokenizer qwenTokenizer() {
    if (qwen == null) {
      qwen = Tokenizer.load(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json"));
    }
    return qwen;
  }

  static synchronized Vocabulary qwenVocabulary() {
    if (qwenVocabulary == null) {
      qwenVocabulary = Vocabulary.of(qwenTokenizer(), QWEN_END, QWEN_VOCAB);
    }
    return qwenVocabulary;
  }

  static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Why {@code text} is not valid against {@code schema}: empty when it is. Unparseable JSON is a failure too. */
  static List<String> violations(JsonNode schema, String text) {
    JsonNode instance;
    try {
      // the whole text must be one JSON value: readTree alone would ignore trailing garbage
      var parser = JSON.createParser(text);
      instance = JSON.readTree(parser);
      if (instance == null || parser.nextToken() != null) {
        return List.of("not exactly one JSON value: " + text);
      }
    } catch (IOException e) {
      return List.of("not JSON (" + e.getMessage() + "): " + text);
    }
    Schema s = SCHEMAS.getSchema(schema.toString());
    return s.validate(instance).stream().map(Error::toString).toList();
  }

  /**
   * Random logits, cheaply: one row of Gaussians drawn once, handed out rotated by a random offset each time, so
   * every call ranks the vocabulary differently without drawing 151,936 numbers.
   */
  static final class RandomLogits {
    private final float[] base;
    private final java.util.SplittableRandom random;

    RandomLogits(int size, long seed) {
      random = new java.util.SplittableRandom(seed);
      base = new float[size];
      for (int i = 0; i < size; i++) {
        base[i] = (float) random.nextGaussian() * 2;
      }
    }

    float[] next() {
      int offset = random.nextInt(base.length);
      float[] out = new float[base.length];
      System.arraycopy(base, offset, out, 0, base.length - offset);
      System.arraycopy(base, 0, out, base.length - offset, offset);
      return out;
    }
  }

  /** A vocabulary of the 256 single bytes and one end token, id 256. */
  static Vocabulary byteVocabulary() {
    byte[][] tokens = new byte[257][];
    for (int b = 0; b < 256; b++) {
      tokens[b] = new byte[] {(byte) b};
    }
    tokens[BYTE_END] = "<|end|>".getBytes(StandardCharsets.UTF_8);
    return Vocabulary.of(tokens, Set.of(BYTE_END), Set.of(BYTE_END));
  }

  /** Whether the automaton takes every byte of {@code text} and is then complete (the end token is allowed). */
  static boolean accepts(TokenAutomaton automaton, byte[] text) {
    TokenAutomaton.State s = automaton.start();
    for (byte b : text) {
      if (!automaton.allowed(s).allows(b & 0xFF)) {
        return false;
      }
      s = automaton.advance(s, b & 0xFF);
    }
    return automaton.allowed(s).allows(BYTE_END);
  }

  static boolean accepts(TokenAutomaton automaton, String text) {
    return accepts(automaton, text.getBytes(StandardCharsets.UTF_8));
  }
}
