package dev.candor.engine.server;

import static dev.candor.engine.server.ServerHttpTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.confidence.Consistency;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Consistency online ({@code "confidence": {"method": "consistency", ...}}) against the real server and the default
 * models: each line's agreement is what the offline computation gives against the very samples the server drew,
 * which a client reproduces as plain requests (sample j of a request seeded s is drawn with seed s + n + j at the
 * consistency temperature, and a seeded request's output does not depend on its company in the batch); streamed as
 * whole; usage counts the choice's tokens only; bad options are a 400 naming the field.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ConsistencyApiTest {
  static final String TRACE = "Trace this program:\na = 347\nb = a * 26\nc = b % 7\nprint(c)\n";
  static DefaultServer defaults;

  @BeforeAll
  static void start() {
    defaults = new DefaultServer(ServerConfig.defaults(0));
  }

  @AfterAll
  static void stop() {
    defaults.close();
  }

  static ObjectNode chat(double temperature, long seed) {
    ObjectNode body = SchemaJudge.JSON.createObjectNode();
    body.putArray("messages").addObject().put("role", "user").put("content", TRACE);
    body.put("max_tokens", 80).put("temperature", temperature).put("seed", seed);
    return body;
  }

  static JsonNode choice(ObjectNode body) throws Exception {
    ServerHttpTest.Reply r = StructuredOutputApiTest.postTo(defaults, body.toString());
    assertEquals(200, r.status(), r.raw());
    return r.body().get("choices").get(0);
  }

  @Test
  void eachLineAgreesWithTheSamplesTheServerDrew() throws Exception {
    ObjectNode body = chat(0, 40);
    body.putObject("confidence").put("method", "consistency").put("samples", 4).put("temperature", 0.9);
    ServerHttpTest.Reply reply = StructuredOutputApiTest.postTo(defaults, body.toString());
    assertEquals(200, reply.status(), reply.raw());
    JsonNode choice = reply.body().get("choices").get(0);
    String answer = choice.get("message").get("content").asText();

    List<String> samples = new ArrayList<>();
    int sampleTokens = 0;
    for (int j = 0; j < 4; j++) { // n = 1: the samples are seeded 41 .. 44
      ServerHttpTest.Reply sample = StructuredOutputApiTest.postTo(defaults, chat(0.9, 41 + j).toString());
      samples.add(sample.body().get("choices").get(0).get("message").get("content").asText());
      sampleTokens += sample.body().get("usage").get("completion_tokens").asInt();
    }
    Consistency.Result expected = Consistency.of(answer, samples);

    JsonNode confidence = choice.get("confidence");
    JsonNode consistency = confidence.get("consistency");
    assertEquals(4, consistency.get("samples").asInt());
    assertEquals(0.9, consistency.get("temperature").asDouble());
    assertEquals(sampleTokens, consistency.get("sample_tokens").asInt());
    assertEquals(expected.response(), consistency.get("response_agreement").asDouble(), 1e-12);
    JsonNode lines = confidence.get("lines");
    assertTrue(lines.size() >= 3, confidence.toString());
    boolean someDisagree = false;
    for (JsonNode line : lines) {
      int start = answer.offsetByCodePoints(0, line.get("char_start").asInt());
      double agreement = line.get("agreement").asDouble();
      assertEquals(expected.lineAt(start), agreement, 1e-12, "line at " + start);
      assertTrue(line.get("p_correct").isNumber(), "the probe still scores every line beside the agreement");
      someDisagree |= agreement < 1;
    }
    assertTrue(someDisagree || expected.response() == 1, "the agreements are not all 1 unless every sample equals it");
    JsonNode plain = StructuredOutputApiTest.postTo(defaults, chat(0, 40).toString()).body();
    assertEquals(plain.get("choices").get(0).get("message").get("content").asText(), answer);
    assertEquals(plain.get("usage").toString(), reply.body().get("usage").toString(),
        "usage counts the choice, not the samples");
  }

  @Test
  void aStreamCarriesTheAgreementInItsLastChunk() throws Exception {
    ObjectNode body = chat(0, 7).put("stream", true);
    body.putObject("confidence").put("method", "consistency").put("samples", 2);
    String raw = ServerHttpTest.HTTP.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create(defaults.url("/v1/chat/completions"))).header("Content-Type", "application/json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body.toString())).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    JsonNode last = null;
    for (JsonNode chunk : ToolCallsApiTest.chunks(raw)) {
      JsonNode confidence = chunk.get("choices").isEmpty() ? null : chunk.get("choices").get(0).get("confidence");
      if (confidence != null && confidence.has("lines")) {
        last = confidence;
      }
    }
    assertTrue(last != null && last.get("consistency").get("samples").asInt() == 2, raw);
    ObjectNode whole = chat(0, 7);
    whole.putObject("confidence").put("method", "consistency").put("samples", 2);
    JsonNode expected = choice(whole).get("confidence");
    assertEquals(expected.get("lines").toString(), last.get("lines").toString());
    assertEquals(expected.get("consistency").toString(), last.get("consistency").toString());
  }

  @Test
  void withoutConsistencyThereIsNoAgreement() throws Exception {
    ObjectNode body = chat(0, 1);
    body.putObject("confidence").put("method", "probe");
    JsonNode confidence = choice(body).get("confidence");
    assertFalse(confidence.has("consistency"));
    assertFalse(confidence.get("lines").get(0).has("agreement"));
  }

  @Test
  void badOptionsNameTheField() throws Exception {
    String[][] cases = {
        {"{\"method\": \"vote\"}", "confidence.method"},
        {"{\"method\": \"consistency\", \"samples\": 0}", "samples"},
        {"{\"method\": \"consistency\", \"samples\": 17}", "samples"},
        {"{\"method\": \"consistency\", \"temperature\": 0}", "confidence.temperature"},
        {"{\"method\": \"consistency\", \"temperature\": 3}", "temperature"},
        {"{\"method\": \"consistency\", \"votes\": 3}", "confidence.votes"},
        {"{\"method\": \"probe\", \"samples\": 3}", "confidence.samples"},
    };
    for (String[] c : cases) {
      ObjectNode body = chat(0, 1);
      body.set("confidence", SchemaJudge.json(c[0]));
      assertError(StructuredOutputApiTest.postTo(defaults, body.toString()), 400, c[1]);
    }
  }
}
