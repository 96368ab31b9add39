package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.grammar.Grammar;
import dev.candor.engine.grammar.GrammarCache;
import dev.candor.engine.grammar.SchemaException;
import dev.candor.engine.grammar.TokenAutomaton;
import dev.candor.engine.grammar.Vocabulary;
import dev.candor.engine.tools.FunctionSpec;
import dev.candor.engine.tools.HermesFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * Constrained decoding for the whole server: the grammars a request asks for (response_format, forced tool calls),
 * compiled against one {@link Vocabulary} of the served model, built on first use (about a second for Qwen's 151,936
 * ids), through one {@link GrammarCache}: a client that sends the same schema with every request, as the SDKs do,
 * reuses its automaton and every mask already computed. A schema constrained decoding cannot honour is a 400 that
 * names the request's field, the path in the schema and the keyword.
 */
final class Constraints {
  /** Automata kept; a Qwen-vocabulary mask is 19 KB, and a schema reaches a few hundred to a few thousand states. */
  static final int CACHED_GRAMMARS = 16;

  private final LoadedModel model;
  private final GrammarCache cache = new GrammarCache(CACHED_GRAMMARS);
  private volatile Vocabulary vocabulary;

  Constraints(LoadedModel model) {
    this.model = model;
  }

  /** The automaton of {@code grammar} over the served vocabulary (compiling is cheap; masks come as reached). */
  TokenAutomaton compile(Grammar grammar) {
    return cache.get(grammar, vocabulary());
  }

  private Vocabulary vocabulary() {
    Vocabulary v = vocabulary;
    if (v == null) {
      synchronized (this) {
        v = vocabulary;
        if (v == null) {
          v = Vocabulary.of(model.tokenizer(), model.eosTokens(), model.backend().config().vocabSize());
          vocabulary = v;
        }
      }
    }
    return v;
  }

  /**
   * OpenAI's response_format: null for text (or none), any JSON object for {@code json_object}, the schema's
   * documents for {@code json_schema} (strict or not: the mask always holds to the schema).
   *
   * @param param the field's name in the request ({@code response_format}, or {@code text.format})
   */
  static Grammar format(JsonNode format, String param) {
    if (format == null || format.isNull()) {
      return null;
    }
    if (!format.isObject() || !format.path("type").isTextual()) {
      throw ApiException.invalid(param, "must be an object with a type: 'text', 'json_object' or 'json_schema'");
    }
    return switch (format.get("type").asText()) {
      case "text" -> null;
      case "json_object" -> Grammar.jsonObject();
      case "json_schema" -> schema(format.path("json_schema"), param + ".json_schema");
      default -> throw ApiException.invalid(param + ".type", "'" + Http.shown(format.get("type").asText())
          + "' is not one of 'text', 'json_object', 'json_schema'");
    };
  }

  /** {@code {"name": ..., "schema": {...}, "strict": ...}}: the name as OpenAI requires it, the schema compiled. */
  static Grammar schema(JsonNode spec, String param) {
    if (!spec.isObject()) {
      throw ApiException.invalid(param, "is required with type 'json_schema': {\"name\": ..., \"schema\": {...}}");
    }
    ChatParser.checkName(spec.get("name"), param + ".name");
    if (spec.hasNonNull("strict") && !spec.get("strict").isBoolean()) {
      throw ApiException.invalid(param + ".strict", "must be a boolean");
    }
    JsonNode schema = spec.get("schema");
    if (schema == null || !schema.isObject()) {
      throw ApiException.invalid(param + ".schema", "is required: a JSON schema object");
    }
    try {
      return Grammar.jsonSchema(schema);
    } catch (SchemaException e) {
      throw ApiException.invalid(param + ".schema", "unsupported_schema", e.getMessage());
    }
  }

  /**
   * The calls a reply may make under the grammar: any offered function ({@code required}, or {@code auto} beside a
   * response_format), once, or with parallel calls up to {@link ToolUse#MAX_PARALLEL_CALLS} times; a named function
   * once. Each function's arguments follow its parameters schema.
   *
   * @param params each function's parameters field in the request, for errors
   */
  static Grammar calls(ToolUse tools, List<String> params) {
    List<FunctionSpec> callable = tools.callable();
    List<FunctionSpec> checked = new ArrayList<>();
    for (int i = 0; i < tools.functions().size(); i++) {
      FunctionSpec f = tools.functions().get(i);
      if (callable.contains(f)) {
        try {
          Grammar.json(f.parameters());
        } catch (SchemaException e) {
          throw ApiException.invalid(params.get(i), "unsupported_schema", "function '" + f.name() + "': "
              + e.getMessage());
        }
        checked.add(f);
      }
    }
    int most = tools.parallel() && tools.choice() != ToolUse.Choice.NAMED ? ToolUse.MAX_PARALLEL_CALLS : 1;
    return HermesFormat.grammar(checked, 1, most);
  }
}
