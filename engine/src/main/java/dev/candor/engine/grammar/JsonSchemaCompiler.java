package dev.candor.engine.grammar;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.NullNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema (the subset OpenAI's strict structured outputs accept, and a little more) to grammar {@link Node}s.
 *
 * <p>Supported: {@code type} (one or a list), {@code properties}, {@code required}, {@code additionalProperties}
 * (true or false), {@code enum}, {@code const}, {@code items}, {@code minItems}/{@code maxItems},
 * {@code minLength}/{@code maxLength}, {@code anyOf}, {@code $ref} to anywhere in the same document (so {@code $defs}
 * and recursion), and the annotations that constrain nothing ({@code title}, {@code description}, ...). Anything
 * else ({@code pattern}, {@code format}, {@code minimum}, {@code oneOf}, ...) is refused with a
 * {@link SchemaException} naming the path and the keyword: silently dropping a constraint would let through text
 * the client's own validator rejects.
 *
 * <p>What is generated is a subset of what the schema accepts, never more: properties in the schema's order, no
 * property the schema does not list (even where additionalProperties allows others), integers without a fraction or
 * exponent, enum values in Jackson's compact spelling.
 */
final class JsonSchemaCompiler {
  private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema",
      "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions");
  private static final Set<String> SUPPORTED = Set.of("type", "enum", "const", "anyOf", "$ref", "properties",
      "required", "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength");
  private static final List<String> TYPES = List.of("object", "array", "string", "number", "integer", "boolean", "null");

  private final JsonNode document;
  private final Map<String, Node.Ref> refs = new HashMap<>();
  private final ArrayDeque<String> unresolved = new ArrayDeque<>();
  private Node any;

  private JsonSchemaCompiler(JsonNode document) {
    this.document = document;
  }

  static Node compile(JsonNode schema) {
    if (schema == null) {
      throw new SchemaException("#", null, "no schema given");
    }
    JsonSchemaCompiler c = new JsonSchemaCompiler(schema);
    Node root = c.node(schema, "#");
    c.resolveReferences();
    return root;
  }

  /** Any JSON object (response_format json_object). */
  static Node anyObject() {
    return Node.Obj.free(new JsonSchemaCompiler(null).any());
  }

  private Node node(JsonNode schema, String path) {
    if (schema.isBoolean()) {
      if (schema.booleanValue()) {
        return any();
      }
      throw new SchemaException(path, null, "the schema false admits no value");
    }
    if (!schema.isObject()) {
      throw new SchemaException(path, null, "a schema must be an object or a boolean, not " + schema.getNodeType());
    }
    for (var it = schema.fieldNames(); it.hasNext(); ) {
      String keyword = it.next();
      if (!SUPPORTED.contains(keyword) && !ANNOTATIONS.contains(keyword)) {
        throw new SchemaException(path, keyword, "not supported by constrained decoding (supported: type, properties, "
            + "required, additionalProperties, enum, const, items, minItems, maxItems, minLength, maxLength, anyOf, $ref)");
      }
    }
    if (schema.has("$ref")) {
      alone(schema, path, "$ref");
      return reference(schema.get("$ref"), path);
    }
    if (schema.has("anyOf")) {
      alone(schema, path, "anyOf");
      return anyOf(schema.get("anyOf"), path);
    }
    List<String> types = types(schema, path);
    if (schema.has("enum") || schema.has("const")) {
      return literals(schema, types, path);
    }
    List<Node> alternatives = new ArrayList<>();
    for (String type : types) {
      alternatives.add(typed(type, schema, path));
    }
    return alternatives.size() == 1 ? alternatives.get(0) : new Node.Choice(alternatives);
  }

  /** $ref and anyOf stand alone (with annotations): their siblings would intersect, which this does not implement. */
  private static void alone(JsonNode schema, String path, String keyword) {
    for (var it = schema.fieldNames(); it.hasNext(); ) {
      String other = it.next();
      if (!other.equals(keyword) && !ANNOTATIONS.contains(other)) {
        throw new SchemaException(path, other, "beside " + keyword + " is not supported; move it into "
            + (keyword.equals("anyOf") ? "each alternative" : "the referenced schema"));
      }
    }
  }

  private Node reference(JsonNode ref, String path) {
    if (!ref.isTextual() || !ref.asText().startsWith("#")) {
      throw new SchemaException(path, "$ref", "only references inside the same schema (\"#/$defs/name\") are supported");
    }
    String pointer = ref.asText();
    if (!pointer.equals("#") && !pointer.startsWith("#/")) {
      throw new SchemaException(path, "$ref", "\"" + pointer + "\" is not a JSON pointer (anchors are not supported)");
    }
    return refs.computeIfAbsent(pointer, p -> {
      unresolved.add(p);
      return new Node.Ref();
    });
  }

  private void resolveReferences() {
    while (!unresolved.isEmpty()) {
      String pointer = unresolved.poll();
      JsonNode target;
      try {
        target = document.at(JsonPointer.compile(pointer.substring(1)));
      } catch (IllegalArgumentException e) {
        throw new SchemaException(pointer, "$ref", "not a valid JSON pointer: " + e.getMessage());
      }
      if (target.isMissingNode()) {
        throw new SchemaException(pointer, "$ref", "the reference points to nothing in the schema");
      }
      refs.get(pointer).target = node(target, pointer);
    }
  }

  private Node anyOf(JsonNode alternatives, String path) {
    if (!alternatives.isArray() || alternatives.isEmpty()) {
      throw new SchemaException(path, "anyOf", "must be a non-empty list of schemas");
    }
    List<Node> nodes = new ArrayList<>();
    for (int i = 0; i < alternatives.size(); i++) {
      nodes.add(node(alternatives.get(i), path + "/anyOf/" + i));
    }
    return new Node.Choice(nodes);
  }

  /** The listed types ("integer" folded into "number" when both are there); all of them when none is given. */
  private static List<String> types(JsonNode schema, String path) {
    JsonNode type = schema.get("type");
    if (type == null) {
      return List.of("object", "array", "string", "number", "boolean", "null");
    }
    List<JsonNode> listed = new ArrayList<>();
    if (type.isArray()) {
      type.forEach(listed::add);
    } else {
      listed.add(type);
    }
    Set<String> types = new LinkedHashSet<>();
    for (JsonNode t : listed) {
      if (!t.isTextual() || !TYPES.contains(t.asText())) {
        throw new SchemaException(path, "type", t + " is not a JSON Schema type (" + String.join(", ", TYPES) + ")");
      }
      types.add(t.asText());
    }
    if (types.isEmpty()) {
      throw new SchemaException(path, "type", "an empty list of types admits no value");
    }
    if (types.contains("number")) {
      types.remove("integer");
    }
    return List.copyOf(types);
  }

  private Node typed(String type, JsonNode schema, String path) {
    return switch (type) {
      case "string" -> {
        int min = count(schema, "minLength", 0, path);
        int max = count(schema, "maxLength", Node.UNBOUNDED, path);
        if (min > max) {
          throw new SchemaException(path, "minLength", "minLength " + min + " is above maxLength " + max);
        }
        yield new Node.Str(min, max);
      }
      case "number" -> new Node.Num(false);
      case "integer" -> new Node.Num(true);
      case "boolean" -> texts(List.of(BooleanNode.TRUE, BooleanNode.FALSE));
      case "null" -> texts(List.of(NullNode.getInstance()));
      case "array" -> array(schema, path);
      default -> object(schema, path);
    };
  }

  private Node array(JsonNode schema, String path) {
    JsonNode items = schema.get("items");
    if (items != null && items.isArray()) {
      throw new SchemaException(path, "items", "a list of schemas (tuple validation) is not supported");
    }
    Node itemNode = items == null ? any() : node(items, path + "/items");
    int min = count(schema, "minItems", 0, path);
    int max = count(schema, "maxItems", Node.UNBOUNDED, path);
    if (min > max) {
      throw new SchemaException(path, "minItems", "minItems " + min + " is above maxItems " + max);
    }
    return new Node.Arr(itemNode, min, max);
  }

  private Node object(JsonNode schema, String path) {
    JsonNode properties = schema.get("properties");
    if (properties != null && !properties.isObject()) {
      throw new SchemaException(path, "properties", "must be an object of property schemas");
    }
    JsonNode additional = schema.get("additionalProperties");
    boolean extraAllowed = additional == null || additional.equals(BooleanNode.TRUE)
        || (additional.isObject() && additional.isEmpty());
    if (additional != null && !extraAllowed && !additional.equals(BooleanNode.FALSE)) {
      throw new SchemaException(path, "additionalProperties", "only true or false is supported, not a schema");
    }
    List<String> required = required(schema, path);
    if ((properties == null || properties.isEmpty()) && extraAllowed && required.isEmpty()) {
      return Node.Obj.free(any());
    }
    List<String> names = new ArrayList<>();
    List<Node> values = new ArrayList<>();
    if (properties != null) {
      for (var it = properties.fields(); it.hasNext(); ) {
        var e = it.next();
        names.add(e.getKey());
        values.add(node(e.getValue(), path + "/properties/" + escape(e.getKey())));
      }
    }
    for (String r : required) {
      if (!names.contains(r)) {
        if (!extraAllowed) {
          throw new SchemaException(path, "required", "\"" + r + "\" is required but is not among the properties, "
              + "and additionalProperties is false");
        }
        names.add(r);
        values.add(any());
      }
    }
    boolean[] isRequired = new boolean[names.size()];
    for (int i = 0; i < names.size(); i++) {
      isRequired[i] = required.contains(names.get(i));
    }
    return Node.Obj.fixed(names, values, isRequired);
  }

  private static List<String> required(JsonNode schema, String path) {
    JsonNode required = schema.get("required");
    if (required == null) {
      return List.of();
    }
    if (!required.isArray()) {
      throw new SchemaException(path, "required", "must be a list of property names");
    }
    List<String> names = new ArrayList<>();
    for (JsonNode r : required) {
      if (!r.isTextual()) {
        throw new SchemaException(path, "required", "must be a list of property names, found " + r);
      }
      if (!names.contains(r.asText())) {
        names.add(r.asText());
      }
    }
    return names;
  }

  /** enum / const, keeping the values of the schema's types. */
  private Node literals(JsonNode schema, List<String> types, String path) {
    for (var it = schema.fieldNames(); it.hasNext(); ) {
      String other = it.next();
      if (!Set.of("type", "enum", "const").contains(other) && !ANNOTATIONS.contains(other)) {
        throw new SchemaException(path, other, "beside enum or const is not supported");
      }
    }
    List<JsonNode> values = new ArrayList<>();
    if (schema.has("enum")) {
      JsonNode e = schema.get("enum");
      if (!e.isArray() || e.isEmpty()) {
        throw new SchemaException(path, "enum", "must be a non-empty list of values");
      }
      e.forEach(values::add);
    }
    if (schema.has("const")) {
      JsonNode c = schema.get("const");
      values = schema.has("enum") ? values.stream().filter(c::equals).toList() : List.of(c);
    }
    List<JsonNode> kept = values.stream().filter(v -> types.stream().anyMatch(t -> hasType(v, t))).toList();
    if (kept.isEmpty()) {
      throw new SchemaException(path, schema.has("enum") ? "enum" : "const", "no value is of the schema's type");
    }
    return texts(kept);
  }

  private static boolean hasType(JsonNode v, String type) {
    return switch (type) {
      case "object" -> v.isObject();
      case "array" -> v.isArray();
      case "string" -> v.isTextual();
      case "number" -> v.isNumber();
      case "integer" -> v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0);
      case "boolean" -> v.isBoolean();
      default -> v.isNull();
    };
  }

  private static Node texts(List<JsonNode> values) {
    LiteralTrie trie = new LiteralTrie();
    for (JsonNode v : values) {
      trie.add(JsonText.of(v), 0);
    }
    return new Node.Literals(trie, false);
  }

  private static int count(JsonNode schema, String keyword, int absent, String path) {
    JsonNode v = schema.get(keyword);
    if (v == null) {
      return absent;
    }
    if (!v.isNumber() || v.doubleValue() < 0 || v.doubleValue() != Math.floor(v.doubleValue())) {
      throw new SchemaException(path, keyword, "must be a non-negative integer, got " + v);
    }
    return (int) Math.min(v.doubleValue(), Node.UNBOUNDED - 1);
  }

  /** Any JSON value: one recursive node shared by every place that needs it in this schema. */
  private Node any() {
    if (any == null) {
      Node.Ref self = new Node.Ref();
      Node.Choice choice = new Node.Choice(List.of(Node.Obj.free(self), new Node.Arr(self, 0, Node.UNBOUNDED),
          new Node.Str(0, Node.UNBOUNDED), new Node.Num(false), texts(List.of(BooleanNode.TRUE, BooleanNode.FALSE)),
          texts(List.of(NullNode.getInstance()))));
      self.target = choice;
      any = choice;
    }
    return any;
  }

  private static String escape(String name) {
    return name.replace("~", "~0").replace("/", "~1");
  }
}
