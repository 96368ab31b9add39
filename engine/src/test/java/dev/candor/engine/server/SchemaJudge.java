package dev.candor.engine.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.util.List;

/**
 * The independent judge of what the server returns under a constraint: Jackson's strict parser (exactly one JSON
 * value, no duplicate keys) and networknt's JSON Schema validator (draft 2020-12), the grammar tests' reference.
 */
final class SchemaJudge {
  static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

  private SchemaJudge() {}

  /** Why {@code text} is not one JSON value valid against {@code schema}: empty when it is. */
  static List<String> violations(JsonNode schema, String text) {
    JsonNode instance;
    try (JsonParser parser = JSON.createParser(text)) {
      instance = JSON.readTree(parser);
      if (instance == null || parser.nextToken() != null) {
        return List.of("not exactly one JSON value: " + text);
      }
    } catch (IOException e) {
      return List.of("not JSON (" + e.getMessage() + "): " + text);
    }
    return SCHEMAS.getSchema(schema.toString()).validate(instance).stream().map(Error::toString).toList();
  }

  static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
