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
  void subsetsIntervalsDetailsAndComparisonsRoundTrip(@TempDir Path dir) throws IOException {
    ReportRow subset = new ReportRow("probe", "line", true, "propagated", 0.2, Double.NaN, 0.3, Double.NaN, Double.NaN,
        Double.NaN, 0.25);
    ReportRow all = new ReportRow("probe", "line", true, ReportRow.ALL, 0.07, 0.7, 0.02, 0.95, 0.68, 0.72, Double.NaN);
    RowDetail detail = new RowDetail("probe", "line", true, ReportRow.ALL, 6000, new double[] {0.69, 0.71},
        new double[] {0.02, Double.NaN}, 0.015, 0.03);
    Comparison c = new Comparison("probe", "content", "line", true, ReportRow.ALL, "bss", 0.03,
        new double[] {0.02, 0.04}, 0.01, 0.05);
    Report report = new Report(List.of(all, subset), List.of(detail), List.of(c), Map.of("line", 0.56),
        Map.of("lines", 6000), Map.of());
    Path json = dir.resolve("report.json");
    report.writeJson(json);
    JsonNode root = new ObjectMapper().readTree(json.toFile());
    List<String> fields = new java.util.ArrayList<>();
    root.get("rows").get(0).fieldNames().forEachRemaining(fields::add);
    assertEquals(List.of("method", "level", "scaled", "subset", "brier", "bss", "ece", "auc", "ci_low", "ci_high"),
        fields, "a row on all rows carries exactly these fields");
    assertEquals(0.25, root.get("rows").get(1).get("mean_p").asDouble(), 0, "a subset's row also its mean p");
    Report back = Report.readJson(json);
    assertEquals(report.rows(), back.rows());
    assertEquals(6000, back.details().getFirst().n());
    assertTrue(Double.isNaN(back.details().getFirst().foldEce()[1]));
    assertEquals(0.04, back.comparison("probe", "content", "line", ReportRow.ALL).perFold()[1], 0);
    assertTrue(back.comparison("probe", "content", "line", ReportRow.ALL).aAbove());
    String md = report.markdown();
    assertTrue(md.contains("| probe | yes | 6000 | 0.070 | 0.700 | [0.680, 0.720] | 0.020 | 0.950 |"), md);
    assertTrue(md.contains("## line level, propagated"), md);
    assertTrue(md.contains("| probe | content | line | all | bss | 0.030 | [0.010, 0.050] | 0.020 0.040 |"), md);
  }

  @Test
  void markdownHasOneTablePerLevel(@TempDir Path dir) throws IOException {
    Report report = example();
    String md = report.markdown();
    assertTrue(md.contains("| probe | no | — | 0.065 | 0.740 | — | 0.100 | 0.875 |"), md);
    assertTrue(md.contains("| token_prob | no | — | 0.300 | -0.200 | — | 0.250 | — |"), md);
    assertTrue(md.contains("| probe | yes | — | 0.200 | 0.100 | — | 0.050 | 0.700 |"), md);
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
