package dev.candor.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A distribution record is the same bits whether its code runs interpreted (a cold server's first request) or
 * compiled by C2 (a warm one): the same seeded request must give the same logprobs before and after thousands of
 * requests. A child JVM computes the records with {@code -Xint}; this JVM computes them after warming the code up.
 */
class DistributionDeterminismTest {
  static final int VOCAB = 4099; // not a multiple of any vector length: the scalar tail runs too

  /** The records of a few fixed distributions, as text: every reported number's bits. */
  static String records() {
    StringBuilder out = new StringBuilder();
    for (long seed = 1; seed <= 3; seed++) {
      float[] logits = TokenDistributionTest.randomLogits(VOCAB, seed, 4.0);
      for (SamplingParams params : List.of(SamplingParams.greedy(), new SamplingParams(0.8, 0, 1, 0),
          new SamplingParams(1.3, 50, 0.9, 0))) {
        TokenDistribution d = TokenDistribution.of(logits, params);
        out.append(Double.doubleToLongBits(d.logPartition())).append(' ')
            .append(Double.doubleToLongBits(d.entropy())).append(' ');
        for (TokenDistribution.Alternative a : d.top(5)) {
          out.append(a.token()).append(':').append(Double.doubleToLongBits(a.logprob())).append(' ');
        }
        out.append(Float.floatToIntBits(d.samplingProbs()[d.argmax()])).append('\n');
      }
    }
    return out.toString();
  }

  /** Run by the child JVM. */
  public static void main(String[] args) {
    System.out.print(records());
  }

  @Test
  void interpretedAndCompiledRecordsAreTheSameBits() throws IOException, InterruptedException {
    for (int i = 0; i < 300; i++) {
      records(); // C2 compiles the record's loops
    }
    String warm = records();
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xint", "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
        DistributionDeterminismTest.class.getName()));
    Process child = new ProcessBuilder(command).redirectErrorStream(false).start();
    String cold = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    child.waitFor(120, TimeUnit.SECONDS);
    assertEquals(0, child.exitValue(), new String(child.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    assertEquals(warm, cold, "the interpreter and C2 must compute the same record");
  }
}
