package dev.candor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.cpu.WeightMemory;

/**
 * The ratios of a case and whether they may be published: decode against the bandwidth limit and against the peer,
 * prefill against the peer; invalid (with every reason) when decode would beat the limit (the limit or the timing is
 * wrong), when an engine's two rounds of the case disagree by more than {@link #ROUNDS_AGREE}, when other processes
 * took more than {@link EndToEnd#SHARED_CPU} of the machine meanwhile, or when a side failed. Also the run's
 * summary.json, in exactly this shape: {@code {"date", "machine", "bandwidth_gbs", "models": {MODEL: {FORMAT:
 * {"decode_tps", "decode_vs_limit", "decode_vs_peer", "prefill_tps", "prefill_vs_peer", "peak_rss_mb", "weight_mb",
 * "valid", "run", "bandwidth_gbs"}}}}}, where what a run did not measure is absent.
 */
final class Verdict {
  private Verdict() {}

  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * The most one engine's two rounds of a case may differ (the faster over the slower). Rounds seconds apart on an
   * undisturbed machine agree far closer; the disturbances this guards against moved one engine's decode 1.5–2.3×
   * (README, "Mapped or copied weights").
   */
  static final double ROUNDS_AGREE = 1.25;

  /** Adds "ratios", "valid" and "invalid_reasons" to a case's result. */
  static void judge(ObjectNode r, double bandwidthGbs) {
    if (r.has("skipped")) {
      return;
    }
    ArrayNode reasons = JSON.createArrayNode();
    ObjectNode ratios = JSON.createObjectNode();
    JsonNode candor = r.path("candor");
    JsonNode peer = r.path("peer");
    if (r.has("error")) {
      reasons.add("failed: " + r.get("error").asText());
    }
    if (candor.has("decode_tokens_per_second")) {
      double decode = candor.get("decode_tokens_per_second").asDouble();
      double limit = bandwidthGbs * 1e9 / candor.get("bytes_per_token").asDouble();
      ratios.put("limit_tokens_per_second", limit);
      ratios.put("decode_vs_limit", decode / limit);
      if (decode > limit) {
        reasons.add(String.format(java.util.Locale.ROOT, "decode %.2f tokens/s exceeds the bandwidth limit %.2f: the"
            + " limit or the timing is wrong", decode, limit));
      }
      JsonNode ours = candor.path("one_thread");
      JsonNode theirs = peer.path("one_thread");
      if (ours.has("decode_cpu_seconds_per_token") && theirs.has("decode_cpu_seconds_per_token")) {
        // speed at equal CPU: the peer's CPU time per token over ours (above 1: Candor does a token's work faster)
        ratios.put("one_thread_decode_cpu_vs_peer", theirs.get("decode_cpu_seconds_per_token").asDouble()
            / ours.get("decode_cpu_seconds_per_token").asDouble());
        ratios.put("one_thread_prefill_cpu_vs_peer", theirs.get("prefill_cpu_seconds").asDouble()
            / ours.get("prefill_cpu_seconds").asDouble());
      }
      if (peer.has("decode_tokens_per_second")) {
        ratios.put("decode_vs_peer", decode / peer.get("decode_tokens_per_second").asDouble());
        ratios.put("prefill_vs_peer", candor.get("prefill_tokens_per_second").asDouble()
            / peer.get("prefill_tokens_per_second").asDouble());
      }
    }
    roundsAgree(r, ratios, reasons);
    double others = r.path("others_cpu_fraction").asDouble(Double.NaN);
    if (others > EndToEnd.SHARED_CPU) {
      reasons.add(String.format(java.util.Locale.ROOT, "the machine was shared: other processes used %.0f%% of its"
          + " CPU during the case", 100 * others));
    }
    r.set("ratios", ratios);
    r.put("valid", reasons.isEmpty());
    r.set("invalid_reasons", reasons);
  }

  /**
   * Each engine's prefill and decode in the case's two rounds (Candor, peer, Candor, peer): their spread (the faster
   * over the slower) into the ratios, and a reason where one is above {@link #ROUNDS_AGREE}. The first round's figures
   * are the published ones; the second is only the check.
   */
  private static void roundsAgree(JsonNode r, ObjectNode ratios, ArrayNode reasons) {
    JsonNode second = r.path("second_round");
    for (String engine : new String[] {"candor", "peer"}) {
      for (String measure : new String[] {"prefill", "decode"}) {
        String key = measure + "_tokens_per_second";
        double a = r.path(engine).path(key).asDouble(Double.NaN);
        double b = second.path(engine).path(key).asDouble(Double.NaN);
        if (Double.isNaN(a) || Double.isNaN(b)) {
          continue;
        }
        double spread = Math.max(a, b) / Math.min(a, b);
        ratios.put(engine + "_" + measure + "_rounds_spread", spread);
        if (!(spread <= ROUNDS_AGREE)) {
          reasons.add(String.format(java.util.Locale.ROOT, "%s's %s ran at %.4g and %.4g tokens/s in the case's two"
              + " rounds (%.2f×): the machine changed under the case", engine.equals("candor") ? "Candor" : "the peer",
              measure, a, b, spread));
        }
      }
    }
  }

  /**
   * The run's summary.json: its cases, each naming its dated report ({@code run}). The previous summary's "serving"
   * part (ServingBenchmark's) stays, and after a partial run ({@code partial}) so do the previous cases this run did
   * not measure, with their own {@code run}.
   *
   * @param previous the summary.json before this run, or null
   */
  static ObjectNode summary(ObjectNode report, String run, ObjectNode previous, boolean partial) {
    ObjectNode s = JSON.createObjectNode();
    s.put("date", report.get("date").asText());
    s.put("machine", report.get("machine").asText());
    s.put("bandwidth_gbs", round(report.get("bandwidth_gbs").asDouble(), 2));
    // a run on mapped weights (the default) fills "models", one on copied weights (--no-mmap) "models_no_mmap";
    // the other section, and the serving benchmark's, are kept from the previous summary
    String section = weightMemory(report) == WeightMemory.COPIED ? "models_no_mmap" : "models";
    for (String kept : new String[] {"models", "models_no_mmap", "serving"}) {
      if (previous != null && previous.has(kept) && !kept.equals(section)) {
        s.set(kept, previous.get(kept));
      }
    }
    ObjectNode models = s.putObject(section);
    if (partial && previous != null && previous.has(section)) {
      models.setAll((ObjectNode) previous.get(section).deepCopy());
    }
    for (JsonNode r : report.get("results")) {
      if (r.has("skipped") || !r.path("candor").has("decode_tokens_per_second")) {
        continue;
      }
      JsonNode candor = r.get("candor");
      JsonNode ratios = r.get("ratios");
      ObjectNode f = (models.has(r.get("model").asText()) ? (ObjectNode) models.get(r.get("model").asText())
          : models.putObject(r.get("model").asText())).putObject(r.get("format").asText()); // replaces a previous one
      f.put("decode_tps", round(candor.get("decode_tokens_per_second").asDouble(), 3));
      f.put("decode_vs_limit", round(ratios.get("decode_vs_limit").asDouble(), 3));
      if (ratios.has("decode_vs_peer")) {
        f.put("decode_vs_peer", round(ratios.get("decode_vs_peer").asDouble(), 3));
      }
      f.put("prefill_tps", round(candor.get("prefill_tokens_per_second").asDouble(), 2));
      if (ratios.has("prefill_vs_peer")) {
        f.put("prefill_vs_peer", round(ratios.get("prefill_vs_peer").asDouble(), 3));
      }
      f.put("peak_rss_mb", Math.round(candor.get("peak_rss_mb").asDouble()));
      f.put("weight_mb", Math.round(candor.get("weight_bytes").asDouble() / 1e6));
      f.put("valid", r.get("valid").asBoolean());
      f.put("run", run);
      f.put("bandwidth_gbs", round(report.get("bandwidth_gbs").asDouble(), 2)); // its run's, which decode_vs_limit used
    }
    return s;
  }

  /** The weights a run's engines computed from: mapped, unless the report says copied (--no-mmap). */
  static WeightMemory weightMemory(JsonNode report) {
    return WeightMemory.parse(report.path("weight_memory").asText(WeightMemory.MAPPED.label()));
  }

  private static double round(double v, int digits) {
    double scale = Math.pow(10, digits);
    return Math.round(v * scale) / scale;
  }
}
