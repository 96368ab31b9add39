package dev.candor.models.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.confidence.ConfidenceModel;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.confidence.StackedProbe;
import dev.candor.engine.generate.Generator;
import dev.candor.engine.server.OpenAiServer;
import dev.candor.engine.server.ServerConfig;
import dev.candor.models.task.Program;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.task.TraceTask;
import dev.candor.models.train.DefaultModels;
import dev.candor.probes.data.Example;
import dev.candor.probes.eval.ProbeReport;
import dev.candor.probes.eval.ProbeStudy;
import dev.candor.probes.features.FeatureExtractor;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * End to end: the real server, serving the default target with its drafter (speculative decoding: most tokens are
 * accepted drafts) and the committed probe, answers trace problems; the offline pipeline then teacher-forces the same
 * answers and scores them with the same probe. Every token's, every line's and the response's p_correct must be the
 * same, blank lines must be unmeasured (null) in both, and no token may go unmeasured.
 */
class ServerConfidenceTest {
  static final int PROBLEMS = 8;
  static final double TOLERANCE = 1e-4; // verification of k + 1 positions and one teacher-forced pass, both float32

  @Test
  void theServersConfidenceIsTheOfflinePipelinesOnTheSameAnswers() throws Exception {
    Path defaults = ProbeTests.defaults();
    try (LoadedModel target = LoadedModel.load(defaults.resolve("target"), "cpu");
        LoadedModel drafter = LoadedModel.load(defaults.resolve("drafter"), "cpu")) {
      var config = target.backend().config();
      Path dir = defaults.resolve("probe");
      Probe probe = Probe.loadFor(dir, ModelIdentity.of(target.dir(), config, ModelIdentity.formatOf(config)));
      StackedProbe stack = StackedProbe.isStack(dir) ? StackedProbe.load(dir) : null;
      ConfidenceModel served = stack != null ? stack : probe;
      Generator generator = new Generator(target.backend(), drafter.backend(), target.tokenizer(),
          target.eosTokens(), 4);
      FeatureExtractor offline = new FeatureExtractor(target, served.taps());
      try (OpenAiServer server = new OpenAiServer(target.withName("candor-default"), generator, served,
          ServerConfig.defaults(0))) {
        HttpClient http = HttpClient.newHttpClient();
        ProgramGenerator programs = new ProgramGenerator(DefaultModels.PROBE_TEST_PROGRAMS);
        int accepted = 0;
        for (int i = 0; i < PROBLEMS; i++) {
          Program program = programs.generate(1000 + i, (double) i / (PROBLEMS - 1));
          JsonNode choice = ask(http, server.port(), program);
          String answer = choice.path("message").path("content").asText();
          JsonNode confidence = choice.path("confidence");
          assertEquals("probe", confidence.path("method").asText());
          ProblemFeatures features = offline.extract(new Example("p" + i, null, TraceTask.messages(program), answer,
              program.trace(), null, List.of()));
          compare(probe, stack, served.taps(), features, target, confidence, answer);
          accepted += confidence.path("summary").path("n_accepted").asInt();
        }
        assertTrue(accepted > 0, "speculative decoding was on: drafted tokens were accepted");
      }
    }
  }

  private static JsonNode ask(HttpClient http, int port, Program program) throws Exception {
    ObjectMapper json = new ObjectMapper();
    ObjectNode body = json.createObjectNode();
    body.putArray("messages").addObject().put("role", "user").put("content", TraceTask.INSTRUCTION
        + program.source());
    body.put("max_tokens", 300).put("temperature", 0);
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return json.readTree(response.body()).path("choices").get(0);
  }

  /**
   * Token by token, line by line (code lines by where they start; blank ones null), and the response; lines by the
   * stack's offline scoring when there is one.
   */
  private static void compare(Probe probe, StackedProbe stack, int[] taps, ProblemFeatures features,
      LoadedModel target, JsonNode confidence, String answer) {
    FeatureSet set = new FeatureSet(ModelIdentity.of(target.dir(), target.backend().config(), "f32"),
        taps, probe.hiddenSize(), List.of(features));
    double[] stackLines = stack == null ? null : ProbeStudy.stackLines(stack, set)[1];
    List<float[]> inputs = List.of(ProbeStudy.inputs(ProbeReport.input(probe), Map.of("target", set),
        set.problems()).getFirst().inputs());
    JsonNode tokens = confidence.path("tokens");
    assertEquals(features.size(), tokens.size(), "tokens of " + answer);
    for (int t = 0; t < tokens.size(); t++) {
      assertTrue(tokens.get(t).path("p_correct").isNumber(), "token " + t + " was measured");
      assertEquals(probe.probability(inputs.subList(t, t + 1), Probe.Level.TOKEN),
          tokens.get(t).path("p_correct").asDouble(), TOLERANCE, "token " + t + " of " + answer);
    }
    int code = 0;
    for (JsonNode line : confidence.path("lines")) {
      int start = line.path("token_start").asInt();
      int end = line.path("token_end").asInt();
      boolean isCode = code < features.lines().length && features.lineStart(code) == start;
      if (!isCode) {
        assertTrue(line.path("p_correct").isNull(), "a blank line is not measured: " + line);
        continue;
      }
      assertEquals(features.lineEnd(code), end);
      double expected = stack != null ? stackLines[code]
          : probe.probability(inputs.subList(start, end), Probe.Level.LINE);
      assertEquals(expected, line.path("p_correct").asDouble(), TOLERANCE, "line " + code + " of " + answer);
      code++;
    }
    assertEquals(features.lines().length, code, "every code line reported");
    assertEquals(probe.probability(inputs, Probe.Level.RESPONSE),
        confidence.path("response").path("p_correct").asDouble(), TOLERANCE, "the response " + answer);
  }
}
