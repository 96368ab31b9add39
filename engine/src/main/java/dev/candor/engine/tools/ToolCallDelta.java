package dev.candor.engine.tools;

/**
 * A fragment of a streamed tool call, as OpenAI's {@code delta.tool_calls[]}: the first of a call carries its
 * {@code index}, {@code id} and {@code name} with empty arguments; the ones after carry the index and the next piece
 * of the arguments text ({@code id} and {@code name} null). The pieces of one index concatenate to its arguments.
 */
public record ToolCallDelta(int index, String id, String name, String arguments) implements ToolCallStream.Event {
  /** Whether this is a call's first fragment (the one with id and name). */
  public boolean starts() {
    return id != null;
  }
}
