package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK, unchanged, as a client of the real server: what existing users will do. */
class OpenAiSdkTest {
  static TestServer server;
  static OpenAIClient client;

  @BeforeAll
  static void start() {
    server = new TestServer(true, ServerConfig.defaults(0));
    client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl()).apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    client.close();
    server.close();
  }

  static ChatCompletionCreateParams.Builder chat(String message) {
    return ChatCompletionCreateParams.builder().model("candor-test").addUserMessage(message);
  }

  @Test
  void listsTheModel() {
    List<Model> models = client.models().list().data();
    assertEquals(1, models.size());
    assertEquals("candor-test", models.getFirst().id());
  }

  @Test
  void chatWithLogprobsOnEveryToken() {
    ChatCompletion completion = client.chat().completions().create(chat("Tell me a story.").maxCompletionTokens(12)
        .temperature(0.0).logprobs(true).topLogprobs(3).build());
    ChatCompletion.Choice choice = completion.choices().getFirst();
    String content = choice.message().content().orElseThrow();
    List<ChatCompletionTokenLogprob> logprobs = choice.logprobs().orElseThrow().content().orElseThrow();
    assertEquals(12, logprobs.size());
    StringBuilder spelled = new StringBuilder();
    for (ChatCompletionTokenLogprob t : logprobs) {
      assertTrue(t.logprob() <= 0);
      assertEquals(3, t.topLogprobs().size());
      assertTrue(t.topLogprobs().getFirst().logprob() >= t.logprob() - 1e-9, "greedy picks the best");
      spelled.append(t.token());
    }
    assertEquals(content, spelled.toString());
    assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, choice.finishReason());
    assertEquals(12, completion.usage().orElseThrow().completionTokens());
    assertTrue(completion.usage().orElseThrow().promptTokens() > 5);
  }

  @Test
  void streamingChatSpellsTheSameTextAsNonStreaming() {
    ChatCompletionCreateParams params = chat("Count to five.").maxCompletionTokens(10).temperature(0.0).logprobs(true)
        .build();
    String whole = client.chat().completions().create(params).choices().getFirst().message().content().orElseThrow();
    // stream_options only with stream: true (OpenAI refuses it otherwise, and so does Candor)
    params = params.toBuilder().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    StringBuilder streamed = new StringBuilder();
    List<Double> logprobs = new ArrayList<>();
    long[] usage = {0};
    String[] finish = {null};
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> {
        chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
        for (ChatCompletionChunk.Choice c : chunk.choices()) {
          c.delta().content().ifPresent(streamed::append);
          c.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content)
              .ifPresent(list -> list.forEach(t -> logprobs.add(t.logprob())));
          c.finishReason().ifPresent(f -> finish[0] = f.asString());
        }
      });
    }
    assertEquals(whole, streamed.toString());
    assertEquals(10, logprobs.size());
    assertEquals(10, usage[0]);
    assertEquals("length", finish[0]);
  }

  @Test
  void completionsWithLogprobsEchoAndStop() {
    CompletionCreateParams base = CompletionCreateParams.builder().model("candor-test").prompt("The quick brown fox")
        .maxTokens(8).temperature(0.0).logprobs(2).build();
    Completion plain = client.completions().create(base);
    CompletionChoice choice = plain.choices().getFirst();
    CompletionChoice.Logprobs logprobs = choice.logprobs().orElseThrow();
    assertEquals(8, logprobs.tokens().orElseThrow().size());
    assertEquals(choice.text(), String.join("", logprobs.tokens().orElseThrow()));
    assertEquals(0L, logprobs.textOffset().orElseThrow().getFirst());
    assertTrue(logprobs.topLogprobs().orElseThrow().getFirst()._additionalProperties().size() >= 2);

    Completion echoed = client.completions().create(base.toBuilder().echo(true).build());
    assertEquals("The quick brown fox" + choice.text(), echoed.choices().getFirst().text());
    List<Double> echoedLogprobs = echoed.choices().getFirst().logprobs().orElseThrow().tokenLogprobs().orElseThrow();
    assertEquals(null, echoedLogprobs.getFirst(), "the first prompt token has no logprob");

    // stop at a piece of the greedy output: the text ends just before it
    String text = choice.text();
    String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
    Completion stopped = client.completions().create(base.toBuilder().stop(stop).build());
    String stoppedText = stopped.choices().getFirst().text();
    assertEquals(text.substring(0, text.indexOf(stop)), stoppedText);
    assertEquals(CompletionChoice.FinishReason.STOP, stopped.choices().getFirst().finishReason());
  }

  @Test
  void nChoicesAndSeedsReproduce() {
    ChatCompletionCreateParams params = chat("Hello").maxCompletionTokens(8).temperature(1.0).n(3).seed(1234).build();
    ChatCompletion a = client.chat().completions().create(params);
    ChatCompletion b = client.chat().completions().create(params);
    assertEquals(3, a.choices().size());
    for (int i = 0; i < 3; i++) {
      assertEquals(i, a.choices().get(i).index());
      assertEquals(a.choices().get(i).message().content(), b.choices().get(i).message().content(), "seeded choice " + i);
    }
    assertNotEquals(a.choices().get(0).message().content(), a.choices().get(1).message().content());
    ChatCompletion c = client.chat().completions().create(params.toBuilder().seed(99).build());
    assertNotEquals(a.choices().get(0).message().content(), c.choices().get(0).message().content());
    assertEquals(24, a.usage().orElseThrow().completionTokens());
  }

  @Test
  void confidenceRidesAlongAsAnExtension() {
    ChatCompletion completion = client.chat().completions().create(chat("Write two lines.").maxCompletionTokens(16)
        .temperature(0.0).build());
    Map<String, JsonValue> extra = completion.choices().getFirst()._additionalProperties();
    assertTrue(extra.containsKey("confidence"));
    @SuppressWarnings("unchecked")
    Map<String, Object> confidence = (Map<String, Object>) extra.get("confidence").convert(Map.class);
    assertEquals("token_prob", confidence.get("method"));
    assertEquals(16, ((List<?>) confidence.get("tokens")).size());
    @SuppressWarnings("unchecked")
    Map<String, Object> summary = (Map<String, Object>) confidence.get("summary");
    assertEquals(1.0, ((Number) summary.get("coverage")).doubleValue());
    assertFalse(((List<?>) confidence.get("lines")).isEmpty());
  }
}
