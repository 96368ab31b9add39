package dev.candor.engine.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A function the model may call, as a request's {@code tools[].function} gives it: its name and the JSON schema of
 * its arguments ({@code parameters}; absent means it takes none, as OpenAI reads it: the arguments are {@code {}}).
 */
public record FunctionSpec(String name, JsonNode parameters) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNode NO_PARAMETERS = JSON.createObjectNode().put("type", "object")
      .put("additionalProperties", false).set("properties", JSON.createObjectNode());

  public FunctionSpec {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("a function needs a name");
    }
    if (parameters == null || parameters.isNull()) {
      parameters = NO_PARAMETERS;
    }
  }
}
