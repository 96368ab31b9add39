package dev.candor.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.LoadedModel;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.Sequence;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Whether a batched forward would pay on the DJL backend (issue 16, item 1), measured before building one: B decode
 * steps of B sequences in turn (what DJL's default {@code forward(List)} does) against one forward of B tokens on one
 * sequence, the same products with B rows each, at B = 1, 2, 4, 8, every sequence 64 positions deep. The B-token
 * forward is what a batched decode could cost at best (its attention is one sequence's, a little cheaper than B
 * sequences'), so if it is not much cheaper than B steps, a batched DJL forward does not pay.
 */
final class DjlBatching {
  private DjlBatching() {}

  static ObjectNode measure(String name, Path checkpoint, int reps) {
    ObjectNode out = ServingBenchmark.JSON.createObjectNode();
    CpuShare share = CpuShare.start();
    try (LoadedModel m = LoadedModel.load(checkpoint, "cpu", "djl")) {
      Backend djl = m.backend();
      out.put("backend", djl.description());
      SplittableRandom random = new SplittableRandom(3);
      int vocab = djl.config().vocabSize();
      List<Sequence> sequences = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        Sequence s = djl.newSequence(128);
        s.forward(random.ints(64, 0, vocab).toArray(), 0);
        sequences.add(s);
      }
      for (int b : ServingBenchmark.STREAMS) {
        int[] tokens = random.ints(b, 0, vocab).toArray();
        double inTurn = EndToEnd.medianNanos(reps, () -> {
          for (int i = 0; i < b; i++) {
            sequences.get(i).forward(new int[] {tokens[i]}, 1);
            sequences.get(i).truncate(64);
          }
        });
        Sequence one = sequences.getFirst();
        double together = EndToEnd.medianNanos(reps, () -> {
          one.forward(tokens, b);
          one.truncate(64);
        });
        ObjectNode o = out.putObject(Integer.toString(b));
        o.put("in_turn_ms", inTurn / 1e6);
        o.put("one_forward_of_b_tokens_ms", together / 1e6);
        o.put("best_case_speedup", inTurn / together);
        System.err.printf(Locale.ROOT, "  djl %s B=%d: in turn %.1f ms, one forward %.1f ms%n", name, b, inTurn / 1e6,
            together / 1e6);
      }
      sequences.forEach(Sequence::close);
    } catch (RuntimeException e) {
      out.put("error", String.valueOf(e.getMessage()));
    }
    out.put("others_cpu_fraction", share.othersFraction());
    return out;
  }
}
