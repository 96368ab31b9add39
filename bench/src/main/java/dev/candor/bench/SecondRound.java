package dev.candor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.cpu.WeightMemory;
import dev.candor.engine.model.WeightFormat;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Candor's second round of a case, in a JVM of its own after the peer's first: prompt processing and plain decoding
 * measured again as {@link CaseRun} measures them, and nothing else. Two rounds of each engine, in the order Candor,
 * peer, Candor, peer, are what lets {@link Verdict} see a machine that changed during a case: on the VMs these runs
 * used, reads slowed for minutes at a time while every other check looked normal (README, "Mapped or copied
 * weights"). Prints one JSON object.
 *
 * <pre>SecondRound TARGET_DIR FORMAT(native|f32|bf16|q8_0) MEMORY(mapped|copied) PROMPT_IDS DECODE_TOKENS REPS</pre>
 */
public final class SecondRound {
  private SecondRound() {}

  public static void main(String[] args) throws Exception {
    Path target = Path.of(args[0]);
    var options = new JavaBackend.Options(WeightFormat.parse(args[1]), WeightMemory.parse(args[2]),
        JavaBackend.defaultThreads());
    int[] prompt = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
    int decodeTokens = Integer.parseInt(args[4]);
    int reps = Integer.parseInt(args[5]);
    ObjectNode r = new ObjectMapper().createObjectNode();
    try (LoadedModel model = LoadedModel.load(target, "cpu", "java", options)) {
      r.put("prefill_tokens_per_second", CaseRun.prefillTokensPerSecond((JavaBackend) model.backend(), prompt, reps));
      r.put("decode_tokens_per_second",
          CaseRun.run(CaseRun.plainGenerator(model), prompt, CaseRun.plainRequest(decodeTokens), reps)
              .tokensPerSecond());
    }
    System.out.println(r);
  }
}
