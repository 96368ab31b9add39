package dev.candor.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** A case's verdict, and summary.json after a full run and after a partial one (`--only`). */
class VerdictTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ObjectNode report(String model, String format, double decode) {
    ObjectNode report = JSON.createObjectNode();
    report.put("date", "2026-12-02").put("machine", "test").put("bandwidth_gbs", 30.0);
    ObjectNode r = report.putArray("results").addObject();
    r.put("model", model).put("format", format).put("valid", true);
    r.putObject("candor").put("decode_tokens_per_second", decode).put("prefill_tokens_per_second", 10.0)
        .put("peak_rss_mb", 100.0).put("weight_bytes", 5e7);
    r.putObject("ratios").put("decode_vs_limit", 0.5);
    return report;
  }

  @Test
  void aPartialRunReplacesOnlyItsOwnCases() throws Exception {
    ObjectNode previous = Verdict.summary(report("qwen2.5-0.5b", "bf16", 20), "full", null, false);
    ((ObjectNode) previous.get("models")).putObject("default").putObject("f32").put("decode_tps", 1.0);
    previous.putObject("serving").put("marker", 1);

    ObjectNode partial = Verdict.summary(report("default", "f32", 2000), "partial", previous, true);
    assertEquals(20, partial.at("/models/qwen2.5-0.5b/bf16/decode_tps").asDouble());
    assertEquals("full", partial.at("/models/qwen2.5-0.5b/bf16/run").asText());
    assertEquals(2000, partial.at("/models/default/f32/decode_tps").asDouble());
    assertEquals("partial", partial.at("/models/default/f32/run").asText());
    assertEquals(1, partial.at("/serving/marker").asInt());

    ObjectNode full = Verdict.summary(report("default", "f32", 2100), "full2", previous, false);
    assertFalse(full.get("models").has("qwen2.5-0.5b"), "a full run's summary holds its own cases only");
    assertEquals(1, full.at("/serving/marker").asInt());
    assertEquals(JSON.readTree("{\"marker\":1}"), previous.get("serving"), "the previous summary is left as it was");
  }

  @Test
  void aRunOnCopiedWeightsFillsItsOwnSectionAndKeepsTheMappedOne() {
    ObjectNode mapped = Verdict.summary(report("qwen2.5-0.5b", "bf16", 20), "mapped", null, false);
    ObjectNode copiedReport = report("qwen2.5-0.5b", "bf16", 30);
    copiedReport.put("weight_memory", "copied");
    ObjectNode copied = Verdict.summary(copiedReport, "copied", mapped, false);
    assertEquals(20, copied.at("/models/qwen2.5-0.5b/bf16/decode_tps").asDouble(), "the mapped run's figures stay");
    assertEquals(30, copied.at("/models_no_mmap/qwen2.5-0.5b/bf16/decode_tps").asDouble());

    ObjectNode again = Verdict.summary(report("qwen2.5-0.5b", "bf16", 21), "mapped2", copied, false);
    assertEquals(21, again.at("/models/qwen2.5-0.5b/bf16/decode_tps").asDouble());
    assertEquals("copied", again.at("/models_no_mmap/qwen2.5-0.5b/bf16/run").asText(), "and the copied run's too");
  }

  /** A judged case: each engine's prefill and decode in the first round, and again in the second. */
  private static ObjectNode judged(double candorDecode2, double peerDecode2) {
    ObjectNode r = JSON.createObjectNode();
    r.put("model", "qwen2.5-0.5b").put("format", "bf16").put("others_cpu_fraction", 0.02);
    r.putObject("candor").put("decode_tokens_per_second", 28.0).put("prefill_tokens_per_second", 220.0)
        .put("bytes_per_token", 1e9);
    r.putObject("peer").put("decode_tokens_per_second", 30.0).put("prefill_tokens_per_second", 300.0);
    ObjectNode second = r.putObject("second_round");
    second.putObject("candor").put("decode_tokens_per_second", candorDecode2).put("prefill_tokens_per_second", 225.0);
    second.putObject("peer").put("decode_tokens_per_second", peerDecode2).put("prefill_tokens_per_second", 290.0);
    Verdict.judge(r, 50);
    return r;
  }

  @Test
  void aCaseWhoseRoundsAgreeIsValidAndPublishesItsFirstRound() {
    ObjectNode r = judged(27.0, 31.0);
    assertTrue(r.get("valid").asBoolean(), r.toString());
    assertEquals(28.0 / 30.0, r.at("/ratios/decode_vs_peer").asDouble(), 1e-12);
    assertEquals(31.0 / 30.0, r.at("/ratios/peer_decode_rounds_spread").asDouble(), 1e-12);
    assertEquals(225.0 / 220.0, r.at("/ratios/candor_prefill_rounds_spread").asDouble(), 1e-12);
  }

  @Test
  void anEngineWhoseRoundsDisagreeMakesTheCaseInvalidAndSaysWhich() {
    ObjectNode peerSlowed = judged(27.0, 19.4); // 30 then 19.4: the peer's reads slowed during the case
    assertFalse(peerSlowed.get("valid").asBoolean());
    assertEquals(1, peerSlowed.get("invalid_reasons").size(), peerSlowed.toString());
    String reason = peerSlowed.get("invalid_reasons").get(0).asText();
    assertTrue(reason.startsWith("the peer's decode ran at 30.00 and 19.40 tokens/s"), reason);

    ObjectNode candorSlowed = judged(14.0, 30.0);
    assertFalse(candorSlowed.get("valid").asBoolean());
    assertTrue(candorSlowed.get("invalid_reasons").get(0).asText().startsWith("Candor's decode"));
  }

  @Test
  void aCaseWithoutASecondRoundIsJudgedAsBefore() {
    ObjectNode r = judged(27.0, 31.0);
    r.remove("second_round");
    Verdict.judge(r, 50);
    assertTrue(r.get("valid").asBoolean());
    assertFalse(r.get("ratios").has("candor_decode_rounds_spread"));
  }

  @Test
  void eachSummaryEntryCarriesItsRunsBandwidth() {
    ObjectNode s = Verdict.summary(report("qwen2.5-0.5b", "bf16", 20), "full", null, false);
    assertEquals(30.0, s.at("/models/qwen2.5-0.5b/bf16/bandwidth_gbs").asDouble());
  }
}
