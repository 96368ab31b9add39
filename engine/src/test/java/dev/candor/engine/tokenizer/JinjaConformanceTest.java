package dev.candor.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.tokenizer.jinja.JinjaException;
import dev.candor.engine.tokenizer.jinja.Template;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Candor's Jinja interpreter against Python's jinja2 in Hugging Face's environment, case by case: whitespace
 * control, literals and printing, operators, scoping, macros, every filter and test, str methods, the sandbox, and
 * the errors. The expected outputs were made once by {@code engine/src/test/python/jinja_conformance.py} (the
 * script and its output are committed); an output must match byte for byte, an error must be an error of the same
 * kind.
 */
class JinjaConformanceTest {
  /** The time hf_jinja.py's strftime_now uses. */
  static final Clock FIXED = Clock.fixed(LocalDateTime.of(2026, 3, 7, 14, 5, 9, 123_456_000)
      .toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

  /** Where Candor fails differently but still fails: include and extends have no loader in HF (a TypeError). */
  private static final Map<String, JinjaException.Kind> KNOWN_KIND = Map.of(
      "err_extends", JinjaException.Kind.SYNTAX,
      "err_include", JinjaException.Kind.SYNTAX);

  static Stream<Arguments> cases() {
    JsonNode root = read("jinja-conformance.json");
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : root.path("cases")) {
      out.add(Arguments.of(c.get("name").asText(), c));
    }
    return out.stream();
  }

  static JsonNode read(String resource) {
    try (InputStream in = JinjaConformanceTest.class.getResourceAsStream(resource)) {
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rendersAsJinja2Does(String name, JsonNode c) {
    Map<String, Object> variables = new LinkedHashMap<>(ChatTemplate.globals(FIXED));
    c.get("variables").fields().forEachRemaining(e -> variables.put(e.getKey(), Template.value(e.getValue())));
    String template = c.get("template").asText();
    if (c.has("output")) {
      String rendered;
      try {
        rendered = Template.parse(template).render(variables);
      } catch (JinjaException e) {
        throw new AssertionError(name + ": Python renders " + c.get("output") + ", Candor failed: " + e.kind() + ": "
            + e.getMessage(), e);
      }
      assertEquals(c.get("output").asText(), rendered, name + ": " + template);
      return;
    }
    try {
      String rendered = Template.parse(template).render(variables);
      fail(name + ": Python raised " + c.get("error").asText() + " (" + c.get("message").asText()
          + "), Candor rendered " + rendered);
    } catch (JinjaException e) {
      JinjaException.Kind expected = KNOWN_KIND.getOrDefault(name, kind(c.get("error").asText()));
      assertEquals(expected, e.kind(), name + ": Python raised " + c.get("error").asText() + ": "
          + c.get("message").asText() + "; Candor: " + e.getMessage());
    }
  }

  /** The kind of JinjaException that stands for a Python exception. */
  static JinjaException.Kind kind(String pythonException) {
    return switch (pythonException) {
      case "TemplateSyntaxError", "TemplateAssertionError", "SyntaxError" -> JinjaException.Kind.SYNTAX;
      case "UndefinedError" -> JinjaException.Kind.UNDEFINED;
      case "SecurityError" -> JinjaException.Kind.SECURITY;
      case "TypeError" -> JinjaException.Kind.TYPE;
      case "ValueError", "ZeroDivisionError", "OverflowError", "IndexError", "KeyError" -> JinjaException.Kind.VALUE;
      case "TemplateError" -> JinjaException.Kind.RAISED;
      default -> JinjaException.Kind.RUNTIME;
    };
  }
}
