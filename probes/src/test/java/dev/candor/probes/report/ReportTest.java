package dev.candor.probes.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.candor.probes.metrics.Metrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's JSON round trip (NaN as null) and its Markdown tables. */
class ReportTest {
  static Report example() {
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("model", "Qwen2.5-Coder-0.5B");
    meta.put("folds", 5);
    meta.put("layers", List.of(12, 18));
    meta.put("undefined", Double.NaN);
    return new Report(
        List.of(
            new ReportRow("probe", "token", false, 0.065, 0.74, 0.1, 0.875),
            new ReportRow("probe", "token", true, 0.06, 0.76, 0.02, 0.875),
            new ReportRow("token_prob", "line", false, 0.3, -0.2, 0.25, Double.NaN),
            ReportRow.of("probe", "line", true, new Metrics.Scores(0.2, 0.1, 0.05, 0.7))),
        new LinkedHashMap<>(Map.of("token", 0.5)),
        new LinkedHashMap<>(Map.of("problems", 40, "tokens", 5000)),
        meta);
  }

  @Test
  void jsonRoundTripKeepsEverythingAndNaN(@TempDir Path dir) throws IOException {
    Report report = example();
    Path json = dir.resolve("report.json");
    report.writeJson(json);
    Report back = Report.readJson(json);
    assertEquals(report.rows(), back.rows()); // record equality: Double.compare, so NaN equals NaN
    assertEquals(report.baseRates(), back.baseRates());
    assertEquals(report.counts(), back.counts());
    assertEquals("Qwen2.5-Coder-0.5B", back.meta().get("model"));
    assertEquals(5, back.meta().get("folds"));
    assertEquals(List.of(12, 18), back.meta().get("layers"));
    assertTrue(back.meta().containsKey("undefined") && back.meta().get("undefined") == null);
  }

  @Test
  void jsonHasTheDocumentedShapeAndNullForNaN(@TempDir Path dir) throws IOException {
    Path json = dir.resolve("report.json");
    example().writeJson(json);
    JsonNode root = new ObjectMapper().readTree(json.toFile());
    JsonNode row = root.get("rows").get(2);
    assertEquals("token_prob", row.get("method").asText());
    assertEquals("line", row.get("level").asText());
    assertTrue(row.get("scaled").isBoolean());
    assertEquals(-0.2, row.get("bss").asDouble(), 0);
    assertTrue(row.get("auc").isNull());
    assertEquals(0.5, root.get("base_rates").get("token").asDouble(), 0);
    assertEquals(5000, root.get("counts").get("tokens").asInt());
    assertTrue(root.get("meta").get("undefined").isNull());
    assertTrue(!Files.readString(json).contains("NaN"));
  }

  @Test
  void markdownHasOneTablePerLevel(@TempDir Path dir) throws IOException {
    Report report = example();
    String md = report.markdown();
    assertTrue(md.contains("| probe | no | 0.065 | 0.740 | 0.100 | 0.875 |"), md);
    assertTrue(md.contains("| token_prob | no | 0.300 | -0.200 | 0.250 | — |"), md);
    assertTrue(md.contains("| probe | yes | 0.200 | 0.100 | 0.050 | 0.700 |"), md);
    assertTrue(md.indexOf("## token level") < md.indexOf("## line level"), md);
    assertTrue(md.indexOf("| probe | yes | 0.060") < md.indexOf("## line level"), md);
    assertTrue(md.contains("| token | 0.500 |"), md);
    assertTrue(md.contains("| tokens | 5000 |"), md);
    assertTrue(md.contains("- model: Qwen2.5-Coder-0.5B"), md);
    Path file = dir.resolve("report.md");
    report.writeMarkdown(file);
    assertEquals(md, Files.readString(file));
  }
}
