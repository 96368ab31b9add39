package dev.candor.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A language of texts a generation must stay inside: a JSON document (any object, for response_format json_object;
 * one schema's, for json_schema), or a composition of literal text and JSON values (a tool call is
 * {@code <tool_call>\n}, a JSON object, {@code \n</tool_call>}, repeated). Immutable; {@link #key} identifies it for
 * caching compiled automata. Compile one against a vocabulary with {@link TokenAutomaton#compile} or through a
 * {@link GrammarCache}.
 */
public final class Grammar {
  final Node root;
  private final String key;

  private Grammar(Node root, String key) {
    Node.settle(root);
    if (root.minDepth > Node.MAX_DEPTH) {
      throw new SchemaException("#", null, root.minDepth >= Node.UNREACHABLE
          ? "the schema admits no value (an empty enum, minItems above maxItems, a required property that can never be "
              + "written, or a reference that only ever refers to itself)"
          : "its shortest value nests deeper than " + (Node.MAX_DEPTH - 2) + " levels");
    }
    this.root = root;
    this.key = key;
  }

  /** response_format {"type": "json_object"}: any JSON object, with bounded whitespace around it. */
  public static Grammar jsonObject() {
    return document(JsonSchemaCompiler.anyObject(), "json_object");
  }

  /**
   * response_format {"type": "json_schema"}: a JSON document valid against {@code schema}, with bounded whitespace
   * around it. Objects write their properties in the schema's order.
   *
   * @throws SchemaException for a keyword this does not support, naming the path and the keyword
   */
  public static Grammar jsonSchema(JsonNode schema) {
    return document(JsonSchemaCompiler.compile(schema), "schema:" + schema);
  }

  /** A JSON value valid against {@code schema}, with no whitespace around it: a part for {@link #sequence}. */
  public static Grammar json(JsonNode schema) {
    return new Grammar(JsonSchemaCompiler.compile(schema), "value:" + schema);
  }

  /** Exactly {@code text}: markup around JSON (an added token spelling part of it, such as {@code <tool_call>}, may too). */
  public static Grammar literal(String text) {
    LiteralTrie trie = new LiteralTrie();
    trie.add(text.getBytes(StandardCharsets.UTF_8), 0);
    return new Grammar(new Node.Literals(trie, true),
        "literal:" + new String(JsonText.quote(text), StandardCharsets.UTF_8));
  }

  /** The parts one after another. */
  public static Grammar sequence(Grammar... parts) {
    List<Node> nodes = new ArrayList<>();
    StringBuilder k = new StringBuilder("seq(");
    for (Grammar g : parts) {
      nodes.add(g.root);
      k.append(g.key.length()).append(':').append(g.key);
    }
    return new Grammar(new Node.Seq(nodes), k.append(')').toString());
  }

  /** Any one of the alternatives. */
  public static Grammar anyOf(List<Grammar> alternatives) {
    List<Node> nodes = new ArrayList<>();
    StringBuilder k = new StringBuilder("any(");
    for (Grammar g : alternatives) {
      nodes.add(g.root);
      k.append(g.key.length()).append(':').append(g.key);
    }
    return new Grammar(new Node.Choice(nodes), k.append(')').toString());
  }

  /**
   * {@code min..max} copies of this grammar with {@code separator} between them.
   *
   * @param max a bound, or {@link Integer#MAX_VALUE} for none
   */
  public Grammar repeat(Grammar separator, int min, int max) {
    if (min < 0 || max < Math.max(min, 1)) {
      throw new IllegalArgumentException("repeat needs 0 <= min <= max and max >= 1, got " + min + ".." + max);
    }
    return new Grammar(new Node.Repeat(root, separator.root, min, max),
        "rep(" + min + "," + max + "," + separator.key.length() + ":" + separator.key + key + ")");
  }

  private static Grammar document(Node value, String key) {
    return new Grammar(new Node.Seq(List.of(new Node.Ws(), value, new Node.Ws())), "document:" + key);
  }

  /** Identifies the language: equal keys, equal grammars (the cache's key, with the vocabulary). */
  public String key() {
    return key;
  }

  @Override
  public String toString() {
    return key.length() <= 200 ? key : key.substring(0, 200) + "...";
  }
}
