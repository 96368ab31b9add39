package dev.candor.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.cpu.JavaBackend;
import dev.candor.engine.model.Backend;
import dev.candor.engine.model.ReferenceQwen2;
import dev.candor.engine.model.Sequence;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RoPE from config.json reaches the forward pass: a transformers-5 config with only {@code rope_parameters} gives
 * exactly the logprobs of the transformers-4 config with {@code rope_theta} (and θ is really read: the default θ
 * gives other logprobs), and a YaRN checkpoint's logits in the Java backend agree with the oracle.
 */
class RopeLogitsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int[] TOKENS = tokens(40, 99, 11);

  @TempDir
  Path tmp;

  static int[] tokens(int n, int vocab, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    return random.ints(n, 0, vocab).toArray();
  }

  /** log softmax of every row of the logits of {@code tokens}, by the Java backend. */
  static double[][] logprobs(Path dir) {
    try (Checkpoint c = Checkpoint.open(dir); Backend b = JavaBackend.load(c); Sequence s = b.newSequence(64)) {
      float[][] logits = s.verify(TOKENS);
      double[][] out = new double[logits.length][];
      for (int i = 0; i < logits.length; i++) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits[i]) {
          max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits[i]) {
          sum += Math.exp(v - max);
        }
        double logZ = max + Math.log(sum);
        out[i] = new double[logits[i].length];
        for (int j = 0; j < logits[i].length; j++) {
          out[i][j] = logits[i][j] - logZ;
        }
      }
      return out;
    }
  }

  /** A copy of {@code dir} whose config.json has its RoPE fields replaced by {@code rope}. */
  private Path withRope(Path dir, String name, String rope) throws IOException {
    Path copy = tmp.resolve(name);
    Files.createDirectories(copy);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.copy(f, copy.resolve(f.getFileName()));
      }
    }
    ObjectNode config = (ObjectNode) JSON.readTree(copy.resolve("config.json").toFile());
    config.remove(List.of("rope_theta", "rope_scaling", "rope_parameters"));
    config.setAll((ObjectNode) JSON.readTree("{" + rope + "}"));
    Files.writeString(copy.resolve("config.json"), config.toPrettyString());
    return copy;
  }

  @Test
  void ropeParametersAloneGiveTheSameLogprobsAsRopeTheta() throws IOException {
    Qwen2Config config = new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, 1e6, 99, 512, false, DType.F32);
    Path original = TestCheckpoints.write("rope-theta-1e6", config, 7, DType.F32, 0, null);
    Path transformers4 = withRope(original, "t4", "\"rope_theta\": 1000000.0, \"rope_scaling\": null");
    Path transformers5 = withRope(original, "t5",
        "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000000.0}");
    Path noTheta = withRope(original, "none", "\"rope_scaling\": null");
    double[][] expected = logprobs(transformers4);
    double[][] actual = logprobs(transformers5);
    for (int i = 0; i < expected.length; i++) {
      assertArrayEquals(expected[i], actual[i], 0.0, "position " + i);
    }
    assertFalse(Arrays.deepEquals(expected, logprobs(noTheta)), "θ = 10000 must give other logprobs than θ = 1e6");
  }

  @Test
  void yarnLogitsOfTheJavaBackendMatchTheOracle() {
    Qwen2Config yarn = new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, RopeParameters.yarn(10000, 4.0, 16), 99, 512, false,
        DType.F32);
    Path dir = TestCheckpoints.write("yarn-tiny", yarn, 7, DType.F32, 0, null);
    try (Checkpoint c = Checkpoint.open(dir); Backend b = JavaBackend.load(c); Sequence s = b.newSequence(64)) {
      ReferenceQwen2 oracle = new ReferenceQwen2(c.weights(), c.config(), false);
      float[][] logits = s.verify(TOKENS);
      for (int i = 0; i < TOKENS.length; i++) {
        double[] expected = oracle.step(TOKENS[i])[yarn.numHiddenLayers() + 1];
        double error = maxRelativeError(expected, logits[i]);
        assertTrue(error < 2e-5, "position " + i + ": relative error " + error);
      }
    }
    Qwen2Config plain = new Qwen2Config(32, 37, 3, 4, 2, 8, 1e-6, 10000, 99, 512, false, DType.F32);
    Path plainDir = TestCheckpoints.write("yarn-tiny-unscaled", plain, 7, DType.F32, 0, null);
    assertFalse(Arrays.deepEquals(logprobs(dir), logprobs(plainDir)), "YaRN must change the logits");
  }

  static double maxRelativeError(double[] expected, float[] actual) {
    double scale = 0;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / Math.max(1, scale));
    }
    return worst;
  }
}
