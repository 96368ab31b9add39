package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.chat.completions.StructuredChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseIncludable;
import com.openai.models.responses.ResponseOutputText;
import com.openai.models.responses.ResponseStreamEvent;
import java.math.BigInteger;
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
    server = SharedServers.qwen25();
    client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl()).apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    client.close();
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

  /** A function the model may call; enums only, so a random model's arguments are short (a string runs on). */
  @JsonClassDescription("Get the current weather in a city")
  public static class GetWeather {
    @JsonPropertyDescription("the city")
    public City city;
    public Unit unit;
  }

  public enum City { PARIS, ZURICH, TOKYO }

  public enum Unit { CELSIUS, FAHRENHEIT }

  /** A structured answer. */
  public static class Verdict {
    public BigInteger answer; // the grammar allows 20 digits: more than a long holds
    public boolean correct;
    public Unit unit;
  }

  @Test
  void aToolRoundTrip() {
    ChatCompletionCreateParams ask = chat("What is the weather in Paris?").addTool(GetWeather.class)
        .toolChoice(ChatCompletionToolChoiceOption.ofAuto(ChatCompletionToolChoiceOption.Auto.REQUIRED))
        .parallelToolCalls(false).temperature(1.0).seed(3).maxCompletionTokens(200).build();
    ChatCompletion first = client.chat().completions().create(ask);
    ChatCompletion.Choice choice = first.choices().getFirst();
    assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
    ChatCompletionMessage message = choice.message();
    List<ChatCompletionMessageToolCall> calls = message.toolCalls().orElseThrow();
    assertEquals(1, calls.size());
    ChatCompletionMessageFunctionToolCall call = calls.getFirst().asFunction();
    assertEquals("GetWeather", call.function().name());
    GetWeather arguments = call.function().arguments(GetWeather.class); // the SDK parses them into the class
    assertTrue(arguments.city != null && arguments.unit != null, "a strict schema requires both: "
        + call.function().arguments());

    ChatCompletionCreateParams answer = ask.toBuilder().addMessage(message)
        .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("18 C, clear").build())
        .toolChoice(ChatCompletionToolChoiceOption.ofAuto(ChatCompletionToolChoiceOption.Auto.NONE))
        .maxCompletionTokens(6).build();
    ChatCompletion second = client.chat().completions().create(answer);
    assertTrue(second.choices().getFirst().message().content().isPresent());
    assertTrue(second.usage().orElseThrow().promptTokens() > first.usage().orElseThrow().promptTokens(),
        "the call and its result are in the prompt");
  }

  @Test
  void aStructuredOutputParsedIntoAClass() {
    StructuredChatCompletion<Verdict> completion = client.chat().completions().create(
        chat("Is 2 + 2 = 4? Answer as JSON.").responseFormat(Verdict.class).temperature(1.0).seed(7)
            .maxCompletionTokens(300).build());
    Verdict verdict = completion.choices().getFirst().message().content().orElseThrow();
    assertTrue(verdict.unit != null && verdict.answer != null, "every property is required in a strict schema");
  }

  @Test
  void aStreamedResponsesCall() {
    ResponseCreateParams params = ResponseCreateParams.builder().model("candor-test").input("Tell me a story.")
        .instructions("Be brief.").maxOutputTokens(10).temperature(0.0)
        .include(List.of(ResponseIncludable.MESSAGE_OUTPUT_TEXT_LOGPROBS)).topLogprobs(2).build();
    Response whole = client.responses().create(params);
    ResponseOutputText text = whole.output().getFirst().asMessage().content().getFirst().asOutputText();
    assertEquals(10, text.logprobs().orElseThrow().size());
    StringBuilder deltas = new StringBuilder();
    Response[] last = {null};
    List<String> types = new ArrayList<>();
    try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params)) {
      stream.stream().forEach(event -> {
        event.outputTextDelta().ifPresent(d -> deltas.append(d.delta()));
        event.created().ifPresent(e -> types.add("created"));
        event.incomplete().ifPresent(e -> last[0] = e.response());
        event.completed().ifPresent(e -> last[0] = e.response());
      });
    }
    assertEquals(List.of("created"), types);
    assertEquals(text.text(), deltas.toString());
    assertEquals(text.text(), last[0].output().getFirst().asMessage().content().getFirst().asOutputText().text());
    assertEquals(whole.usage().orElseThrow().inputTokens(), last[0].usage().orElseThrow().inputTokens());
    assertTrue(last[0]._additionalProperties().containsKey("confidence"), "the extension rides on the response");
  }
}
