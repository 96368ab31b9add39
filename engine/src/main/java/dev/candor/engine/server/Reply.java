package dev.candor.engine.server;

/**
 * How a chat reply is read back for the client: whether it may reason first (a thinking model) and where, and which
 * tool calls to look for in it.
 *
 * @param thinking where the reply starts for a thinking model (one whose tokenizer has {@code <think>} and
 *     {@code </think>}); null for a model that does not think, whose reply is all answer and carries no phases
 * @param tools the offered functions, or null when the request offered none
 */
record Reply(ThinkingSplitter.Start thinking, ToolUse tools) {
  static final Reply PLAIN = new Reply(null, null);

  boolean thinks() {
    return thinking != null;
  }

  /** Whether tool calls are read out of the reply. */
  boolean readsCalls() {
    return tools != null && tools.parsesCalls();
  }
}
