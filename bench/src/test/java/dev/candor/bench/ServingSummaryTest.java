package dev.candor.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** summary.json's "serving" part, in the shape the serving issue asks for, each entry naming its report. */
class ServingSummaryTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyEntryCarriesItsFiguresAndTheReportItCameFrom() {
    ObjectNode report = JSON.createObjectNode();
    ObjectNode model = report.putObject("models").putObject("qwen2.5-0.5b");
    ObjectNode streams = model.putObject("streams");
    for (int n : ServingBenchmark.STREAMS) {
      streams.putObject(Integer.toString(n)).put("tokens_per_second", 10.0 * n + 0.12345)
          .put("server_cpu_ms_per_token", 100.0 / n);
    }
    model.putObject("short_under_load").put("ttft_p50_ms", 266.4);
    model.putObject("prefix_cache").put("ttft_repeat_over_cold", 0.086);
    model.put("valid", true);
    report.putObject("peer").put("model", "qwen2.5-0.5b").putObject("streams").put("1", 34.6);

    ObjectNode s = ServingBenchmark.summary(report, "2026-12-02-1930-test-serving");

    JsonNode m = s.get("qwen2.5-0.5b");
    assertEquals(40.123, m.get("streams").get("4").asDouble(), 0);
    assertEquals(25.0, m.get("server_cpu_ms_per_token").get("4").asDouble(), 0);
    assertEquals(266.4, m.get("ttft_short_under_load_ms").asDouble(), 0);
    assertEquals(0.086, m.get("ttft_repeat_over_cold").asDouble(), 0);
    assertEquals("2026-12-02-1930-test-serving", m.get("run").asText());
    assertEquals("2026-12-02-1930-test-serving", s.get("peer").get("run").asText());
    assertFalse(report.get("peer").has("run"), "the report itself is left as measured");
  }

  @Test
  void aReportIsNamedByTheMinuteItWasWritten() {
    String stamp = EndToEnd.stamp();
    assertTrue(stamp.matches("\\d{4}-\\d{2}-\\d{2}-\\d{4}-[a-z0-9-]+"), stamp);
  }
}
