package dev.candor.engine.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.grammar.Grammar;
import java.util.ArrayList;
import java.util.List;

/**
 * The tool-call format Qwen2.5's and Qwen3's chat templates ask for (from NousResearch's Hermes models): each call a
 * JSON object inside tags on lines of their own,
 *
 * <pre>
 * &lt;tool_call&gt;
 * {"name": "get_weather", "arguments": {"city": "Paris"}}
 * &lt;/tool_call&gt;
 * </pre>
 *
 * and parallel calls one block after another, a newline between them. {@link #grammar} is that format as a grammar
 * for constrained decoding (tool_choice {@code required} or a named function); {@link ToolCallStream} reads it back.
 */
public final class HermesFormat {
  public static final String OPEN = "<tool_call>";
  public static final String CLOSE = "</tool_call>";
  private static final ObjectMapper JSON = new ObjectMapper();

  private HermesFormat() {}

  /**
   * {@code minCalls..maxCalls} calls, each of one of {@code functions} with arguments valid against its parameters
   * schema: tool_choice {@code required} is every function with (1, 1) or, with parallel_tool_calls, (1, a bound);
   * a named function is a list of one.
   *
   * @throws dev.candor.engine.grammar.SchemaException where a function's parameters use a keyword constrained
   *     decoding does not support (its path starts at the function's parameters)
   */
  public static Grammar grammar(List<FunctionSpec> functions, int minCalls, int maxCalls) {
    if (functions.isEmpty()) {
      throw new IllegalArgumentException("a tool-call grammar needs at least one function");
    }
    List<Grammar> calls = new ArrayList<>();
    for (FunctionSpec f : functions) {
      calls.add(call(f));
    }
    Grammar one = calls.size() == 1 ? calls.get(0) : Grammar.anyOf(calls);
    return one.repeat(Grammar.literal("\n"), minCalls, maxCalls);
  }

  /**
   * One block, spaced as the template shows it: {@code <tool_call>\n{"name": "f", "arguments": ARGS}\n</tool_call>},
   * with ARGS valid against the function's parameters (compiled as a document of its own, so its $refs resolve).
   */
  private static Grammar call(FunctionSpec f) {
    String head;
    try {
      head = OPEN + "\n{\"name\": " + JSON.writeValueAsString(f.name()) + ", \"arguments\": ";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    return Grammar.sequence(Grammar.literal(head), Grammar.json(f.parameters()), Grammar.literal("}\n" + CLOSE));
  }
}
