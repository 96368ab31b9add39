package dev.candor.engine.fuzz;

import static dev.candor.engine.fuzz.Fuzzing.check;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.server.ApiException;
import dev.candor.engine.server.FuzzAccess;
import java.math.BigInteger;
import java.util.List;

/**
 * Fuzzes the OpenAI request parser (server/RequestParser) as the server drives it: the raw body through
 * {@code parseJson}, then {@code parse(root, chat)} for /v1/chat/completions and for /v1/completions, and as a
 * /v1/responses body (read as the chat request it amounts to; its errors name the Responses API's fields). Every bad
 * request must end as an {@link ApiException} (a 400, or a 404 for an unknown model); a request that parses must
 * satisfy the limits the parser promises, and its token ids must be valid for the model.
 */
class RequestParserFuzzTest {
  private static final FuzzAccess.Parser PARSER = FuzzAccess.requestParser(Fuzzing.servedModel());
  private static final int VOCAB = Fuzzing.servedModel().backend().config().vocabSize();
  private static final int[] LIMITS = FuzzAccess.defaultLimits(); // maxN, maxStop, maxStopLength, maxMessages, ...
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Raw request bodies: JSON text as a client sends it (seeds are valid requests of both endpoints). */
  @FuzzTest
  @DictionaryEntries({"\"messages\"", "\"role\"", "\"content\"", "\"system\"", "\"user\"", "\"assistant\"",
      "\"developer\"", "\"tool\"", "\"type\"", "\"text\"", "\"prompt\"", "\"model\"", "\"candor-fuzz\"", "\"n\"",
      "\"max_tokens\"", "\"max_completion_tokens\"", "\"temperature\"", "\"top_p\"", "\"top_k\"", "\"seed\"",
      "\"stop\"", "\"stream\"", "\"stream_options\"", "\"include_usage\"", "\"logprobs\"", "\"top_logprobs\"",
      "\"echo\"", "\"logprobs_mode\"", "\"raw\"", "\"processed\"", "\"confidence\"", "\"confidence_breaker\"",
      "\"window\"", "\"threshold\"", "\"logit_bias\"", "\"presence_penalty\"", "\"frequency_penalty\"",
      "\"repetition_penalty\"", "\"tools\"", "\"tool_calls\"", "\"functions\"", "\"response_format\"",
      "\"tool_choice\"", "\"parallel_tool_calls\"", "\"function\"", "\"parameters\"", "\"arguments\"",
      "\"tool_call_id\"", "\"reasoning_content\"", "\"json_schema\"", "\"schema\"", "\"required\"",
      "\"properties\"", "\"enum\"", "\"$ref\"", "\"chat_template_kwargs\"", "\"enable_thinking\"",
      "\"split_special_tokens\"", "\"phase\"", "\"input\"", "\"instructions\"", "\"max_output_tokens\"",
      "\"function_call\"", "\"function_call_output\"", "\"call_id\"", "\"input_text\"", "\"output_text\"",
      "\"include\"", "\"message.output_text.logprobs\"", "\"previous_response_id\"", "\"format\"",
      "\"modalities\"", "\"suffix\"", "\"best_of\"", "null", "true", "false", "1e309", "-0", "9223372036854775808",
      "2147483648", "\\ud800", "{{", "{%", "<|im_end|>", "<|im_start|>"})
  void rawBody(byte[] body) {
    for (boolean chat : new boolean[] {true, false}) {
      parseAndCheck(body, chat);
    }
    parseResponsesAndCheck(body);
  }

  /** The same body as a /v1/responses request: read as a chat request, with the Responses API's field names. */
  static void parseResponsesAndCheck(byte[] body) {
    Fuzzing.withinBudget("parsing a " + body.length + "-byte responses request", (48L << 20) + 400L * body.length,
        () -> {
          FuzzAccess.Parsed r;
          try {
            r = PARSER.parseResponses(body);
          } catch (ApiException e) {
            int status = FuzzAccess.status(e);
            check(status == 400 || status == 404, "status " + status + " for " + e.getMessage());
            check(e.getMessage() != null && !e.getMessage().isEmpty(), "an ApiException without a message");
            String param = FuzzAccess.param(e);
            check(param == null || !(param.startsWith("messages") || param.startsWith("response_format")
                || param.startsWith("max_completion_tokens")), "a chat field's name in a responses error: " + param);
            return;
          }
          checkParsed(r, true);
        });
  }

  /** Requests built from the parser's own vocabulary of fields, with values of every JSON type. */
  @FuzzTest
  void generatedBody(FuzzedDataProvider data) {
    ObjectNode root = request(data);
    byte[] body;
    try {
      body = JSON.writeValueAsBytes(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new AssertionError(e);
    }
    rawBody(body);
  }

  static void parseAndCheck(byte[] body, boolean chat) {
    Fuzzing.withinBudget("parsing a " + body.length + "-byte " + (chat ? "chat" : "completion") + " request",
        (48L << 20) + 400L * body.length, () -> {
          FuzzAccess.Parsed r;
          try {
            r = PARSER.parse(body, chat);
          } catch (ApiException e) {
            int status = FuzzAccess.status(e);
            check(status == 400 || status == 404, "status " + status + " for " + e.getMessage());
            check(e.getMessage() != null && !e.getMessage().isEmpty(), "an ApiException without a message");
            return;
          }
          checkParsed(r, chat);
        });
  }

  static void checkParsed(FuzzAccess.Parsed r, boolean chat) {
    check(r.chat() == chat, "chat flag");
    check(!r.prompts().isEmpty() && r.prompts().size() == r.promptTexts().size(), "prompts and texts");
    check(!chat || r.prompts().size() == 1, "a chat request has exactly one prompt");
    check(r.prompts().size() <= Math.max(1, LIMITS[5]), "more prompts than the limit");
    for (int[] prompt : r.prompts()) {
      check(prompt.length > 0, "an empty prompt was accepted");
      for (int id : prompt) {
        check(id >= 0 && id < VOCAB, "token id " + id + " outside the vocabulary was accepted");
      }
    }
    check(r.n() >= 1 && r.n() <= LIMITS[0], "n = " + r.n());
    check(r.maxTokens() == null || r.maxTokens() >= 1, "max_tokens = " + r.maxTokens());
    check(r.temperature() >= 0 && r.temperature() <= 2, "temperature = " + r.temperature());
    check(r.topP() > 0 && r.topP() <= 1, "top_p = " + r.topP());
    check(r.topK() >= 0, "top_k = " + r.topK());
    check(r.topLogprobs() >= 0 && r.topLogprobs() <= LIMITS[4], "top_logprobs = " + r.topLogprobs());
    check(r.stop().size() <= LIMITS[1], "stop has " + r.stop().size());
    for (String s : r.stop()) {
      check(!s.isEmpty() && s.length() <= LIMITS[2], "stop sequence of length " + s.length());
    }
    if (r.hasBreaker()) {
      check(r.breakerWindow() >= 1 && r.breakerWindow() <= 4096, "breaker window " + r.breakerWindow());
      check(r.breakerThreshold() >= 0 && r.breakerThreshold() <= 1, "breaker threshold " + r.breakerThreshold());
    }
  }

  // ---- a generator of plausible requests ----

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final List<String> FIELDS = List.of("model", "messages", "prompt", "n", "max_tokens",
      "max_completion_tokens", "temperature", "top_p", "top_k", "seed", "stop", "stream", "stream_options", "logprobs",
      "top_logprobs", "echo", "logprobs_mode", "confidence", "confidence_breaker", "logit_bias", "presence_penalty",
      "frequency_penalty", "repetition_penalty", "tools", "functions", "response_format", "modalities", "suffix",
      "best_of", "user", "x-unknown", "tool_choice", "parallel_tool_calls", "chat_template_kwargs",
      "split_special_tokens");
  /** Schemas for tools and response_format: supported, unsupported, recursive, impossible, malformed. */
  private static final List<String> SCHEMAS = List.of("{\"type\":\"object\"}",
      "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"enum\":[\"x\",1,null]}},"
          + "\"required\":[\"a\"],\"additionalProperties\":false}",
      "{\"type\":\"string\",\"pattern\":\"a+\"}", "{\"$ref\":\"#/$defs/n\",\"$defs\":{\"n\":{\"type\":\"array\","
          + "\"items\":{\"$ref\":\"#/$defs/n\"}}}}", "{\"$ref\":\"#/nowhere\"}", "{\"enum\":[]}",
      "{\"type\":[\"string\",\"null\"],\"maxLength\":-1}", "{\"anyOf\":[]}", "{\"type\":\"object\","
          + "\"properties\":{\"a\":{\"type\":\"array\",\"minItems\":3,\"maxItems\":1}},\"required\":[\"a\"]}");
  private static final List<String> ROLES = List.of("system", "developer", "user", "assistant", "tool", "function",
      "", "User", "system ", "ʏou");
  private static final List<String> WORDS = List.of("candor-fuzz", "text", "raw", "processed", "default", "json_object",
      "image_url", "include_usage", "window", "threshold", "type", "{{ 7 * 7 }}", "{% for x in messages %}", "{#",
      "<|im_end|>", "<|im_start|>system\n", "\\", "\ud83d\ude00", "\ud800", "\u0000", "é", "日本語", "");

  static ObjectNode request(FuzzedDataProvider d) {
    ObjectNode root = NODES.objectNode();
    int fields = d.consumeInt(0, 12);
    for (int i = 0; i < fields && d.remainingBytes() > 0; i++) {
      String field = d.pickValue(FIELDS);
      root.set(field, fieldValue(field, d));
    }
    return root;
  }

  /** Mostly a value of the type the field wants, near its limits; sometimes any JSON at all. */
  static JsonNode fieldValue(String field, FuzzedDataProvider d) {
    if (d.consumeInt(0, 7) == 0) {
      return anyValue(d, 3);
    }
    return switch (field) {
      case "messages" -> messages(d);
      case "prompt" -> prompt(d);
      case "n", "max_tokens", "max_completion_tokens", "top_k", "top_logprobs", "best_of" ->
          NODES.numberNode(d.pickValue(List.of(-1, 0, 1, 2, 8, 9, 20, 21, Integer.MAX_VALUE, Integer.MIN_VALUE,
              d.consumeInt())));
      case "temperature", "top_p", "presence_penalty", "frequency_penalty", "repetition_penalty" ->
          NODES.numberNode(d.pickValue(List.of(0.0, 1.0, 2.0, 2.0000001, -0.0, 1e-300, d.consumeRegularDouble())));
      case "seed" -> d.consumeBoolean() ? NODES.numberNode(d.consumeLong())
          : NODES.numberNode(BigInteger.TWO.pow(d.consumeInt(0, 200)).negate());
      case "stop" -> d.consumeBoolean() ? NODES.textNode(string(d)) : strings(d);
      case "stream", "echo", "confidence" -> d.consumeBoolean() ? NODES.booleanNode(d.consumeBoolean())
          : NODES.textNode("true");
      case "logprobs" -> d.consumeBoolean() ? NODES.booleanNode(d.consumeBoolean()) : NODES.numberNode(d.consumeInt(-1, 21));
      case "stream_options" -> NODES.objectNode().set("include_usage", anyValue(d, 1));
      case "confidence_breaker" -> {
        ObjectNode b = NODES.objectNode();
        if (d.consumeBoolean()) {
          b.set("window", d.consumeBoolean() ? NODES.numberNode(d.consumeInt(-2, 5000)) : anyValue(d, 1));
        }
        if (d.consumeBoolean()) {
          b.set("threshold", d.consumeBoolean() ? NODES.numberNode(d.consumeDouble()) : anyValue(d, 1));
        }
        yield b;
      }
      case "response_format" -> responseFormat(d);
      case "tools" -> tools(d);
      case "tool_choice" -> d.consumeBoolean()
          ? NODES.textNode(d.pickValue(List.of("auto", "none", "required", "any", "")))
          : NODES.objectNode().put("type", "function").set("function", NODES.objectNode()
              .put("name", d.pickValue(List.of("f", "g", "missing", ""))));
      case "parallel_tool_calls", "split_special_tokens" -> NODES.booleanNode(d.consumeBoolean());
      case "chat_template_kwargs" -> d.consumeBoolean() ? NODES.objectNode().put("enable_thinking", d.consumeBoolean())
          : NODES.objectNode().set(d.pickValue(List.of("messages", "tools", "eos_token", "x")), anyValue(d, 1));
      case "logit_bias" -> {
        ObjectNode o = NODES.objectNode();
        if (d.consumeBoolean()) {
          o.set(d.consumeBoolean() ? "type" : string(d), anyValue(d, 1));
        }
        yield o;
      }
      case "modalities" -> {
        ArrayNode a = NODES.arrayNode();
        int k = d.consumeInt(0, 3);
        for (int i = 0; i < k; i++) {
          a.add(d.consumeBoolean() ? NODES.textNode("text") : anyValue(d, 1));
        }
        yield a;
      }
      default -> d.consumeBoolean() ? NODES.textNode(d.pickValue(WORDS)) : NODES.textNode(string(d));
    };
  }

  static JsonNode messages(FuzzedDataProvider d) {
    ArrayNode list = NODES.arrayNode();
    int k = d.consumeBoolean() ? d.consumeInt(0, 4) : d.consumeInt(0, 1100);
    for (int i = 0; i < k && d.remainingBytes() > 0; i++) {
      if (d.consumeInt(0, 15) == 0) {
        list.add(anyValue(d, 2));
        continue;
      }
      ObjectNode m = list.addObject();
      if (d.consumeInt(0, 7) != 0) {
        m.put("role", d.pickValue(ROLES));
      }
      switch (d.consumeInt(0, 4)) {
        case 0 -> { } // no content
        case 1 -> m.putNull("content");
        case 2 -> {
          ArrayNode parts = m.putArray("content");
          int p = d.consumeInt(0, 3);
          for (int j = 0; j < p; j++) {
            ObjectNode part = parts.addObject();
            part.put("type", d.consumeInt(0, 3) == 0 ? string(d) : "text");
            part.set("text", d.consumeInt(0, 3) == 0 ? anyValue(d, 1) : NODES.textNode(string(d)));
          }
        }
        default -> m.put("content", d.consumeBoolean() ? d.pickValue(WORDS) : string(d));
      }
      if (d.consumeInt(0, 7) == 0) {
        m.set("tool_calls", d.consumeBoolean() ? NODES.arrayNode() : d.consumeBoolean() ? toolCalls(d) : anyValue(d, 2));
      }
      if (d.consumeInt(0, 7) == 0) {
        m.set(d.consumeBoolean() ? "tool_call_id" : "reasoning_content", d.consumeBoolean()
            ? NODES.textNode(string(d)) : anyValue(d, 1));
      }
    }
    return list;
  }

  static JsonNode schema(FuzzedDataProvider d) {
    try {
      return d.consumeInt(0, 4) == 0 ? anyValue(d, 2) : JSON.readTree(d.pickValue(SCHEMAS));
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  static JsonNode responseFormat(FuzzedDataProvider d) {
    ObjectNode o = NODES.objectNode().put("type", d.pickValue(List.of("text", "json_object", "json_schema", "x")));
    if (d.consumeBoolean()) {
      ObjectNode spec = o.putObject("json_schema");
      if (d.consumeInt(0, 5) != 0) {
        spec.put("name", d.pickValue(List.of("answer", "no spaces", "", "x".repeat(65))));
      }
      spec.set("schema", schema(d));
      spec.put("strict", d.consumeBoolean());
    }
    return o;
  }

  static JsonNode tools(FuzzedDataProvider d) {
    ArrayNode a = NODES.arrayNode();
    int k = d.consumeInt(0, 3);
    for (int i = 0; i < k; i++) {
      if (d.consumeInt(0, 5) == 0) {
        a.add(anyValue(d, 1));
        continue;
      }
      ObjectNode tool = a.addObject().put("type", d.consumeInt(0, 5) == 0 ? "retrieval" : "function");
      ObjectNode function = tool.putObject("function").put("name", d.pickValue(List.of("f", "g", "f", "bad name")));
      if (d.consumeBoolean()) {
        function.set("parameters", schema(d));
      }
    }
    return a;
  }

  static ArrayNode toolCalls(FuzzedDataProvider d) {
    ArrayNode calls = NODES.arrayNode();
    int k = d.consumeInt(0, 2);
    for (int i = 0; i < k; i++) {
      ObjectNode call = calls.addObject().put("id", string(d)).put("type", "function");
      call.putObject("function").put("name", d.pickValue(List.of("f", "", "g")))
          .set("arguments", d.consumeBoolean() ? NODES.textNode(d.consumeBoolean() ? "{\"a\": 1}" : string(d))
              : anyValue(d, 2));
    }
    return calls;
  }

  static JsonNode prompt(FuzzedDataProvider d) {
    switch (d.consumeInt(0, 3)) {
      case 0:
        return NODES.textNode(string(d));
      case 1:
        return ids(d);
      case 2: {
        ArrayNode list = NODES.arrayNode();
        int k = d.consumeInt(0, 18);
        for (int i = 0; i < k; i++) {
          list.add(d.consumeBoolean() ? NODES.textNode(string(d)) : ids(d));
        }
        return list;
      }
      default:
        return anyValue(d, 2);
    }
  }

  static ArrayNode ids(FuzzedDataProvider d) {
    ArrayNode ids = NODES.arrayNode();
    int k = d.consumeInt(0, 8);
    for (int i = 0; i < k; i++) {
      switch (d.consumeInt(0, 5)) {
        case 0 -> ids.add(d.consumeInt());
        case 1 -> ids.add(d.pickValue(List.of(-1, 0, VOCAB - 1, VOCAB, 151643, 151645, Integer.MAX_VALUE)));
        case 2 -> ids.add(d.consumeLong());
        case 3 -> ids.add(d.consumeDouble());
        default -> ids.add(d.consumeInt(0, VOCAB - 1));
      }
    }
    return ids;
  }

  static ArrayNode strings(FuzzedDataProvider d) {
    ArrayNode a = NODES.arrayNode();
    int k = d.consumeInt(0, 6);
    for (int i = 0; i < k; i++) {
      a.add(d.consumeInt(0, 7) == 0 ? anyValue(d, 1) : NODES.textNode(string(d)));
    }
    return a;
  }

  /** A short fuzzed string, sometimes repeated up to 300 times (long stop sequences, long prompts). */
  static String string(FuzzedDataProvider d) {
    String s = d.consumeString(d.consumeInt(0, 64));
    return d.consumeInt(0, 15) == 0 ? s.repeat(d.consumeInt(0, 300)) : s;
  }

  static JsonNode anyValue(FuzzedDataProvider d, int depth) {
    int kind = d.consumeInt(0, depth > 0 ? 8 : 6);
    return switch (kind) {
      case 0 -> NODES.nullNode();
      case 1 -> NODES.booleanNode(d.consumeBoolean());
      case 2 -> NODES.numberNode(d.consumeInt());
      case 3 -> NODES.numberNode(d.consumeDouble());
      case 4 -> NODES.numberNode(BigInteger.valueOf(d.consumeLong()).shiftLeft(d.consumeInt(0, 100)));
      case 5 -> NODES.textNode(d.pickValue(WORDS));
      case 6 -> NODES.textNode(string(d));
      case 7 -> {
        ArrayNode a = NODES.arrayNode();
        int k = d.consumeInt(0, 4);
        for (int i = 0; i < k; i++) {
          a.add(anyValue(d, depth - 1));
        }
        yield a;
      }
      default -> {
        ObjectNode o = NODES.objectNode();
        int k = d.consumeInt(0, 4);
        for (int i = 0; i < k; i++) {
          o.set(d.consumeBoolean() ? d.pickValue(FIELDS) : d.pickValue(List.of("role", "content", "type", "text")),
              anyValue(d, depth - 1));
        }
        yield o;
      }
    };
  }
}
