package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.candor.engine.cpu.WeightMemory;
import java.util.Locale;

/** The end-to-end run as markdown: the machine and limit, one row per case, the default model's extra figures. */
final class Markdown {
  private Markdown() {}

  static String of(JsonNode report) {
    StringBuilder md = new StringBuilder();
    JsonNode bw = report.get("bandwidth_at_start");
    md.append(String.format(Locale.ROOT, "Machine: %s, Java %s. Read bandwidth %.1f GB/s (best median of %s at the"
        + " start %s, at the end %.1f; 1 GiB on %d threads, %d passes each).%n%n", report.get("machine").asText(),
        report.get("java").asText(), report.get("bandwidth_gbs").asDouble(), bw.get("bestPattern").asText(),
        bw.get("medianGbs"), report.get("bandwidth_at_end").get("bestGbs").asDouble(), bw.get("threads").asInt(),
        bw.get("repetitions").asInt()));
    md.append(Verdict.weightMemory(report) == WeightMemory.COPIED
        ? "Weights copied into each engine's own memory at load (Candor and llama.cpp `--no-mmap`).\n\n"
        : "Weights used in place from the mapped files (both engines' default).\n\n");
    md.append("| model | weights | decode (tokens/s) | of the limit | vs peer | prefill (tokens/s) | vs peer | peak RSS"
        + " (MB) | weights (MB) | logits vs peer, max \\|Δ\\| / range (max, median) | argmax agree | greedy agree"
        + " | one thread, CPU per token vs peer: decode, prefill | decode in the second round: Candor, peer | valid |\n"
        + "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n");
    for (JsonNode r : report.get("results")) {
      md.append(row(r)).append('\n');
    }
    for (JsonNode r : report.get("results")) {
      if (r.path("candor").has("speculative_tokens_per_second")) {
        md.append('\n').append(defaultExtras(r));
      }
    }
    return md.toString();
  }

  private static String row(JsonNode r) {
    String head = "| " + r.get("model").asText() + " | " + r.get("format").asText() + " |";
    if (r.has("skipped")) {
      return head + " skipped: " + r.get("skipped").asText() + " |||||||||||||";
    }
    JsonNode c = r.path("candor");
    JsonNode p = r.path("peer");
    JsonNode q = r.path("ratios");
    JsonNode f = p.path("teacher_forced");
    String validity = r.path("valid").asBoolean() ? "yes" : "**no**: " + String.join("; ",
        r.path("invalid_reasons").valueStream().map(JsonNode::asText).toList());
    return head + String.join(" |", " " + num(c, "decode_tokens_per_second", "%.2f"),
        " " + num(q, "decode_vs_limit", "%.2f"), " " + num(q, "decode_vs_peer", "%.2f×"),
        " " + num(c, "prefill_tokens_per_second", "%.1f"), " " + num(q, "prefill_vs_peer", "%.2f×"),
        " " + num(c, "peak_rss_mb", "%.0f"), " " + String.format(Locale.ROOT, "%.0f", c.path("weight_bytes").asDouble()
            / 1e6), " " + (f.isMissingNode() ? "—" : String.format(Locale.ROOT, "%.2e, %.2e",
            f.get("max_abs_diff_over_range_max").asDouble(), f.get("max_abs_diff_over_range_median").asDouble())),
        " " + (f.isMissingNode() ? "—" : f.get("argmax_agree").asInt() + " / " + f.get("positions").asInt()),
        " " + (p.has("greedy_tokens_agreeing") ? p.get("greedy_tokens_agreeing").asInt() + " / "
            + p.get("greedy_tokens").asInt() : "—"), " " + (q.has("one_thread_decode_cpu_vs_peer")
            ? String.format(Locale.ROOT, "%.2f×, %.2f×", q.get("one_thread_decode_cpu_vs_peer").asDouble(),
            q.get("one_thread_prefill_cpu_vs_peer").asDouble()) : "—"), " " + secondRound(r.path("second_round")),
        " " + validity) + " |";
  }

  /** The second round's decode of each engine, beside the first round's in the row (Verdict checks they agree). */
  private static String secondRound(JsonNode second) {
    return second.isMissingNode() ? "—" : num(second.path("candor"), "decode_tokens_per_second", "%.2f") + ", "
        + num(second.path("peer"), "decode_tokens_per_second", "%.2f");
  }

  private static String defaultExtras(JsonNode r) {
    JsonNode c = r.get("candor");
    return String.format(Locale.ROOT, "Default model (%s): speculative decoding with the drafter, k = 4: %.1f"
        + " tokens/s, %.2f× plain (acceptance %.3f; expected from the step costs %.1f); decode step %.3f ms, verify"
        + " of 5 tokens %.3f ms, draft step %.3f ms; time to first token %.1f ms; inter-token p50 / p99 %.2f /"
        + " %.2f ms; full distribution record %.1f µs a token (%.3f of a step); probe %.2f µs a token.%n",
        r.get("format").asText(), c.get("speculative_tokens_per_second").asDouble(), c.get("speedup").asDouble(),
        c.get("drafter_acceptance").asDouble(), c.get("expected_speculative_tokens_per_second").asDouble(),
        c.get("decode_step_ms").asDouble(), c.get("verify_step_ms_k4").asDouble(), c.get("draft_step_ms").asDouble(),
        c.get("time_to_first_token_ms").asDouble(), c.get("inter_token_ms_p50").asDouble(),
        c.get("inter_token_ms_p99").asDouble(), c.get("distribution_record_us").asDouble(),
        c.get("distribution_record_fraction_of_step").asDouble(), c.path("probe_token_us").asDouble())
        + (c.has("stack_line_us_12_tokens") ? String.format(Locale.ROOT, "The lines' stack: %.0f µs a 12-token line"
        + " (%.2f of a decode step a token).%n", c.get("stack_line_us_12_tokens").asDouble(),
        c.get("stack_fraction_of_step_per_token").asDouble()) : "");
  }

  private static String num(JsonNode node, String field, String format) {
    return node.has(field) ? String.format(Locale.ROOT, format, node.get(field).asDouble()) : "—";
  }
}
