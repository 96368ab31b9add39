package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/** The serving benchmark's report as Markdown: one table a measurement, every model a row, invalid runs marked. */
final class ServingMarkdown {
  private ServingMarkdown() {}

  static String of(JsonNode report) {
    StringBuilder md = new StringBuilder();
    md.append("# Serving benchmark, ").append(report.get("date").asText()).append(", ")
        .append(report.get("machine").asText()).append("\n\n")
        .append("Against ").append(report.get("measured_against").asText()).append(". Greedy, `ignore_eos`, ")
        .append("distinct random token-id prompts; a run is invalid when other processes used more than ")
        .append(pct(EndToEnd.SHARED_CPU)).append(" of the machine's CPU meanwhile.\n\n");
    md.append("## Aggregate decode throughput (tokens/s, all streams decoding)\n\n")
        .append("| model | 1 | 2 | 4 | 8 | 4 / 1 | others' CPU | valid |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (var e : report.get("models").properties()) {
      JsonNode s = e.getValue().path("streams");
      md.append(row(e.getKey(), s.path("1").path("tokens_per_second"), s.path("2").path("tokens_per_second"),
          s.path("4").path("tokens_per_second"), s.path("8").path("tokens_per_second"), e.getValue()));
    }
    JsonNode peer = report.path("peer"); // its columns are the throughput table's
    if (peer.has("streams")) {
      JsonNode s = peer.get("streams");
      md.append(row("llama.cpp batched, " + peer.get("model").asText() + " bf16", s.path("1"), s.path("2"),
          s.path("4"), s.path("8"), peer));
    } else if (peer.has("skipped")) {
      md.append("\nllama.cpp's batched decode: ").append(peer.get("skipped").asText()).append("\n");
    }
    md.append("\nThe server's CPU time per token in the same windows (ms; on a shared machine the wall-clock rate says "
        + "how much CPU the server got, this says what batching saved):\n\n| model | 1 | 2 | 4 | 8 | 1 / 4 |\n"
        + "|---|---:|---:|---:|---:|---:|\n");
    for (var e : report.get("models").properties()) {
      JsonNode s = e.getValue().path("streams");
      double[] cpu = new double[4];
      for (int i = 0; i < 4; i++) {
        cpu[i] = s.path(Integer.toString(ServingBenchmark.STREAMS[i])).path("server_cpu_ms_per_token").asDouble();
      }
      md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f | %.2f |%n", e.getKey(), cpu[0], cpu[1],
          cpu[2], cpu[3], cpu[0] / cpu[2]));
    }
    md.append("\n## Short requests while two long ones run\n\n")
        .append("| model | TTFT idle ms | decode step under load ms | TTFT p50 / p99 ms | aim ms (idle + 2 steps) ")
        .append("| p50 / aim | inter-token p50 / p99 ms | long ones ran throughout |\n")
        .append("|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (var e : report.get("models").properties()) {
      JsonNode u = e.getValue().path("short_under_load");
      if (!u.isMissingNode()) {
        md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f / %.0f | %.0f | %.2f | %.0f / %.0f | %s |%n",
            e.getKey(), u.get("ttft_idle_ms").asDouble(), u.get("loaded_decode_step_ms").asDouble(),
            u.get("ttft_p50_ms").asDouble(), u.get("ttft_p99_ms").asDouble(), u.get("aim_ms").asDouble(),
            u.get("ttft_p50_over_aim").asDouble(), u.get("inter_token_p50_ms").asDouble(),
            u.get("inter_token_p99_ms").asDouble(), u.get("long_streams_ran_throughout").asBoolean()));
      }
    }
    md.append("\n## A repeated 400-token prompt (prefix cache) against a cold one\n\n")
        .append("| model | TTFT cold ms | TTFT repeated ms | repeated / cold | cached tokens |\n|---|---:|---:|---:|---:|\n");
    for (var e : report.get("models").properties()) {
      JsonNode p = e.getValue().path("prefix_cache");
      if (!p.isMissingNode()) {
        md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.3f | %d |%n", e.getKey(),
            p.get("ttft_cold_ms").asDouble(), p.get("ttft_repeat_ms").asDouble(),
            p.get("ttft_repeat_over_cold").asDouble(), p.get("cached_tokens").asLong()));
      }
    }
    if (report.has("backend_batching")) {
      md.append("\n## One batched forward of B decode steps against the same steps in turn, in the backend\n\n")
          .append("| model | backend | B | in turn ms (CPU) | batched ms (CPU) | speedup (CPU) |\n")
          .append("|---|---|---:|---:|---:|---:|\n");
      for (var model : report.get("backend_batching").properties()) {
        for (var backend : model.getValue().properties()) {
          for (int b : ServingBenchmark.STREAMS) {
            JsonNode o = backend.getValue().path(Integer.toString(b));
            if (!o.isMissingNode()) {
              md.append(String.format(Locale.ROOT, "| %s | %s | %d | %.2f (%.2f) | %.2f (%.2f) | %.2f (%.2f) |%n",
                  model.getKey(), backend.getKey(), b, o.get("in_turn_ms").asDouble(),
                  o.get("in_turn_cpu_ms").asDouble(), o.get("batched_ms").asDouble(),
                  o.get("batched_cpu_ms").asDouble(), o.get("speedup").asDouble(), o.get("cpu_speedup").asDouble()));
            }
          }
        }
      }
      md.append("\n(\"batched\" is one forward(List) of B decode entries on B sequences, on both backends.)\n");
    }
    for (var e : report.get("models").properties()) {
      if (e.getValue().has("invalid_because")) {
        md.append("\n").append(e.getKey()).append(" is invalid: ").append(e.getValue().get("invalid_because").asText())
            .append("\n");
      }
    }
    return md.toString();
  }

  private static String row(String name, JsonNode one, JsonNode two, JsonNode four, JsonNode eight, JsonNode run) {
    return String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s |%n", name, one.asDouble(),
        two.asDouble(), four.asDouble(), eight.asDouble(), four.asDouble() / one.asDouble(),
        pct(run.path("others_cpu_fraction").asDouble(Double.NaN)), run.path("valid").asBoolean());
  }

  private static String pct(double f) {
    return String.format(Locale.ROOT, "%.0f%%", 100 * f);
  }
}
