package dev.candor.probes.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The README's probe tables, generated from a report so that the numbers a reader sees are the ones the pipeline
 * wrote: {@link #render} gives the Markdown, {@link #update} puts it between the README's markers ({@value #BEGIN}
 * and {@value #END}), and a test holds the committed README to what the committed report.json gives.
 */
public final class ReadmeTable {
  public static final String BEGIN = "<!-- probe-table:begin (generated from models/default/probe/report.json by "
      + "`bin/candor probe readme`; do not edit) -->";
  public static final String END = "<!-- probe-table:end -->";

  /** The methods of the headline table, in order, with how the README names them. */
  private static final List<String[]> HEADLINE = List.of(
      new String[] {"probe", "the served probe, Platt-scaled"},
      new String[] {"content", "content: logistic regression on line type, token probability, entropy, position"},
      new String[] {"type_token_prob", "line type + token probability (min)"},
      new String[] {"line_type", "line type alone"},
      new String[] {"token_prob", "token probability (min), Platt-scaled"},
      new String[] {"token_prob_mean", "token probability (mean), Platt-scaled"},
      new String[] {"multisample", "multisampling, 5 samples (whole-line agreement), Platt-scaled"});
  private static final List<String> COMPARED = List.of("content", "type_token_prob", "token_prob", "multisample");
  /** The line-level heads on top of the probes (the study's attempts to win where the aims are measured). */
  private static final List<String[]> LINE_HEADS = List.of(
      new String[] {"probe_isotonic", "the served probe, isotonic instead of Platt"},
      new String[] {"line_head", "line head: the served probe's line and token logits, token probability, entropy,"
          + " length, index"},
      new String[] {"line_head_isotonic", "the line head, isotonic"},
      new String[] {"stack", "stack: the line logits of every target probe input above, the same generic features"},
      new String[] {"stack_isotonic", "the stack, isotonic"});

  private ReadmeTable() {}

  /** The tables for {@code report}. */
  public static String render(Report report) {
    StringBuilder md = new StringBuilder();
    boolean stack = report.meta().containsKey("shipped_lines");
    md.append("| level | method | BSS | BSS 95% CI | ECE | AUC |\n|---|---|---:|---|---:|---:|\n");
    for (String level : List.of("line", "token", "problem")) {
      for (String[] method : HEADLINE) {
        String name = stack && level.equals("line") && method[0].equals("probe")
            ? "the served probe: its lines' stack, isotonic" : method[1];
        row(md, report, level, method[0], true, name);
      }
      if (level.equals("line")) {
        row(md, report, level, "probe", false, stack ? "the served lines' stack before its isotonic"
            : "the served probe, unscaled");
        row(md, report, level, "token_prob", false, "token probability (min), raw");
      }
    }
    inputs(md, report);
    lineHeads(md, report);
    md.append("\n| probe − method (paired, scaled) | line | token | problem |\n|---|---|---|---|\n");
    for (String other : COMPARED) {
      md.append("| ").append(other);
      for (String level : List.of("line", "token", "problem")) {
        md.append(" | ").append(difference(report, other, level, ReportRow.ALL));
      }
      md.append(" |\n");
    }
    md.append("\n| where it matters (line level) | probe | content | token probability | multisampling |\n")
        .append("|---|---|---|---|---|\n");
    subset(md, report, "operation lines: BSS", "type:operation", false);
    subset(md, report, "`output:` lines: BSS", "type:output", false);
    subset(md, report, "difficulty > 0.5: BSS", "difficulty>0.5", false);
    subset(md, report, "confidently wrong lines (min token p > 0.9): mean p", "confidently_wrong", true);
    subset(md, report, "propagated errors: mean p", "propagated", true);
    subset(md, report, "counterfactual downstream lines (wrong): mean p", "counterfactual:cf:downstream", true);
    subset(md, report, "their controls (right): mean p", "counterfactual:control:downstream", true);
    subset(md, report, "counterfactual downstream, wrong vs right: AUC", "counterfactual:cf+control:downstream", false);
    subset(md, report, "fresh problems: BSS", "fresh", false);
    subset(md, report, "fresh problems: ECE", "fresh", false);
    subset(md, report, "trained on difficulty ≤ 0.5, tested above: BSS", "shift:difficulty>0.5", false);
    return md.toString();
  }

  /** Every probe input the study tried (its controls and attempts to win), line level, Platt-scaled. */
  private static void inputs(StringBuilder md, Report report) {
    List<ReportRow> tried = report.rows().stream().filter(r -> r.method().startsWith("probe:")
        && r.level().equals("line") && r.scaled() && r.subset().equals(ReportRow.ALL)).toList();
    if (tried.isEmpty()) {
      return;
    }
    md.append("\n| probe input (model:taps+record features), line level, scaled | BSS | BSS 95% CI | ECE | AUC |\n")
        .append("|---|---:|---|---:|---:|\n");
    for (ReportRow r : tried) {
      md.append("| ").append(r.method().substring("probe:".length())).append(" | ").append(Report.format(r.bss()))
          .append(" | ").append(Report.interval(r.ciLow(), r.ciHigh())).append(" | ").append(Report.format(r.ece()))
          .append(" | ").append(Report.format(r.auc())).append(" |\n");
    }
  }

  /** The line-level heads, each beside multisampling and the served probe (paired) and on confidently wrong lines. */
  private static void lineHeads(StringBuilder md, Report report) {
    if (LINE_HEADS.stream().noneMatch(h -> find(report, h[0], "line", true, ReportRow.ALL) != null)) {
      return;
    }
    md.append("\n| line-level head (cross-fitted, line level) | BSS | BSS 95% CI | ECE | AUC | − multisampling | ")
        .append("− the served probe alone | confidently wrong: mean p |\n|---|---:|---|---:|---:|---|---|---:|\n");
    for (String[] head : LINE_HEADS) {
      ReportRow r = find(report, head[0], "line", true, ReportRow.ALL);
      if (r == null) {
        continue;
      }
      ReportRow wrong = find(report, head[0], "line", true, "confidently_wrong");
      md.append("| ").append(head[1]).append(" | ").append(Report.format(r.bss())).append(" | ")
          .append(Report.interval(r.ciLow(), r.ciHigh())).append(" | ").append(Report.format(r.ece())).append(" | ")
          .append(Report.format(r.auc())).append(" | ").append(paired(report, head[0], "multisample")).append(" | ")
          .append(paired(report, head[0], "probe:" + report.meta().get("served_probe"))).append(" | ")
          .append(wrong == null ? "—" : Report.format(wrong.meanP())).append(" |\n");
    }
  }

  /** Rewrites the block between the markers of {@code readme} with {@link #render}; fails without the markers. */
  public static void update(Path readme, Report report) throws IOException {
    String text = Files.readString(readme);
    Files.writeString(readme, splice(text, render(report)));
  }

  /** The block between the markers of {@code readme}'s text. */
  public static String block(String text) {
    int begin = text.indexOf(BEGIN);
    int end = text.indexOf(END);
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException("no probe table markers in the README");
    }
    return text.substring(begin + BEGIN.length() + 1, end);
  }

  static String splice(String text, String table) {
    int begin = text.indexOf(BEGIN);
    int end = text.indexOf(END);
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException("no probe table markers in the README");
    }
    return text.substring(0, begin + BEGIN.length()) + "\n" + table + text.substring(end);
  }

  private static void row(StringBuilder md, Report report, String level, String method, boolean scaled,
      String name) {
    ReportRow r = find(report, method, level, scaled, ReportRow.ALL);
    if (r == null) {
      return;
    }
    boolean served = method.equals("probe") && scaled;
    md.append("| ").append(level).append(" | ").append(served ? "**" + name + "**" : name).append(" | ")
        .append(bold(Report.format(r.bss()), served)).append(" | ").append(Report.interval(r.ciLow(), r.ciHigh()))
        .append(" | ").append(bold(Report.format(r.ece()), served)).append(" | ").append(bold(Report.format(r.auc()),
            served)).append(" |\n");
  }

  private static void subset(StringBuilder md, Report report, String label, String subset, boolean meanP) {
    boolean ece = label.endsWith("ECE");
    boolean auc = label.endsWith("AUC");
    md.append("| ").append(label);
    for (String method : List.of("probe", "content", "token_prob", "multisample")) {
      ReportRow r = find(report, method, "line", true, subset);
      String value;
      if (r == null) {
        value = "—";
      } else if (meanP) {
        value = Report.format(r.meanP());
      } else if (ece) {
        value = Report.format(r.ece());
      } else if (auc) {
        value = Report.format(r.auc());
      } else {
        value = Report.format(r.bss()) + " " + Report.interval(r.ciLow(), r.ciHigh());
      }
      md.append(" | ").append(value);
    }
    md.append(" |\n");
  }

  private static String difference(Report report, String other, String level, String subset) {
    return difference(report, "probe", other, level, subset);
  }

  private static String paired(Report report, String method, String other) {
    return difference(report, method, other, "line", ReportRow.ALL);
  }

  private static String difference(Report report, String method, String other, String level, String subset) {
    for (Comparison c : report.comparisons()) {
      if (c.is(method, other, level, subset) && c.metric().equals("bss")) {
        return String.format(Locale.ROOT, "%+.3f", c.difference()) + " " + Report.interval(c.ciLow(), c.ciHigh());
      }
    }
    return "—";
  }

  private static ReportRow find(Report report, String method, String level, boolean scaled, String subset) {
    return report.rows().stream().filter(r -> r.is(method, level, scaled, subset)).findFirst().orElse(null);
  }

  private static String bold(String text, boolean on) {
    return on ? "**" + text + "**" : text;
  }
}
