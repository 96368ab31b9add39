package dev.candor.engine.tokenizer.jinja;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.tokenizer.jinja.Node.Stmt;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Jinja template, parsed once, rendered as Jinja2 3.1 renders it in Hugging Face's chat-template environment
 * ({@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)} with loopcontrols). This is Candor's
 * own small interpreter (lexer, parser, evaluator in this package) rather than a Java Jinja engine, because the one
 * tried (Jinjava 2.8) cannot render the published Qwen3 template and its output is not Python's; this one is tested
 * byte for byte against Python's jinja2 (see ChatTemplateGoldenTest and JinjaConformanceTest).
 *
 * <p>Values are Python's (see {@link #value(JsonNode)}): None is null, ints are Long, floats Double, lists List,
 * dicts insertion-ordered Map, tuples are made by the template. Functions a template may call are
 * {@link PyCallable}s. A template is data from a download, so it is sandboxed: it reaches only these values and the
 * methods Jinja2's sandbox allows (no Java reflection, no mutation of its inputs), and every render is bounded in
 * steps, text built, output size and nesting. Every failure is a {@link JinjaException}.
 */
public final class Template {
  private final List<Stmt> body;

  private Template(List<Stmt> body) {
    this.body = body;
  }

  /** Parses {@code source}; a syntax error is a {@link JinjaException} of kind SYNTAX with its line. */
  public static Template parse(String source) {
    try {
      return new Template(Parser.parse(source));
    } catch (StackOverflowError e) {
      throw JinjaException.syntax("the template nests too deeply", 0);
    }
  }

  /** Renders with {@code variables} (Python values, or {@link PyCallable}s) on top of Jinja2's default globals. */
  public String render(Map<String, ?> variables) {
    Scope globals = new Scope(null);
    globals.setAll(Globals.defaults());
    Scope context = new Scope(globals);
    context.setAll(variables);
    try {
      return new Interpreter().render(body, new Scope(context));
    } catch (StackOverflowError e) {
      throw JinjaException.runtime("the template nests too deeply to render");
    }
  }

  /** A JSON value as Python's json.loads gives it: objects keep their key order, integers stay exact. */
  public static Object value(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    if (node.isIntegralNumber()) {
      return Py.normalize(node.bigIntegerValue());
    }
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isArray()) {
      List<Object> list = new ArrayList<>(node.size());
      node.forEach(item -> list.add(value(item)));
      return list;
    }
    Map<Object, Object> map = new LinkedHashMap<>();
    node.fields().forEachRemaining(e -> map.put(e.getKey(), value(e.getValue())));
    return map;
  }

  /** Python's str() of a value, as {@code {{ value }}} prints it. */
  public static String str(Object value) {
    return Py.str(value);
  }
}
