package dev.candor.engine.server;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.sampling.LogitAdjustments;
import dev.candor.engine.grammar.TokenAutomaton;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads and validates an OpenAI request body (a chat request's conversation, tools and output format through
 * {@link ChatParser}). Unknown fields are ignored; a field Candor cannot honour and whose absence would change the
 * result (a content part that is not text, ...) is a 400, never silently dropped. Sampling fields a request leaves
 * out get the server's {@link GenerationDefaults}. Every error names the parameter.
 */
final class RequestParser {
  static final int MAX_NESTING = 64;
  static final int MAX_NUMBER_DIGITS = 64;
  static final int MAX_STRING_BYTES = 8 * 1024 * 1024;
  // one JSON object and nothing after it (OpenAI refuses trailing data too)
  static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  static {
    JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
        .maxNestingDepth(MAX_NESTING).maxStringLength(MAX_STRING_BYTES).maxNumberLength(MAX_NUMBER_DIGITS).build());
  }

  static final int MAX_LOGIT_BIAS = 300;

  private final LoadedModel model;
  private final RequestLimits limits;
  private final GenerationDefaults defaults;
  private final int contextWindow;
  private final int maxTokenBytes; // the longest token's bytes: a prompt of more than context × this cannot fit
  private final boolean splitByDefault;
  private final ChatParser chat;

  /**
   * @param constraints the server's compiled grammars (response_format, forced tool calls)
   * @param splitSpecialTokens tokenize special-token text in prompts and messages as text unless a request says
   *     otherwise (--split-special-tokens)
   */
  RequestParser(LoadedModel model, RequestLimits limits, int contextWindow, GenerationDefaults defaults,
      Constraints constraints, boolean splitSpecialTokens) {
    this.model = model;
    this.limits = limits;
    this.defaults = defaults;
    this.contextWindow = contextWindow;
    int longest = 1;
    for (int id = 0; id < model.tokenizer().size(); id++) {
      longest = Math.max(longest, model.tokenizer().bytes(id).length);
    }
    this.maxTokenBytes = longest;
    this.splitByDefault = splitSpecialTokens;
    this.chat = new ChatParser(model, limits, constraints, splitSpecialTokens,
        (text, param) -> wellFormed(fitting(text, param)));
  }

  static JsonNode parseJson(byte[] body) {
    try {
      JsonNode root = JSON.readTree(body);
      if (root == null || !root.isObject()) {
        throw ApiException.invalid(null, "the request body must be a JSON object");
      }
      return root;
    } catch (StreamConstraintsException e) {
      throw ApiException.invalid(null, "the request body's JSON is too large in one place: it may nest at most "
          + MAX_NESTING + " levels, a number may have at most " + MAX_NUMBER_DIGITS + " digits, a string at most "
          + MAX_STRING_BYTES / (1024 * 1024) + " MB");
    } catch (JsonProcessingException e) {
      throw ApiException.invalid(null, "malformed JSON in the request body" + at(e.getLocation()) + ": "
          + jsonProblem(e.getOriginalMessage()));
    } catch (java.io.IOException e) {
      throw ApiException.invalid(null, "unreadable request body");
    }
  }

  private static String at(JsonLocation location) {
    return location == null || location.getLineNr() < 0 ? ""
        : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
  }

  /**
   * The parser's complaint in plain words: its first sentence, without the advice on which of its features to switch
   * on (a client cannot), and without library class names.
   */
  static String jsonProblem(String message) {
    if (message == null) {
      return "not valid JSON";
    }
    if (message.contains("Trailing token")) {
      return "unexpected data after the JSON object";
    }
    String first = message.split("\\R", 2)[0];
    first = first.replaceAll("\\s*\\([^()]*(Feature|Constraints|enable|disable)[^()]*\\)", "");
    first = first.replaceAll("\\s*;\\s*(enable|disable).*$", "");
    first = first.replaceAll("`[^`]*\\.[A-Za-z_]+[^`]*`", "");
    return first.isBlank() ? "not valid JSON" : first.trim();
  }

  /**
   * The text as the tokenizer will see it: a lone UTF-16 surrogate (JSON can spell one, "\\ud800") becomes U+FFFD,
   * which is what its UTF-8 encoding turns it into anyway, so an echo returns what the model saw.
   */
  static String wellFormed(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isSurrogate(c)) {
        boolean pair = Character.isHighSurrogate(c) && i + 1 < text.length()
            && Character.isLowSurrogate(text.charAt(i + 1));
        if (!pair) {
          return replaceLoneSurrogates(text);
        }
        i++;
      }
    }
    return text;
  }

  private static String replaceLoneSurrogates(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        out.append(c).append(text.charAt(++i));
      } else {
        out.append(Character.isSurrogate(c) ? '\ufffd' : c);
      }
    }
    return out.toString();
  }

  /** Refuses, before tokenizing it, text that could not fit the context window even at the longest token. */
  private String fitting(String text, String param) {
    long bytes = text.length(); // UTF-8 bytes >= UTF-16 units / 1 for ASCII; checked exactly below only when close
    long limit = (long) contextWindow * maxTokenBytes;
    if (bytes > limit && text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > limit) {
      throw ApiException.invalid(param, "context_length_exceeded", "This model's maximum context length is "
          + contextWindow + " tokens, and no token is longer than " + maxTokenBytes + " bytes; your prompt has "
          + text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + " bytes, so it cannot fit.");
    }
    return text;
  }

  ParsedRequest parse(JsonNode root, boolean chat) {
    checkModel(root);
    rejectUnsupported(root, chat);
    int n = intField(root, "n", 1, 1, limits.maxN());
    Integer maxTokens = chat ? firstPresent(root, "max_completion_tokens", "max_tokens") : optInt(root, "max_tokens", 16);
    if (maxTokens != null && maxTokens < 1) {
      throw ApiException.invalid(chat && root.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens",
          "must be at least 1, got " + maxTokens);
    }
    ParsedRequest.Sampling sampling = sampling(root);
    Long seed = root.hasNonNull("seed") ? longField(root, "seed") : null;
    List<String> stop = stopField(root);
    boolean stream = boolField(root, "stream", false);
    boolean includeUsage = includeUsage(root, stream);
    if (root.hasNonNull("user") && !root.get("user").isTextual()) {
      throw ApiException.invalid("user", typeMessage(root.get("user"), "string", "user"));
    }
    boolean logprobs;
    int topLogprobs;
    boolean echo = false;
    List<String> texts = new ArrayList<>();
    List<int[]> prompts = new ArrayList<>();
    Reply reply = Reply.PLAIN;
    TokenAutomaton constraint = null;
    if (chat) {
      logprobs = boolField(root, "logprobs", false);
      topLogprobs = intField(root, "top_logprobs", 0, 0, limits.maxTopLogprobs());
      if (root.hasNonNull("top_logprobs") && !logprobs) {
        throw ApiException.invalid("top_logprobs", "requires logprobs to be true");
      }
      ChatParser.ChatPrompt prompt = this.chat.parse(root);
      texts.add(prompt.text());
      prompts.add(prompt.ids());
      reply = prompt.reply();
      constraint = prompt.constraint();
    } else {
      if (root.hasNonNull("logprobs") && root.get("logprobs").isBoolean()) {
        throw ApiException.invalid("logprobs", "for completions, logprobs is an integer 0.." + limits.maxTopLogprobs());
      }
      logprobs = root.hasNonNull("logprobs");
      topLogprobs = intField(root, "logprobs", 0, 0, limits.maxTopLogprobs());
      echo = boolField(root, "echo", false);
      readPrompts(root, prompts, texts, boolField(root, "split_special_tokens", splitByDefault));
    }
    String mode = root.hasNonNull("logprobs_mode") ? textField(root, "logprobs_mode") : "raw";
    if (!Set.of("processed", "raw").contains(mode)) {
      throw ApiException.invalid("logprobs_mode", "must be 'raw' (the model's distribution, the default) or "
          + "'processed' (the distribution sampled from)");
    }
    int minTokens = minTokens(root, maxTokens, constraint);
    boolean ignoreEos = boolField(root, "ignore_eos", false);
    if (ignoreEos && constraint != null) {
      throw ApiException.invalid("ignore_eos", "cannot be combined with " + CONSTRAINED);
    }
    return new ParsedRequest(chat, prompts, texts, n, maxTokens, sampling, seed, stop, stream, includeUsage, logprobs,
        topLogprobs, echo, mode.equals("raw"), boolField(root, "skip_special_tokens", true), ignoreEos, minTokens,
        confidenceOn(root), breaker(root), constraint, reply, consistency(root));
  }

  /** "confidence": true (the default), false, or an object naming the method (which turns it on). */
  private static boolean confidenceOn(JsonNode root) {
    JsonNode c = root.get("confidence");
    return c != null && c.isObject() || boolField(root, "confidence", true);
  }

  /**
   * "confidence": {"method": "probe" | "consistency", "samples": 1..16 (5), "temperature": (0, 2] (0.8)}: with
   * consistency, the samples each choice is scored against; null otherwise.
   */
  private static ParsedRequest.Consistency consistency(JsonNode root) {
    JsonNode c = root.get("confidence");
    if (c == null || !c.isObject()) {
      return null;
    }
    for (var names = c.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!Set.of("method", "samples", "temperature").contains(name)) {
        throw ApiException.invalid("confidence." + Http.shown(name), "is not a field of confidence (method, samples, "
            + "temperature)");
      }
    }
    JsonNode method = c.get("method");
    String m = method == null || method.isNull() ? "probe" : method.isTextual() ? method.asText() : "";
    if (!Set.of("probe", "consistency").contains(m)) {
      throw ApiException.invalid("confidence.method", "must be 'probe' (the served confidence model, the default) or "
          + "'consistency' (agreement with samples of the same prompt)");
    }
    if (m.equals("probe")) {
      if (c.has("samples") || c.has("temperature")) {
        throw ApiException.invalid("confidence.samples", "samples and temperature are options of method 'consistency'");
      }
      return null;
    }
    int samples = intField(c, "samples", 5, 1, ParsedRequest.Consistency.MAX_SAMPLES);
    double temperature = doubleField(c, "temperature", 0.8, 0, 2);
    if (temperature == 0) {
      throw ApiException.invalid("confidence.temperature", "must be greater than 0: greedy samples would all agree");
    }
    return new ParsedRequest.Consistency(samples, temperature);
  }

  private static final String CONSTRAINED = "response_format or a required or named tool call: the grammar decides "
      + "where the reply ends";

  /** vLLM's min_tokens: at most max_tokens, and not under a grammar (which may allow nothing but the end). */
  private static int minTokens(JsonNode root, Integer maxTokens, TokenAutomaton constraint) {
    int minTokens = intField(root, "min_tokens", 0, 0, Integer.MAX_VALUE);
    if (maxTokens != null && minTokens > maxTokens) {
      throw ApiException.invalid("min_tokens", "must not exceed max_tokens (" + maxTokens + "), got " + minTokens);
    }
    if (minTokens > 0 && constraint != null) {
      throw ApiException.invalid("min_tokens", "cannot be combined with " + CONSTRAINED);
    }
    return minTokens;
  }

  /** stream_options.include_usage; stream_options only with stream true, as OpenAI has it. */
  private static boolean includeUsage(JsonNode root, boolean stream) {
    if (!root.hasNonNull("stream_options")) {
      return false;
    }
    JsonNode options = root.get("stream_options");
    if (!options.isObject()) {
      throw ApiException.invalid("stream_options", "must be an object");
    }
    if (!stream) {
      throw ApiException.invalid("stream_options", "is only allowed when stream is true");
    }
    return boolField(options, "include_usage", false);
  }

  /**
   * Temperature, top_p, top_k and repetition_penalty, each the request's or else the server's default (the
   * checkpoint's generation_config.json); presence and frequency penalties and the logit bias, the request's.
   */
  private ParsedRequest.Sampling sampling(JsonNode root) {
    double temperature = doubleField(root, "temperature", defaults.temperature(), 0, 2);
    if (temperature < 1e-5) {
      temperature = 0; // as vLLM: a temperature this small is greedy (1/T would overflow the logits)
    }
    double topP = doubleField(root, "top_p", defaults.topP(), 0, 1);
    if (topP == 0) {
      throw ApiException.invalid("top_p", "must be greater than 0");
    }
    int topK = Math.max(0, intField(root, "top_k", defaults.topK(), -1, Integer.MAX_VALUE));
    double repetition = doubleField(root, "repetition_penalty", defaults.repetitionPenalty(), 0, 10);
    if (repetition == 0) {
      throw ApiException.invalid("repetition_penalty", "must be greater than 0 (1 is off)");
    }
    double presence = doubleField(root, "presence_penalty", 0, -2, 2);
    double frequency = doubleField(root, "frequency_penalty", 0, -2, 2);
    return new ParsedRequest.Sampling(temperature, topP, topK,
        new LogitAdjustments(repetition, presence, frequency, logitBias(root)));
  }

  /** OpenAI's logit_bias: {"token id": bias in [-100, 100]}, at most 300 entries, ids in the vocabulary. */
  private java.util.Map<Integer, Float> logitBias(JsonNode root) {
    JsonNode bias = root.get("logit_bias");
    if (bias == null || bias.isNull()) {
      return java.util.Map.of();
    }
    if (!bias.isObject()) {
      throw ApiException.invalid("logit_bias", "must be an object mapping token ids to biases in [-100, 100]");
    }
    if (bias.size() > MAX_LOGIT_BIAS) {
      throw ApiException.invalid("logit_bias", "has " + bias.size() + " entries; the limit is " + MAX_LOGIT_BIAS);
    }
    int vocab = model.backend().config().vocabSize();
    java.util.Map<Integer, Float> out = new java.util.HashMap<>();
    for (var it = bias.fields(); it.hasNext(); ) {
      var e = it.next();
      int id;
      try {
        id = Integer.parseInt(e.getKey());
      } catch (NumberFormatException notAnId) {
        id = -1;
      }
      if (id < 0 || id >= vocab) {
        throw ApiException.invalid("logit_bias", "keys must be token ids in 0.." + (vocab - 1) + ", got '"
            + Http.shown(e.getKey()) + "'");
      }
      JsonNode value = e.getValue();
      if (!value.isNumber() || !(value.asDouble() >= -100 && value.asDouble() <= 100)) {
        throw ApiException.invalid("logit_bias", "the bias of token " + id + " must be a number in [-100, 100], got "
            + Http.shown(value.toString()));
      }
      out.put(id, (float) value.asDouble());
    }
    return out;
  }

  private ParsedRequest.Breaker breaker(JsonNode root) {
    if (!root.hasNonNull("confidence_breaker")) {
      return null;
    }
    JsonNode b = root.get("confidence_breaker");
    if (!b.isObject()) {
      throw ApiException.invalid("confidence_breaker", "must be an object {\"window\": tokens, \"threshold\": p}");
    }
    Phase phase = null;
    if (b.hasNonNull("phase")) {
      phase = b.get("phase").isTextual() ? Phase.of(b.get("phase").asText()) : null;
      if (phase == null) {
        throw ApiException.invalid("confidence_breaker.phase", "must be 'reasoning' or 'answer' (leave it out to "
            + "watch every token)");
      }
    }
    ParsedRequest.Breaker breaker = new ParsedRequest.Breaker(intField(b, "window", 8, 1, 4096),
        doubleField(b, "threshold", Double.NaN, 0, 1), phase);
    if (Double.isNaN(breaker.threshold())) {
      throw ApiException.invalid("confidence_breaker.threshold", "is required (a probability in [0, 1])");
    }
    return breaker;
  }

  private void checkModel(JsonNode root) {
    if (!root.has("model") || root.get("model").isNull()) {
      return; // one model is served: a request without a name means it
    }
    String name = textField(root, "model");
    if (!name.equals(model.name())) {
      throw new ApiException(404, ErrorType.INVALID_REQUEST, "model", "model_not_found",
          "The model '" + Http.shown(name) + "' does not exist; this server serves '" + model.name() + "'");
    }
  }

  private static void rejectUnsupported(JsonNode root, boolean chat) {
    if (chat) {
      if (root.hasNonNull("functions")) {
        throw ApiException.unsupported("functions", "the legacy 'functions' field is not supported; offer them as "
            + "'tools'");
      }
      JsonNode modalities = root.get("modalities");
      if (modalities != null && modalities.isArray()) {
        for (JsonNode m : modalities) {
          if (!m.asText().equals("text")) {
            throw ApiException.unsupported("modalities", "only the text modality is supported");
          }
        }
      }
    } else {
      if (root.hasNonNull("suffix") && !root.get("suffix").asText().isEmpty()) {
        throw ApiException.unsupported("suffix", "suffix (insertion) is not supported");
      }
      if (root.hasNonNull("best_of") && root.get("best_of").asInt(1) != root.path("n").asInt(1)) {
        throw ApiException.unsupported("best_of", "best_of other than n is not supported");
      }
    }
  }

  private void readPrompts(JsonNode root, List<int[]> prompts, List<String> texts, boolean split) {
    JsonNode prompt = root.get("prompt");
    if (prompt == null || prompt.isNull()) {
      throw ApiException.invalid("prompt", "is required");
    }
    if (prompt.isTextual()) {
      addText(prompt.asText(), prompts, texts, split);
    } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isIntegralNumber()) {
      addIds(prompt, "prompt", prompts, texts);
    } else if (prompt.isArray() && !prompt.isEmpty()) {
      if (prompt.size() > limits.maxPrompts()) {
        throw ApiException.invalid("prompt", "has " + prompt.size() + " prompts; the limit is " + limits.maxPrompts());
      }
      for (int i = 0; i < prompt.size(); i++) {
        JsonNode p = prompt.get(i);
        if (p.isTextual()) {
          addText(p.asText(), prompts, texts, split);
        } else if (p.isArray()) {
          addIds(p, "prompt[" + i + "]", prompts, texts);
        } else {
          throw ApiException.invalid("prompt[" + i + "]", "must be a string or an array of token ids");
        }
      }
    } else {
      throw ApiException.invalid("prompt", "must be a string, an array of strings, or an array of token ids");
    }
    for (int i = 0; i < prompts.size(); i++) {
      if (prompts.get(i).length == 0) {
        throw ApiException.invalid("prompt", "is empty (this model has no beginning-of-sequence token to start from)");
      }
    }
  }

  private void addText(String text, List<int[]> prompts, List<String> texts, boolean split) {
    String clean = fitting(wellFormed(text), "prompt");
    texts.add(clean);
    prompts.add(model.tokenizer().encode(clean, split));
  }

  private void addIds(JsonNode array, String param, List<int[]> prompts, List<String> texts) {
    int vocab = model.backend().config().vocabSize();
    int[] ids = new int[array.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = array.get(i);
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= vocab) {
        throw ApiException.invalid(param, "token ids must be integers in 0.." + (vocab - 1) + ", got " + id);
      }
      ids[i] = id.asInt();
    }
    prompts.add(ids);
    texts.add(model.tokenizer().decode(ids, false));
  }

  private List<String> stopField(JsonNode root) {
    JsonNode stop = root.get("stop");
    List<String> out = new ArrayList<>();
    if (stop == null || stop.isNull()) {
      return out;
    }
    if (stop.isTextual()) {
      out.add(stop.asText());
    } else if (stop.isArray()) {
      for (JsonNode s : stop) {
        if (!s.isTextual()) {
          throw ApiException.invalid("stop", "must be a string or an array of strings");
        }
        out.add(s.asText());
      }
    } else {
      throw ApiException.invalid("stop", "must be a string or an array of strings");
    }
    if (out.size() > limits.maxStop()) {
      throw ApiException.invalid("stop", "has " + out.size() + " sequences; the limit is " + limits.maxStop());
    }
    for (String s : out) {
      if (s.length() > limits.maxStopLength()) {
        throw ApiException.invalid("stop", "a stop sequence is longer than " + limits.maxStopLength() + " characters");
      }
    }
    out.removeIf(String::isEmpty);
    return out;
  }

  private static Integer firstPresent(JsonNode root, String... names) {
    for (String name : names) {
      if (root.hasNonNull(name)) {
        return optInt(root, name, null);
      }
    }
    return null;
  }

  private static Integer optInt(JsonNode root, String name, Integer fallback) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw ApiException.invalid(name, typeMessage(v, "integer", name));
    }
    return v.asInt();
  }

  static int intField(JsonNode root, String name, int fallback, int min, int max) {
    Integer v = optInt(root, name, fallback);
    if (v < min || v > max) {
      throw ApiException.invalid(name, name + " must lie in " + min + ".." + max + ", got " + v);
    }
    return v;
  }

  private static long longField(JsonNode root, String name) {
    JsonNode v = root.get(name);
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw ApiException.invalid(name, typeMessage(v, "integer", name));
    }
    return v.asLong();
  }

  static double doubleField(JsonNode root, String name, double fallback, double min, double max) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isNumber()) {
      throw ApiException.invalid(name, typeMessage(v, "number", name));
    }
    double d = v.asDouble();
    if (!(d >= min && d <= max)) {
      throw ApiException.invalid(name, name + " must lie in [" + min + ", " + max + "], got " + d);
    }
    return d;
  }

  static boolean boolField(JsonNode root, String name, boolean fallback) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isBoolean()) {
      throw ApiException.invalid(name, typeMessage(v, "boolean", name));
    }
    return v.asBoolean();
  }

  private static String textField(JsonNode root, String name) {
    JsonNode v = root.get(name);
    if (!v.isTextual()) {
      throw ApiException.invalid(name, typeMessage(v, "string", name));
    }
    return v.asText();
  }

  private static String typeMessage(JsonNode v, String type, String name) {
    String shown = v.toString();
    if (shown.length() > 40) {
      shown = shown.substring(0, 40) + "...";
    }
    return shown + " is not of type '" + type + "' - '" + name + "'";
  }

}
