package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static dev.candor.engine.server.ServerHttpTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Thinking models through the real server: random-weight checkpoints with Qwen3's tokenizer, one with its published
 * template (the reply may open a think block; {@code enable_thinking: false} closes an empty one in the prompt) and
 * one whose generation prompt opens the block, as Qwen3's thinking-only releases do. A logit bias on
 * {@code </think>} makes the random model end its reasoning after a few tokens. Whatever the sampled text, the
 * response must split it by the definition: reasoning_content before the first {@code </think>}, content after,
 * every token and line marked with its phase, each phase summarised apart (an empty one "not measured"), streaming
 * equal to the whole response, and a breaker that watches one phase only.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ThinkingApiTest {
  static TestServer thinking; // the prompt opens the block
  static TestServer qwen3; // the published template: the reply may open it

  @BeforeAll
  static void start() {
    thinking = SharedServers.thinking();
    qwen3 = SharedServers.qwen3();
  }

  /** A sampled reply whose reasoning a bias on {@code </think>} ends after a few tokens (penalised once used). */
  static ObjectNode forced(int seed, int maxTokens) {
    ObjectNode body = StructuredOutputApiTest.chat("Think, then answer.", 1).put("seed", seed)
        .put("max_tokens", maxTokens).put("logprobs", true).put("presence_penalty", 2).put("frequency_penalty", 2);
    body.putObject("logit_bias").put(String.valueOf(Qwen3Checkpoints.END_THINK), 10.5);
    return body;
  }

  static JsonNode choice(TestServer s, ObjectNode body) throws Exception {
    ServerHttpTest.Reply r = post(s, "/v1/chat/completions", body.toString());
    assertEquals(200, r.status(), r.raw());
    return r.body().get("choices").get(0);
  }

  /** The reply's text from its tokens' bytes, and where each token starts in it (a character split over tokens
   * starts with the token that completes it, as the server releases text). */
  static String raw(JsonNode choice, List<Integer> starts) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    for (JsonNode t : choice.get("logprobs").get("content")) {
      starts.add(decoded(bytes.toByteArray(), false).length());
      t.get("bytes").forEach(b -> bytes.write(b.asInt()));
    }
    return decoded(bytes.toByteArray(), true);
  }

  static String decoded(byte[] bytes, boolean end) {
    java.nio.charset.CharsetDecoder decoder = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE)
        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPLACE);
    java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length + 1);
    decoder.decode(java.nio.ByteBuffer.wrap(bytes), out, end);
    if (end) {
      decoder.flush(out);
    }
    return out.flip().toString();
  }

  /** The definition, for a reply that starts in its reasoning: checks text, phases, lines and summaries. */
  static int[] checkSplit(JsonNode choice) {
    List<Integer> starts = new ArrayList<>();
    String raw = raw(choice, starts);
    int close = raw.indexOf(ThinkingSplitter.CLOSE);
    String reasoning = (close < 0 ? raw : raw.substring(0, close)).replaceAll("^\n+|\n+$", "");
    String answer = close < 0 ? "" : raw.substring(close + ThinkingSplitter.CLOSE.length()).replaceAll("^\n+", "");
    JsonNode message = choice.get("message");
    assertEquals(reasoning.isEmpty() ? null : reasoning, message.get("reasoning_content").textValue(), raw);
    assertEquals(answer, message.get("content").asText(), raw);
    JsonNode tokens = choice.get("confidence").get("tokens");
    int end = close < 0 ? Integer.MAX_VALUE : close + ThinkingSplitter.CLOSE.length();
    int[] counts = new int[2];
    List<List<Double>> ps = List.of(new ArrayList<>(), new ArrayList<>());
    for (int i = 0; i < tokens.size(); i++) {
      Phase expected = starts.get(i) < end ? Phase.REASONING : Phase.ANSWER;
      assertEquals(expected.apiName, tokens.get(i).get("phase").asText(), "token " + i + " of " + raw);
      counts[expected.ordinal()]++;
      ps.get(expected.ordinal()).add(tokens.get(i).get("p_correct").asDouble());
    }
    for (JsonNode line : choice.get("confidence").get("lines")) {
      for (int t = line.get("token_start").asInt(); t < line.get("token_end").asInt(); t++) {
        assertEquals(line.get("phase").asText(), tokens.get(t).get("phase").asText(), "a line is in one phase");
      }
    }
    for (Phase phase : Phase.values()) {
      JsonNode summary = choice.get("confidence").get("phases").get(phase.apiName);
      List<Double> mine = ps.get(phase.ordinal());
      assertEquals(mine.size(), summary.get("n_tokens").asInt(), phase.apiName);
      assertEquals(!mine.isEmpty(), summary.get("measured").asBoolean());
      if (mine.isEmpty()) {
        assertTrue(summary.get("mean").isNull() && summary.get("min").isNull(), "never a confidence of 0");
      } else {
        assertEquals(mine.stream().mapToDouble(d -> d).average().orElseThrow(), summary.get("mean").asDouble(), 1e-12);
        assertEquals(mine.stream().mapToDouble(d -> d).min().orElseThrow(), summary.get("min").asDouble(), 1e-12);
      }
    }
    return counts;
  }

  @Test
  void reasoningAndAnswerComeApartTokenByTokenAndStreamAlike() throws Exception {
    int both = 0;
    for (int seed = 0; seed < 8; seed++) {
      JsonNode whole = choice(thinking, forced(seed, 24));
      int[] counts = checkSplit(whole);
      both += counts[0] >= 2 && counts[1] >= 2 ? 1 : 0;
      if (seed < 3) {
        checkStreamEqualsWhole(forced(seed, 24), whole);
      }
    }
    assertTrue(both >= 2, "the bias ends the reasoning after a few tokens on some seeds: " + both);
  }

  static void checkStreamEqualsWhole(ObjectNode body, JsonNode whole) throws Exception {
    body.put("stream", true);
    StringBuilder reasoning = new StringBuilder();
    StringBuilder content = new StringBuilder();
    List<String> phases = new ArrayList<>();
    JsonNode last = null;
    for (JsonNode chunk : ToolCallsApiTest.chunks(post(thinking, "/v1/chat/completions", body.toString()).raw())) {
      JsonNode c = chunk.get("choices").get(0);
      reasoning.append(c.path("delta").path("reasoning_content").asText(""));
      content.append(c.path("delta").path("content").asText(""));
      c.path("confidence").path("tokens").forEach(t -> phases.add(t.get("phase").asText()));
      if (c.hasNonNull("finish_reason")) {
        last = c;
      }
    }
    assertEquals(whole.get("message").get("reasoning_content").asText(""), reasoning.toString());
    assertEquals(whole.get("message").get("content").asText(), content.toString());
    List<String> wholePhases = new ArrayList<>();
    whole.get("confidence").get("tokens").forEach(t -> wholePhases.add(t.get("phase").asText()));
    assertEquals(wholePhases, phases);
    assertEquals(whole.get("confidence").get("phases"), last.get("confidence").get("phases"));
    assertEquals(whole.get("confidence").get("lines"), last.get("confidence").get("lines"));
  }

  @Test
  void aReplyThatNeverLeavesItsReasoningHasAnUnmeasuredAnswer() throws Exception {
    ObjectNode body = forced(0, 5);
    body.putObject("logit_bias").put(String.valueOf(Qwen3Checkpoints.END_THINK), -100);
    JsonNode choice = choice(thinking, body);
    checkSplit(choice);
    assertEquals("", choice.get("message").get("content").asText());
    JsonNode answer = choice.get("confidence").get("phases").get("answer");
    assertEquals(0, answer.get("n_tokens").asInt());
    assertFalse(answer.get("measured").asBoolean());
    assertTrue(answer.get("p_correct").isNull());
    assertEquals(5, choice.get("confidence").get("phases").get("reasoning").get("n_tokens").asInt());
  }

  @Test
  void enableThinkingFalseClosesTheBlockInThePromptSoAllIsAnswer() throws Exception {
    ObjectNode body = forced(0, 3);
    body.putObject("logit_bias").put(String.valueOf(Qwen3Checkpoints.END_THINK), 100);
    body.putObject("chat_template_kwargs").put("enable_thinking", false);
    JsonNode choice = choice(qwen3, body);
    assertEquals("</think>".repeat(3), choice.get("message").get("content").asText(), "no block to close: text");
    assertTrue(choice.get("message").get("reasoning_content").isNull());
    JsonNode phases = choice.get("confidence").get("phases");
    assertEquals(0, phases.get("reasoning").get("n_tokens").asInt());
    assertFalse(phases.get("reasoning").get("measured").asBoolean());
    assertEquals(3, phases.get("answer").get("n_tokens").asInt());
    // the same prompt with thinking on: the reply may open a block, and one that opens it reasons
    body.remove("chat_template_kwargs");
    body.putObject("logit_bias").put(String.valueOf(Qwen3Checkpoints.THINK), 100);
    JsonNode opened = choice(qwen3, body);
    assertEquals("<think><think>", opened.get("message").get("reasoning_content").asText());
    assertEquals(3, opened.get("confidence").get("phases").get("reasoning").get("n_tokens").asInt());
  }

  @Test
  void theBreakerCanWatchOnePhase() throws Exception {
    // find a seed whose reasoning and answer each have a few tokens; the random model's p_correct is tiny, so a
    // window of 2 measured tokens always trips: at the second token of the watched phase
    for (int seed = 0; seed < 8; seed++) {
      JsonNode free = choice(thinking, forced(seed, 24));
      int[] counts = checkSplit(free);
      if (counts[0] < 3 || counts[1] < 3) {
        continue;
      }
      assertEquals(counts[0] + 1, trippedAt(forced(seed, 24), "answer"), "the answer's second token");
      assertEquals(1, trippedAt(forced(seed, 24), "reasoning"));
      assertEquals(1, trippedAt(forced(seed, 24), null));
      ObjectNode bad = forced(seed, 24);
      bad.putObject("confidence_breaker").put("window", 2).put("threshold", 0.5).put("phase", "thinking");
      assertError(post(thinking, "/v1/chat/completions", bad.toString()), 400, "confidence_breaker.phase");
      return;
    }
    throw new AssertionError("no seed gave both phases three tokens");
  }

  static int trippedAt(ObjectNode body, String phase) throws Exception {
    ObjectNode breaker = body.putObject("confidence_breaker").put("window", 2).put("threshold", 0.5);
    if (phase != null) {
      breaker.put("phase", phase);
    }
    JsonNode choice = choice(thinking, body);
    assertEquals("low_confidence", choice.get("finish_reason").asText());
    JsonNode report = choice.get("confidence").get("breaker");
    assertEquals(phase == null ? null : phase, report.path("phase").textValue());
    assertEquals(2, report.get("measured_tokens").asInt());
    assertEquals(report.get("at_token").asInt() + 1, choice.get("confidence").get("tokens").size(),
        "it stops right after the token it tripped at");
    return report.get("at_token").asInt();
  }
}
