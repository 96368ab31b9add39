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
 * The result of a probe evaluation: one {@link ReportRow} per (method, level, scaled, subset), with its per-fold
 * values and ECE interval ({@link RowDetail}), the paired comparisons between methods ({@link Comparison}), the base
 * rate (fraction correct) and the number of items per level, and free-form metadata. Written as JSON for machines
 * and as Markdown tables for people:
 *
 * <pre>
 * {"rows": [{"method", "level", "scaled", "subset", "brier", "bss", "ece", "auc", "ci_low", "ci_high"
 *            (, "mean_p" on a subset)}, ...],
 *  "details": [{"method", "level", "scaled", "subset", "n", "fold_bss": [...], "fold_ece": [...], "ece_ci_low",
 *               "ece_ci_high"}, ...],
 *  "comparisons": [{"a", "b", "level", "scaled", "subset", "metric", "difference", "per_fold": [...], "ci_low",
 *                   "ci_high"}, ...],
 *  "base_rates": {level: rate}, "counts": {name: n}, "meta": {...}}
 * </pre>
 *
 * JSON has no NaN, so an undefined number (NaN) is written as null and read back as NaN. Maps keep insertion order.
 */
public record Report(List<ReportRow> rows, List<RowDetail> details, List<Comparison> comparisons,
    Map<String, Double> baseRates, Map<String, Integer> counts, Map<String, Object> meta) {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String MISSING = "—";

  /** Copies every collection (meta values may be null, nested maps, lists, strings or numbers). */
  public Report {
    rows = List.copyOf(rows);
    details = List.copyOf(details);
    comparisons = List.copyOf(comparisons);
    baseRates = Collections.unmodifiableMap(new LinkedHashMap<>(baseRates));
    counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
    meta = Collections.unmodifiableMap(new LinkedHashMap<>(meta));
  }

  /** A report of rows only. */
  public Report(List<ReportRow> rows, Map<String, Double> baseRates, Map<String, Integer> counts,
      Map<String, Object> meta) {
    this(rows, List.of(), List.of(), baseRates, counts, meta);
  }

  /** The row of (method, level, scaled, subset); fails when there is none. */
  public ReportRow row(String method, String level, boolean scaled, String subset) {
    return rows.stream().filter(r -> r.is(method, level, scaled, subset)).findFirst().orElseThrow(
        () -> new IllegalArgumentException("no row " + method + " / " + level + " / scaled " + scaled + " / "
            + subset));
  }

  /** The comparison a − b at (level, subset); fails when there is none. */
  public Comparison comparison(String a, String b, String level, String subset) {
    return comparisons.stream().filter(c -> c.is(a, b, level, subset)).findFirst().orElseThrow(
        () -> new IllegalArgumentException("no comparison " + a + " - " + b + " / " + level + " / " + subset));
  }

  /** The details of a row, or null. */
  public RowDetail detail(ReportRow row) {
    return details.stream().filter(d -> d.is(row)).findFirst().orElse(null);
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
      r.put("subset", row.subset());
      r.set("brier", number(row.brier()));
      r.set("bss", number(row.bss()));
      r.set("ece", number(row.ece()));
      r.set("auc", number(row.auc()));
      r.set("ci_low", number(row.ciLow()));
      r.set("ci_high", number(row.ciHigh()));
      if (!row.subset().equals(ReportRow.ALL)) {
        r.set("mean_p", number(row.meanP()));
      }
    }
    ArrayNode detailNode = root.putArray("details");
    for (RowDetail d : details) {
      ObjectNode n = detailNode.addObject();
      n.put("method", d.method());
      n.put("level", d.level());
      n.put("scaled", d.scaled());
      n.put("subset", d.subset());
      n.put("n", d.n());
      n.set("fold_bss", numbers(d.foldBss()));
      n.set("fold_ece", numbers(d.foldEce()));
      n.set("ece_ci_low", number(d.eceLow()));
      n.set("ece_ci_high", number(d.eceHigh()));
    }
    ArrayNode comparisonNode = root.putArray("comparisons");
    for (Comparison c : comparisons) {
      ObjectNode n = comparisonNode.addObject();
      n.put("a", c.a());
      n.put("b", c.b());
      n.put("level", c.level());
      n.put("scaled", c.scaled());
      n.put("subset", c.subset());
      n.put("metric", c.metric());
      n.set("difference", number(c.difference()));
      n.set("per_fold", numbers(c.perFold()));
      n.set("ci_low", number(c.ciLow()));
      n.set("ci_high", number(c.ciHigh()));
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

  /** Reads a report written by {@link #writeJson}; nulls in numbers come back as NaN. */
  public static Report readJson(Path path) {
    JsonNode root;
    try {
      root = JSON.readTree(path.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read report " + path, e);
    }
    List<ReportRow> rows = new ArrayList<>();
    for (JsonNode r : root.path("rows")) {
      rows.add(new ReportRow(r.get("method").asText(), r.get("level").asText(), r.get("scaled").asBoolean(),
          r.path("subset").asText(ReportRow.ALL), number(r.get("brier")), number(r.get("bss")), number(r.get("ece")),
          number(r.get("auc")), number(r.get("ci_low")), number(r.get("ci_high")), number(r.get("mean_p"))));
    }
    List<RowDetail> details = new ArrayList<>();
    for (JsonNode d : root.path("details")) {
      details.add(new RowDetail(d.get("method").asText(), d.get("level").asText(), d.get("scaled").asBoolean(),
          d.get("subset").asText(), d.get("n").asInt(), numbers(d.get("fold_bss")), numbers(d.get("fold_ece")),
          number(d.get("ece_ci_low")), number(d.get("ece_ci_high"))));
    }
    List<Comparison> comparisons = new ArrayList<>();
    for (JsonNode c : root.path("comparisons")) {
      comparisons.add(new Comparison(c.get("a").asText(), c.get("b").asText(), c.get("level").asText(),
          c.get("scaled").asBoolean(), c.get("subset").asText(), c.get("metric").asText(), number(c.get("difference")),
          numbers(c.get("per_fold")), number(c.get("ci_low")), number(c.get("ci_high"))));
    }
    Map<String, Double> baseRates = new LinkedHashMap<>();
    root.path("base_rates").properties().forEach(e -> baseRates.put(e.getKey(), number(e.getValue())));
    Map<String, Integer> counts = new LinkedHashMap<>();
    root.path("counts").properties().forEach(e -> counts.put(e.getKey(), e.getValue().asInt()));
    @SuppressWarnings("unchecked")
    Map<String, Object> meta = root.hasNonNull("meta") ? JSON.convertValue(root.get("meta"), Map.class) : Map.of();
    return new Report(rows, details, comparisons, baseRates, counts, meta);
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
   * The report as Markdown: metadata, counts and base rates; then, per subset in the order subsets first appear
   * ("all" first), one table per level with columns method | scaled | n | Brier | BSS [95% CI] | ECE | AUC (and mean p
   * on a subset); then the paired comparisons. Numbers to 3 decimals, "—" for NaN.
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
    Set<String> subsets = new LinkedHashSet<>();
    rows.forEach(row -> subsets.add(row.subset()));
    for (String subset : subsets) {
      Set<String> levels = new LinkedHashSet<>();
      rows.stream().filter(r -> r.subset().equals(subset)).forEach(r -> levels.add(r.level()));
      for (String level : levels) {
        md.append("\n## ").append(level).append(" level").append(subset.equals(ReportRow.ALL) ? "" : ", " + subset)
            .append("\n\n");
        table(md, subset, level);
      }
    }
    if (!comparisons.isEmpty()) {
      md.append("\n## Paired comparisons (a − b; 95% interval from the same problem resamples)\n\n")
          .append("| a | b | level | subset | metric | difference | 95% CI | per fold |\n")
          .append("|---|---|---|---|---|---:|---|---|\n");
      for (Comparison c : comparisons) {
        md.append("| ").append(c.a()).append(" | ").append(c.b()).append(" | ").append(c.level()).append(" | ")
            .append(c.subset()).append(" | ").append(c.metric()).append(" | ").append(format(c.difference()))
            .append(" | ").append(interval(c.ciLow(), c.ciHigh())).append(" | ").append(list(c.perFold()))
            .append(" |\n");
      }
    }
    return md.toString();
  }

  private void table(StringBuilder md, String subset, String level) {
    boolean isSubset = !subset.equals(ReportRow.ALL);
    md.append("| method | scaled | n |").append(isSubset ? " mean p |" : "")
        .append(" Brier | BSS | BSS 95% CI | ECE | AUC |\n|---|---|---:|").append(isSubset ? "---:|" : "")
        .append("---:|---:|---|---:|---:|\n");
    for (ReportRow row : rows) {
      if (!row.subset().equals(subset) || !row.level().equals(level)) {
        continue;
      }
      RowDetail detail = detail(row);
      md.append("| ").append(row.method())
          .append(" | ").append(row.scaled() ? "yes" : "no")
          .append(" | ").append(detail == null ? MISSING : Integer.toString(detail.n()));
      if (isSubset) {
        md.append(" | ").append(format(row.meanP()));
      }
      md.append(" | ").append(format(row.brier()))
          .append(" | ").append(format(row.bss()))
          .append(" | ").append(interval(row.ciLow(), row.ciHigh()))
          .append(" | ").append(format(row.ece()))
          .append(" | ").append(format(row.auc()))
          .append(" |\n");
    }
  }

  /** A number to 3 decimals, "—" for NaN or null. */
  public static String format(Double x) {
    return x == null || !Double.isFinite(x) ? MISSING : String.format(Locale.ROOT, "%.3f", x);
  }

  /** "[lo, hi]" to 3 decimals, "—" when undefined. */
  public static String interval(double lo, double hi) {
    return Double.isFinite(lo) && Double.isFinite(hi) ? "[" + format(lo) + ", " + format(hi) + "]" : MISSING;
  }

  private static String list(double[] values) {
    List<String> parts = new ArrayList<>();
    for (double v : values) {
      parts.add(format(v));
    }
    return String.join(" ", parts);
  }

  private static JsonNode number(double x) {
    return Double.isFinite(x) ? JsonNodeFactory.instance.numberNode(x) : JsonNodeFactory.instance.nullNode();
  }

  private static ArrayNode numbers(double[] values) {
    ArrayNode array = JsonNodeFactory.instance.arrayNode();
    for (double v : values) {
      array.add(number(v));
    }
    return array;
  }

  private static double number(JsonNode node) {
    return node == null || node.isNull() ? Double.NaN : node.asDouble();
  }

  private static double[] numbers(JsonNode node) {
    double[] out = new double[node == null ? 0 : node.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = number(node.get(i));
    }
    return out;
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
