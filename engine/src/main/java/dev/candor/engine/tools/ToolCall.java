package dev.candor.engine.tools;

/**
 * One call the model made, as OpenAI's {@code message.tool_calls[]} carries it.
 *
 * @param id a fresh id ({@code call_} and 24 letters and digits), which the client sends back with the result
 * @param name the function's name
 * @param arguments the arguments object exactly as the model wrote it (a JSON text, as OpenAI returns it)
 */
public record ToolCall(String id, String name, String arguments) {}
