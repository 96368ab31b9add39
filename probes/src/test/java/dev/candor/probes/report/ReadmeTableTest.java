package dev.candor.probes.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's probe tables are what the committed report gives, and the generator writes only between its markers. */
class ReadmeTableTest {
  static Path repository() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.exists(p.resolve("models/default/probe/report.json")) && Files.exists(p.resolve("README.md"))) {
        return p;
      }
    }
    throw new IllegalStateException("README.md and models/default/probe/report.json not found");
  }

  @Test
  void theReadmeTablesAreTheCommittedReports() throws IOException {
    Path root = repository();
    Report report = Report.readJson(root.resolve("models/default/probe/report.json"));
    assertEquals(ReadmeTable.render(report), ReadmeTable.block(Files.readString(root.resolve("README.md"))),
        "README.md's probe tables differ from models/default/probe/report.json: run "
            + "bin/candor probe readme --report models/default/probe/report.json");
  }

  @Test
  void updateRewritesOnlyTheBlockBetweenTheMarkers(@TempDir Path dir) throws IOException {
    Report report = new Report(List.of(
        new ReportRow("probe", "line", true, ReportRow.ALL, 0.07, 0.7, 0.02, 0.95, 0.68, 0.72, Double.NaN),
        new ReportRow("content", "line", true, ReportRow.ALL, 0.08, 0.66, 0.03, 0.94, 0.64, 0.68, Double.NaN),
        new ReportRow("probe:drafter:tap2", "line", true, ReportRow.ALL, 0.08, 0.65, 0.04, 0.93, 0.62, 0.67,
            Double.NaN),
        new ReportRow("probe", "line", true, "propagated", 0.1, Double.NaN, 0.2, Double.NaN, Double.NaN, Double.NaN,
            0.23),
        new ReportRow("stack", "line", true, ReportRow.ALL, 0.06, 0.73, 0.021, 0.97, 0.71, 0.75, Double.NaN)),
        List.of(), List.of(new Comparison("probe", "content", "line", true, ReportRow.ALL, "bss", 0.04,
            new double[] {0.03, 0.05}, 0.01, 0.07), new Comparison("stack", "multisample", "line", true,
                ReportRow.ALL, "bss", 0.015, new double[] {0.01, 0.02}, 0.002, 0.028)), Map.of(), Map.of(), Map.of());
    Path readme = dir.resolve("README.md");
    Files.writeString(readme, "before\n" + ReadmeTable.BEGIN + "\nold table\n" + ReadmeTable.END + "\nafter\n");
    ReadmeTable.update(readme, report);
    String text = Files.readString(readme);
    assertTrue(text.startsWith("before\n" + ReadmeTable.BEGIN + "\n| level |"), text);
    assertTrue(text.endsWith(ReadmeTable.END + "\nafter\n"), text);
    String table = ReadmeTable.block(text);
    assertEquals(ReadmeTable.render(report), table);
    assertTrue(table.contains("| line | **the served probe, Platt-scaled** | **0.700** | [0.680, 0.720] | **0.020** |"),
        table);
    assertTrue(table.contains("| drafter:tap2 | 0.650 | [0.620, 0.670] | 0.040 | 0.930 |"), table);
    assertTrue(table.contains("| content | +0.040 [0.010, 0.070] | — | — |"), table);
    assertTrue(table.contains("| propagated errors: mean p | 0.230 | — | — | — |"), table);
    assertTrue(table.contains("| stack: the line logits of every target probe input above, the same generic features"
        + " | 0.730 | [0.710, 0.750] | 0.021 | 0.970 | +0.015 [0.002, 0.028] | — | — |"), table);
    Files.writeString(readme, "no markers\n");
    assertThrows(IllegalArgumentException.class, () -> ReadmeTable.update(readme, report));
  }
}
