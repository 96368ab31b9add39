package dev.candor.engine.grammar;

import static dev.candor.engine.grammar.GrammarTesting.json;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Compile errors: every schema feature constrained decoding does not implement is refused with the path and the
 * keyword (the server's 400 says what to change), as are malformed values and schemas that admit no value.
 */
class SchemaCompileTest {
  @ParameterizedTest(name = "{1} at {2}")
  @CsvSource(delimiter = '|', value = {
      "{\"type\":\"string\",\"pattern\":\"^a\"}                                         | pattern              | #",
      "{\"type\":\"string\",\"format\":\"date\"}                                        | format               | #",
      "{\"type\":\"integer\",\"minimum\":0}                                             | minimum              | #",
      "{\"type\":\"number\",\"multipleOf\":2}                                           | multipleOf           | #",
      "{\"oneOf\":[{\"type\":\"string\"}]}                                              | oneOf                | #",
      "{\"allOf\":[{\"type\":\"string\"}]}                                              | allOf                | #",
      "{\"not\":{\"type\":\"string\"}}                                                  | not                  | #",
      "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"uniqueItems\":true}}} | uniqueItems     | #/properties/a",
      "{\"type\":\"object\",\"patternProperties\":{\"^a\":{}}}                          | patternProperties    | #",
      "{\"type\":\"object\",\"minProperties\":1}                                        | minProperties        | #",
      "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}             | additionalProperties | #",
      "{\"type\":\"array\",\"prefixItems\":[{}]}                                        | prefixItems          | #",
      "{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}                           | items                | #",
      "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"contentEncoding\":\"base64\"}} | contentEncoding   | #/items",
      "{\"type\":\"object\",\"properties\":{\"a/b\":{\"if\":{}}}}                       | if                   | #/properties/a~1b",
      "{\"$ref\":\"https://example.com/s.json\"}                                        | $ref                 | #",
      "{\"$ref\":\"#/$defs/missing\"}                                                   | $ref                 | #/$defs/missing",
      "{\"type\":\"string\",\"anyOf\":[{\"maxLength\":2}]}                              | type                 | #",
      "{\"enum\":[\"a\"],\"maxLength\":3}                                               | maxLength            | #",
      "{\"type\":\"strin\"}                                                             | type                 | #",
      "{\"type\":\"string\",\"minLength\":-1}                                           | minLength            | #",
      "{\"type\":\"string\",\"maxLength\":2.5}                                          | maxLength            | #",
      "{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}                            | minLength            | #",
      "{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}                               | minItems             | #",
      "{\"enum\":[]}                                                                    | enum                 | #",
      "{\"type\":\"integer\",\"enum\":[\"a\",1.5]}                                      | enum                 | #",
      "{\"type\":\"object\",\"required\":\"a\"}                                         | required             | #",
      "{\"type\":\"object\",\"properties\":{},\"required\":[\"a\"],\"additionalProperties\":false} | required      | #",
      "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"nullable\":true}}} | nullable          | #/properties/a",
  })
  void refusesWithPathAndKeyword(String schema, String keyword, String path) {
    SchemaException e = assertThrows(SchemaException.class, () -> Grammar.jsonSchema(json(schema)), schema);
    assertEquals(keyword, e.keyword(), e.getMessage());
    assertEquals(path, e.path(), e.getMessage());
    assertTrue(e.getMessage().contains(path) && e.getMessage().contains("'" + keyword + "'"), e.getMessage());
  }

  @Test
  void refusesSchemasThatAdmitNoValue() {
    for (String schema : new String[] {
        "false",
        "{\"type\":[]}",
        // a required child of its own type, with no way out: no finite document
        "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":\"#/$defs/n\"}},\"required\":[\"n\"]}},"
            + "\"$ref\":\"#/$defs/n\"}",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"minItems\":1,\"items\":false}},\"required\":[\"a\"]}",
    }) {
      SchemaException e = assertThrows(SchemaException.class, () -> Grammar.jsonSchema(json(schema)), schema);
      assertTrue(e.getMessage().contains("no value"), e.getMessage());
    }
  }

  @Test
  void acceptsWhatOpenAiStrictModeAccepts() {
    String strict = """
        {"$schema":"https://json-schema.org/draft/2020-12/schema","title":"Reply","description":"what to answer",
         "type":"object","$defs":{"step":{"type":"object","description":"a step",
           "properties":{"explanation":{"type":"string"},"output":{"type":"string"}},
           "required":["explanation","output"],"additionalProperties":false}},
         "properties":{"steps":{"type":"array","items":{"$ref":"#/$defs/step"}},
           "final_answer":{"type":["string","null"],"default":null},
           "mood":{"enum":["happy","sad"],"examples":["happy"]},
           "unit":{"anyOf":[{"type":"string","const":"c"},{"type":"null"}]}},
         "required":["steps","final_answer","mood","unit"],"additionalProperties":false}""";
    assertDoesNotThrow(() -> Grammar.jsonSchema(json(strict)));
    assertDoesNotThrow(() -> Grammar.jsonSchema(json("true")));
    assertDoesNotThrow(() -> Grammar.jsonSchema(json("{}")));
  }

  @Test
  void equalSchemasShareAKeyAndDifferentOnesDoNot() {
    String a = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"}}}";
    String b = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}";
    assertEquals(Grammar.jsonSchema(json(a)).key(), Grammar.jsonSchema(json(a)).key());
    assertTrue(!Grammar.jsonSchema(json(a)).key().equals(Grammar.jsonSchema(json(b)).key()));
  }
}
