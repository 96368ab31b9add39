package dev.candor.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.cpu.JavaBackend;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The default model's case measures what the server runs: the committed probe reads its hidden state and its record
 * features (a probe of 130 inputs fed 128 once failed every default case of `make bench`).
 */
class CaseRunTest {
  @Test
  void recordAndProbeCostsRunTheCommittedProbe() throws Exception {
    Path models = GpuBenchTest.repo().resolve("models/default");
    ObjectNode r = new ObjectMapper().createObjectNode();
    try (Checkpoint checkpoint = Checkpoint.open(models.resolve("target"));
        JavaBackend target = JavaBackend.load(checkpoint)) {
      CaseRun.recordAndProbeCosts(target, models.resolve("probe"), new int[] {10, 20, 30, 40, 50, 60}, 1e-4, r);
    }
    for (String key : new String[] {"distribution_record_us", "probe_token_us", "probe_line_us_12_tokens"}) {
      assertTrue(r.path(key).asDouble() > 0, key + " in " + r);
    }
  }
}
