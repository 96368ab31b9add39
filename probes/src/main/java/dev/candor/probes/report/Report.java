package dev.candor.probes.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The result of a probe evaluation: one {@link ReportRow} per (method, level, scaled), the base rate (fraction
 * correct) and the number of items per level, and free-form metadata (model, layer, folds, seed...). Written as JSON
 * for machines and as Markdown tables for people:
 *
 * <pre>
 * {"rows": [{"method", "level", "scaled", "brier", "bss", "ece", "auc"}, ...],
 *  "base_rates": {level: rate}, "counts": {name: n}, "meta": {...}}
 * </pre>
 *
 * JSON has no NaN, so an undefined metric (NaN) is written as null and read back as NaN. Maps keep insertion order.
 */
public record Report(
    List<ReportRow> rows, Map<String, Double> baseRates, Map<String, Integer> counts, Map<String, Object> meta) {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String MISSING = "—";

  /** Copies every collection (meta values may be null, nested maps, lists, strings or numbers). */
  public Report {
    rows = List.copyOf(rows);
    baseRates = Collections.unmodifiableMap(new LinkedHashMap<>(baseRates));
    counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
    meta = Collections.unmodifiableMap(new LinkedHashMap<>(meta));
  }

  /** Writes the report as JSON to {@code path}. */
  public void writeJson(Path path) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    ArrayNode rowsNode = root.putArray("rows");
    for (ReportRow row : rows) {
      ObjectNode r = rowsNode.addObject();
      r.put("method", row.method());
      r.put("level", row.level());
      r.put("scaled", row.scaled());
      r.set("brier", number(row.brier()));
      r.set("bss", number(row.bss()));
      r.set("ece", number(row.ece()));
      r.set("auc", number(row.auc()));
    }
    ObjectNode rates = root.putObject("base_rates");
    baseRates.forEach((level, rate) -> rates.set(level, number(rate == null ? Double.NaN : rate)));
    ObjectNode countsNode = root.putObject("counts");
    counts.forEach(countsNode::put);
    root.set("meta", finite(JSON.valueToTree(meta)));
    try {
      JSON.writeValue(path.toFile(), root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write report " + path, e);
    }
  }

  /** Reads a report written by {@link #writeJson}; nulls in rows and base rates come back as NaN. */
  public static Report readJson(Path path) {
    JsonNode root;
    try {
      root = JSON.readTree(path.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read report " + path, e);
    }
    List<ReportRow> rows = new ArrayList<>();
    for (JsonNode r : root.path("rows")) {
      rows.add(new ReportRow(
          r.get("method").asText(), r.get("level").asText(), r.get("scaled").asBoolean(),
          number(r.get("brier")), number(r.get("bss")), number(r.get("ece")), number(r.get("auc"))));
    }
    Map<String, Double> baseRates = new LinkedHashMap<>();
    root.path("base_rates").properties().forEach(e -> baseRates.put(e.getKey(), number(e.getValue())));
    Map<String, Integer> counts = new LinkedHashMap<>();
    root.path("counts").properties().forEach(e -> counts.put(e.getKey(), e.getValue().asInt()));
    @SuppressWarnings("unchecked")
    Map<String, Object> meta = root.hasNonNull("meta") ? JSON.convertValue(root.get("meta"), Map.class) : Map.of();
    return new Report(rows, baseRates, counts, meta);
  }

  /** Writes {@link #markdown} to {@code path}. */
  public void writeMarkdown(Path path) {
    try {
      Files.writeString(path, markdown());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write report " + path, e);
    }
  }

  /**
   * The report as Markdown: metadata, counts and base rates, then one table per level (in the order levels first
   * appear in the rows) with columns method | scaled | Brier | BSS | ECE | AUC, numbers to 3 decimals, "—" for NaN.
   */
  public String markdown() {
    StringBuilder md = new StringBuilder("# Probe report\n");
    if (!meta.isEmpty()) {
      md.append('\n');
      meta.forEach((key, value) -> md.append("- ").append(key).append(": ").append(value).append('\n'));
    }
    if (!counts.isEmpty()) {
      md.append("\n## Counts\n\n| | n |\n|---|---:|\n");
      counts.forEach((name, n) -> md.append("| ").append(name).append(" | ").append(n).append(" |\n"));
    }
    if (!baseRates.isEmpty()) {
      md.append("\n## Base rates (fraction correct)\n\n| level | base rate |\n|---|---:|\n");
      baseRates.forEach(
          (level, rate) -> md.append("| ").append(level).append(" | ").append(format(rate)).append(" |\n"));
    }
    Set<String> levels = new LinkedHashSet<>();
    rows.forEach(row -> levels.add(row.level()));
    for (String level : levels) {
      md.append("\n## ").append(level).append(" level\n\n");
      md.append("| method | scaled | Brier | BSS | ECE | AUC |\n|---|---|---:|---:|---:|---:|\n");
      for (ReportRow row : rows) {
        if (row.level().equals(level)) {
          md.append("| ").append(row.method())
              .append(" | ").append(row.scaled() ? "yes" : "no")
              .append(" | ").append(format(row.brier()))
              .append(" | ").append(format(row.bss()))
              .append(" | ").append(format(row.ece()))
              .append(" | ").append(format(row.auc()))
              .append(" |\n");
        }
      }
    }
    return md.toString();
  }

  private static String format(Double x) {
    return x == null || !Double.isFinite(x) ? MISSING : String.format(Locale.ROOT, "%.3f", x);
  }

  private static JsonNode number(double x) {
    return Double.isFinite(x) ? JsonNodeFactory.instance.numberNode(x) : JsonNodeFactory.instance.nullNode();
  }

  private static double number(JsonNode node) {
    return node == null || node.isNull() ? Double.NaN : node.asDouble();
  }

  /** {@code node} with every non-finite number, at any depth, replaced by null. */
  private static JsonNode finite(JsonNode node) {
    if (node.isNumber() && !Double.isFinite(node.asDouble())) {
      return JsonNodeFactory.instance.nullNode();
    }
    if (node.isObject()) {
      ObjectNode object = (ObjectNode) node;
      for (Map.Entry<String, JsonNode> e : new ArrayList<>(object.properties())) {
        object.set(e.getKey(), finite(e.getValue()));
      }
    } else if (node.isArray()) {
      ArrayNode array = (ArrayNode) node;
      for (int i = 0; i < array.size(); i++) {
        array.set(i, finite(array.get(i)));
      }
    }
    return node;
  }
}
