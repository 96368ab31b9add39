package dev.candor.engine.tools;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Tool calls out of a whole reply: the non-streaming answer. It is the streaming reader fed everything at once, so
 * the two always agree.
 */
public final class ToolCallParser {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  private ToolCallParser() {}

  /**
   * A reply split into its parts.
   *
   * @param content the text outside the calls (whitespace that only separated it from them dropped); null when the
   *     reply was only calls
   * @param calls the calls, in order
   */
  public record Parsed(String content, List<ToolCall> calls) {}

  /** Parses {@code text}; {@code names} are the offered functions (empty: any name is accepted). */
  public static Parsed parse(String text, Set<String> names, Supplier<String> ids) {
    ToolCallStream stream = new ToolCallStream(ToolCallStream.Mode.BUFFERED, names, ids);
    StringBuilder content = new StringBuilder();
    List<ToolCallStream.Event> events = new ArrayList<>(stream.push(text));
    events.addAll(stream.finish());
    for (ToolCallStream.Event e : events) {
      if (e instanceof ToolCallStream.Content c) {
        content.append(c.text());
      }
    }
    List<ToolCall> calls = stream.calls();
    return new Parsed(content.isEmpty() && !calls.isEmpty() ? null : content.toString(), calls);
  }

  /** OpenAI-style call ids: {@code call_} and 24 random letters and digits. */
  public static Supplier<String> randomIds() {
    SecureRandom random = new SecureRandom();
    return () -> {
      StringBuilder id = new StringBuilder("call_");
      for (int i = 0; i < 24; i++) {
        id.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
      }
      return id.toString();
    };
  }

  /**
   * A block's body as a call: one JSON object (whitespace around it) with a non-empty string "name" (one of
   * {@code names}, unless that is empty) and an object "arguments"; other members are ignored.
   *
   * @param argumentsStart offset of the arguments' opening brace in the body
   * @param argumentsEnd offset just after its closing brace
   */
  record Body(String name, String arguments, int argumentsStart, int argumentsEnd) {}

  /** The call in a block's body, or null if it is not a well-formed one. */
  static Body parseBody(String body, Set<String> names) {
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      String name = null;
      int start = -1;
      int end = -1;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("name") && value == JsonToken.VALUE_STRING) {
          name = p.getText();
        } else if (field.equals("arguments") && value == JsonToken.START_OBJECT) {
          start = (int) p.currentTokenLocation().getCharOffset();
          p.skipChildren();
          end = (int) p.currentLocation().getCharOffset();
        } else {
          p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
        return null; // not one object, or something after it
      }
      if (name == null || name.isEmpty() || start < 0 || (!names.isEmpty() && !names.contains(name))) {
        return null;
      }
      return new Body(name, body.substring(start, end), start, end);
    } catch (IOException | RuntimeException e) {
      return null; // not JSON: the block is content
    }
  }

  /** The text of a JSON string's body (between its quotes), or null if it is not one. */
  static String unescape(String body) {
    try {
      return JSON.readValue("\"" + body + "\"", String.class);
    } catch (IOException e) {
      return null;
    }
  }
}
