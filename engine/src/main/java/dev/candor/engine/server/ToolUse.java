package dev.candor.engine.server;

import dev.candor.engine.tools.FunctionSpec;
import dev.candor.engine.tools.ToolCallStream;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The functions a chat request offers and how the model may use them (OpenAI's {@code tools}, {@code tool_choice},
 * {@code parallel_tool_calls}).
 *
 * @param functions the offered functions, in the request's order
 * @param choice how the reply may call them
 * @param forced the function {@link Choice#NAMED} names; null otherwise
 * @param parallel whether a reply may make more than one call
 */
record ToolUse(List<FunctionSpec> functions, Choice choice, String forced, boolean parallel) {
  /** The most calls one reply may make when they are forced and parallel calls are allowed. */
  static final int MAX_PARALLEL_CALLS = 8;

  /** OpenAI's tool_choice. */
  enum Choice {
    /** The model decides; its calls are read from its text after it wrote them. */
    AUTO,
    /** No calls: the reply is text (the tools are still shown to the model, as vLLM does). */
    NONE,
    /** At least one call, written under the tool-call grammar. */
    REQUIRED,
    /** One call of the named function, under the grammar. */
    NAMED
  }

  ToolUse {
    functions = List.copyOf(functions);
  }

  /** Whether calls are read from the reply at all. */
  boolean parsesCalls() {
    return choice != Choice.NONE;
  }

  /** Whether the grammar writes the calls (so they are well formed and may stream as they are written). */
  boolean forcesCalls() {
    return choice == Choice.REQUIRED || choice == Choice.NAMED;
  }

  /** How the reply's text is read: whole blocks when the model wrote freely, as it comes when the grammar wrote it. */
  ToolCallStream.Mode mode() {
    return forcesCalls() ? ToolCallStream.Mode.INCREMENTAL : ToolCallStream.Mode.BUFFERED;
  }

  /** The names a call may use: all offered functions, or the named one. */
  Set<String> names() {
    Set<String> names = new LinkedHashSet<>();
    for (FunctionSpec f : functions) {
      if (forced == null || f.name().equals(forced)) {
        names.add(f.name());
      }
    }
    return names;
  }

  /** The functions the grammar may call. */
  List<FunctionSpec> callable() {
    return functions.stream().filter(f -> forced == null || f.name().equals(forced)).toList();
  }
}
