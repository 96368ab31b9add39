package dev.candor.engine.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.confidence.ConfidenceBreaker;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.Lines;
import dev.candor.engine.generate.GenerationResult;
import dev.candor.engine.generate.SpeculationStats;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.sampling.TokenDistribution;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.engine.tools.ToolCall;
import dev.candor.engine.tools.ToolCallDelta;
import java.util.List;

/**
 * OpenAI's response shapes, built field by field so they match the published schemas exactly: chat.completion,
 * chat.completion.chunk, text_completion (whole and streamed), usage, errors, and Candor's {@code confidence}
 * extension on each choice.
 */
final class Responses {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  /** What OpenAI reports for a token with no probability at all (JSON has no -Infinity). */
  static final double NO_PROBABILITY = -9999.0;

  private final Tokenizer tokenizer;
  private final ConfidenceModel confidence;

  Responses(Tokenizer tokenizer, ConfidenceModel confidence) {
    this.tokenizer = tokenizer;
    this.confidence = confidence;
  }

  static ObjectNode error(ApiException e) {
    ObjectNode root = F.objectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", e.getMessage());
    error.put("type", e.type.apiName);
    if (e.param == null) {
      error.putNull("param");
    } else {
      error.put("param", e.param);
    }
    if (e.code == null) {
      error.putNull("code");
    } else {
      error.put("code", e.code);
    }
    return root;
  }

  static ObjectNode envelope(String id, String object, long created, String model) {
    ObjectNode root = F.objectNode();
    root.put("id", id);
    root.put("object", object);
    root.put("created", created);
    root.put("model", model);
    root.put("system_fingerprint", "candor");
    return root;
  }

  /** OpenAI's usage, with the prompt tokens the prefix cache served in prompt_tokens_details.cached_tokens. */
  static ObjectNode usage(int prompt, int completion, int cached) {
    ObjectNode usage = F.objectNode();
    usage.put("prompt_tokens", prompt);
    usage.put("completion_tokens", completion);
    usage.put("total_tokens", prompt + completion);
    usage.putObject("prompt_tokens_details").put("cached_tokens", cached);
    return usage;
  }

  static double finite(double logprob) {
    return Double.isFinite(logprob) ? logprob : NO_PROBABILITY;
  }

  private ArrayNode bytes(byte[] b) {
    ArrayNode array = F.arrayNode(b.length);
    for (byte x : b) {
      array.add(x & 0xff);
    }
    return array;
  }

  /** Chat: {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], "refusal": null}. */
  ObjectNode chatLogprobs(List<TokenRecord> records) {
    ObjectNode logprobs = F.objectNode();
    ArrayNode content = logprobs.putArray("content");
    for (TokenRecord r : records) {
      ObjectNode entry = content.addObject();
      entry.put("token", r.text());
      entry.put("logprob", finite(r.logprob()));
      entry.set("bytes", bytes(r.bytes()));
      ArrayNode top = entry.putArray("top_logprobs");
      for (TokenDistribution.Alternative a : r.top()) {
        ObjectNode alt = top.addObject();
        alt.put("token", tokenizer.text(a.token()));
        alt.put("logprob", finite(a.logprob()));
        alt.set("bytes", bytes(tokenizer.bytes(a.token())));
      }
    }
    logprobs.putNull("refusal");
    return logprobs;
  }

  /**
   * Completions: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}. Each top_logprobs entry holds
   * the top N and the sampled token (OpenAI: "up to logprobs + 1 elements"); a record without a logprob (the first
   * echoed prompt token) has nulls. {@code offsets} are each token's offset in the returned text, in code points
   * (see {@link #codePoints}).
   */
  ObjectNode completionLogprobs(List<TokenRecord> records, List<Integer> offsets) {
    ObjectNode logprobs = F.objectNode();
    ArrayNode tokens = logprobs.putArray("tokens");
    ArrayNode tokenLogprobs = logprobs.putArray("token_logprobs");
    ArrayNode top = logprobs.putArray("top_logprobs");
    ArrayNode textOffset = logprobs.putArray("text_offset");
    for (int i = 0; i < records.size(); i++) {
      TokenRecord r = records.get(i);
      tokens.add(r.text());
      textOffset.add(offsets.get(i));
      if (Double.isNaN(r.logprob())) {
        tokenLogprobs.addNull();
        top.addNull();
        continue;
      }
      tokenLogprobs.add(finite(r.logprob()));
      ObjectNode alternatives = top.addObject();
      for (TokenDistribution.Alternative a : r.top()) {
        alternatives.put(tokenizer.text(a.token()), finite(a.logprob()));
      }
      if (!alternatives.has(r.text())) {
        alternatives.put(r.text(), finite(r.logprob()));
      }
    }
    return logprobs;
  }

  /** A chat message's tool_calls: [{id, type: "function", function: {name, arguments}}], arguments a JSON string. */
  static ArrayNode toolCalls(List<ToolCall> calls) {
    ArrayNode array = F.arrayNode();
    for (ToolCall call : calls) {
      ObjectNode c = array.addObject();
      c.put("id", call.id());
      c.put("type", "function");
      c.putObject("function").put("name", call.name()).put("arguments", call.arguments());
    }
    return array;
  }

  /**
   * A chunk's delta.tool_calls, as OpenAI streams them: a call's first fragment {index, id, type, function: {name,
   * arguments: ""}}, then {index, function: {arguments}} pieces.
   */
  static ArrayNode toolCallDeltas(List<ToolCallDelta> deltas) {
    ArrayNode array = F.arrayNode();
    for (ToolCallDelta d : deltas) {
      ObjectNode c = array.addObject();
      c.put("index", d.index());
      if (d.starts()) {
        c.put("id", d.id());
        c.put("type", "function");
        c.putObject("function").put("name", d.name()).put("arguments", d.arguments());
      } else {
        c.putObject("function").put("arguments", d.arguments());
      }
    }
    return array;
  }

  /**
   * Offsets into {@code text} (UTF-16 indices, as Java strings count) as OpenAI counts them: characters, i.e. code
   * points (Python's len), plus {@code base}. An emoji is one character, not two.
   */
  static List<Integer> codePoints(String text, List<Integer> utf16Offsets, int base) {
    List<Integer> out = new java.util.ArrayList<>(utf16Offsets.size());
    int from = 0;
    int count = base;
    for (int offset : utf16Offsets) {
      int to = Math.min(offset, text.length());
      if (to >= from) {
        count += text.codePointCount(from, to);
      } else {
        count -= text.codePointCount(to, from);
      }
      from = to;
      out.add(count);
    }
    return out;
  }

  /**
   * confidence.tokens for some records: [{p_correct, source, entropy, draft_prob}], each p_correct as scored once in
   * the decode loop, and each token's phase when the model thinks ({@code phases} null otherwise).
   */
  ArrayNode confidenceTokens(List<TokenRecord> records, List<Phase> phases) {
    ArrayNode tokens = F.arrayNode();
    for (int i = 0; i < records.size(); i++) {
      TokenRecord r = records.get(i);
      ObjectNode t = tokens.addObject();
      putProbability(t, "p_correct", r.pCorrect());
      t.put("source", r.source().apiName());
      putProbability(t, "entropy", r.entropy()); // nats, of the target's raw distribution
      putProbability(t, "draft_prob", r.draftProb()); // the drafter's; null for bonus and plain tokens
      if (phases != null) {
        t.put("phase", phases.get(i).apiName);
      }
    }
    return tokens;
  }

  /** The parts of a choice the confidence object reports on besides its result. */
  record Judged(ConfidenceBreaker.Report breaker, Phase breakerPhase, List<Phase> phases,
      Events.ConsistencyScore consistency) {
    static final Judged PLAIN = new Judged(null, null, null, null);
  }

  /**
   * The whole confidence object of a finished choice. With {@code withTokens} false (streaming's last chunk) the
   * per-token list is left out: it already rode on the earlier chunks. A thinking model's choice ({@code
   * judged.phases()} not null) has each token and line marked with its phase and a summary per phase.
   */
  ObjectNode confidence(GenerationResult result, Judged judged, boolean withTokens) {
    List<Phase> phases = judged.phases();
    ObjectNode c = F.objectNode();
    c.put("method", confidence.method());
    c.put("note", confidence.note());
    if (withTokens) {
      c.set("tokens", confidenceTokens(result.tokens(), phases));
    }
    ArrayNode lines = c.putArray("lines");
    int codeLine = 0; // the line's index among the response's non-blank lines, as the probe pipeline counts them
    for (Lines.Line line : lines(result, phases)) {
      ObjectNode l = lines.addObject();
      List<TokenRecord> records = result.tokens().subList(line.tokenStart(), line.tokenEnd());
      putProbability(l, "p_correct", confidence.line(records, codeLine));
      if (!Lines.isBlank(records.stream().map(TokenRecord::bytes).toList())) {
        codeLine++;
      }
      l.put("token_start", line.tokenStart());
      l.put("token_end", line.tokenEnd());
      l.put("char_start", result.text().codePointCount(0, line.charStart()));
      l.put("char_end", result.text().codePointCount(0, line.charEnd()));
      if (phases != null) {
        l.put("phase", phases.get(line.tokenStart()).apiName);
      }
      if (judged.consistency() != null) {
        putProbability(l, "agreement", judged.consistency().agreement().lineAt(line.charStart()));
      }
    }
    ObjectNode response = c.putObject("response");
    putProbability(response, "p_correct", confidence.response(result.tokens()));
    response.put("measured", !result.tokens().isEmpty());
    if (phases != null) {
      ObjectNode byPhase = c.putObject("phases");
      for (Phase phase : Phase.values()) {
        byPhase.set(phase.apiName, phase(result.tokens(), phases, phase));
      }
    }
    c.set("summary", summary(result.stats()));
    if (judged.breaker() != null) {
      c.set("breaker", breaker(judged.breaker(), judged.breakerPhase()));
    }
    if (judged.consistency() != null) {
      c.set("consistency", consistency(judged.consistency()));
    }
    return c;
  }

  /**
   * confidence.consistency: how many samples the choice was scored against, at what temperature, the tokens they
   * took, and the share of samples whose non-blank lines all equal the choice's (each line's own share is its
   * {@code agreement}).
   */
  private static ObjectNode consistency(Events.ConsistencyScore score) {
    ObjectNode c = F.objectNode();
    c.put("samples", score.agreement().samples());
    c.put("temperature", score.temperature());
    c.put("sample_tokens", score.sampleTokens());
    putProbability(c, "response_agreement", score.agreement().response());
    c.put("note", "agreement: the share of samples of the same prompt that contain the line (whole lines, after "
        + "alignment); not a calibrated probability");
    return c;
  }

  private static ObjectNode summary(SpeculationStats s) {
    ObjectNode summary = F.objectNode();
    summary.put("n_tokens", s.nTokens());
    summary.put("n_drafted", s.nDrafted());
    summary.put("n_accepted", s.nAccepted());
    summary.put("n_resampled", s.nResampled());
    summary.put("n_bonus", s.nBonus());
    summary.put("n_target", s.nTarget());
    putProbability(summary, "drafter_acceptance", s.drafterAcceptance());
    putProbability(summary, "coverage", s.coverage());
    ArrayNode histogram = summary.putArray("accepted_per_step");
    for (int count : s.acceptedPerStep()) {
      histogram.add(count);
    }
    return summary;
  }

  /** What the breaker saw; with the phase it watched, when it watched one. */
  private static ObjectNode breaker(ConfidenceBreaker.Report breaker, Phase phase) {
    ObjectNode b = F.objectNode();
    if (phase != null) {
      b.put("phase", phase.apiName);
    }
    b.put("window", breaker.window());
    b.put("threshold", breaker.threshold());
    b.put("tripped", breaker.tripped());
    if (breaker.tripped()) {
      b.put("at_token", breaker.trippedAt());
    } else {
      b.putNull("at_token");
    }
    putProbability(b, "window_p_correct", breaker.windowMean());
    b.put("measured_tokens", breaker.measured());
    return b;
  }

  /**
   * The output's lines (see {@link Lines}), a line that holds the end of the reasoning and the start of the answer
   * split in two, so that every line is in one phase.
   */
  static List<Lines.Line> lines(GenerationResult result, List<Phase> phases) {
    List<Lines.Line> lines = Lines.of(result.text(), result.textOffsets());
    if (phases == null) {
      return lines;
    }
    List<Lines.Line> out = new java.util.ArrayList<>();
    for (Lines.Line line : lines) {
      int split = line.tokenStart() + 1;
      while (split < line.tokenEnd() && phases.get(split) == phases.get(line.tokenStart())) {
        split++;
      }
      if (split == line.tokenEnd()) {
        out.add(line);
      } else {
        int at = result.textOffsets().get(split);
        out.add(new Lines.Line(line.tokenStart(), split, line.charStart(), at));
        out.add(new Lines.Line(split, line.tokenEnd(), at, line.charEnd()));
      }
    }
    return out;
  }

  /**
   * One phase's summary: its tokens, their mean and least p_correct, and the confidence model's response-level
   * p_correct over them (the probe's, or the least token probability); a phase with no measured token says
   * {@code measured: false} with nulls, never a confidence of 0.
   */
  private ObjectNode phase(List<TokenRecord> tokens, List<Phase> phases, Phase which) {
    List<TokenRecord> mine = new java.util.ArrayList<>();
    double sum = 0;
    double min = Double.NaN;
    int measured = 0;
    for (int i = 0; i < tokens.size(); i++) {
      if (phases.get(i) == which) {
        TokenRecord r = tokens.get(i);
        mine.add(r);
        if (!Double.isNaN(r.pCorrect())) {
          measured++;
          sum += r.pCorrect();
          min = Double.isNaN(min) ? r.pCorrect() : Math.min(min, r.pCorrect());
        }
      }
    }
    ObjectNode p = F.objectNode();
    p.put("n_tokens", mine.size());
    putProbability(p, "mean", measured == 0 ? Double.NaN : sum / measured);
    putProbability(p, "min", min);
    putProbability(p, "p_correct", measured == 0 ? Double.NaN : confidence.response(mine));
    p.put("measured", measured > 0);
    return p;
  }

  /** A probability, or null when there was nothing to measure (never 0 for "empty"). */
  static void putProbability(ObjectNode node, String field, double p) {
    if (Double.isNaN(p)) {
      node.putNull(field);
    } else {
      node.put(field, p);
    }
  }

  /** A chat choice's finish_reason: {@code tool_calls} when a reply that made calls ended on its own. */
  static String finishReason(GenerationResult result, boolean madeCalls) {
    return madeCalls && result.finishReason() == dev.candor.engine.generate.FinishReason.STOP ? "tool_calls"
        : finishReason(result);
  }

  static String finishReason(GenerationResult result) {
    return switch (result.finishReason()) {
      case STOP -> "stop";
      case LENGTH, CANCELLED -> "length";
      case LOW_CONFIDENCE -> "low_confidence";
    };
  }
}
