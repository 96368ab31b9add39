package dev.candor.probes.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.candor.engine.confidence.ModelIdentity;
import dev.candor.engine.confidence.Probe;
import dev.candor.probes.features.FeatureSet;
import dev.candor.probes.features.ProblemFeatures;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Probe inputs as the trainer and the served probe both build them, and the trainer's fast max-pooling held to its
 * oracle (the masked broadcast), forward and backward.
 */
class ProbeInputTest {
  @Test
  void namesParseBack() {
    for (String name : List.of("target:tap2", "drafter:tap1+logprob,entropy", "target:taps1,2,3,4",
        "random:tap0+prob")) {
      assertEquals(name, ProbeInput.parse(name).name());
    }
    assertThrows(IllegalArgumentException.class, () -> ProbeInput.parse("target:2"));
    assertThrows(IllegalArgumentException.class, () -> ProbeInput.parse("target:tap2+surprise"));
  }

  @Test
  void inputsConcatenateTapsThenRecordFeaturesAsTheServedProbeDoes() {
    float[][][] hidden = {{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}};
    ProblemFeatures p = new ProblemFeatures("p", 1, new int[] {5, 6}, hidden, new double[] {-30, Math.log(0.5)},
        new double[] {0.1, 0.2}, new boolean[] {true, false}, new int[][] {{0, 2}}, new String[] {"x\n"},
        List.of(List.of()), new boolean[] {false}, false, Double.NaN, null);
    FeatureSet set = new FeatureSet(new ModelIdentity("s", "w", "f32"), new int[] {1, 3}, 2, List.of(p));
    ProbeInput input = ProbeInput.parse("target:taps3,1+logprob,entropy");
    float[][] x = input.build(set, set.problems(), set.problems()).getFirst().inputs();
    assertArrayEquals(new float[] {5, 6, 1, 2, -20, 0.1f}, x[0]);
    Probe served = new Probe(Probe.Reads.TARGET, 3, 2, input.recordFeatures(), 1, true,
        List.of(new Probe.Head(new float[4], new float[1], new float[1], 0, new Probe.Platt[] {Probe.Platt.IDENTITY,
            Probe.Platt.IDENTITY, Probe.Platt.IDENTITY})), set.model(), null);
    assertArrayEquals(new float[] {7, 8, (float) Math.log(0.5), 0.2f}, served.input(new float[] {7, 8},
        Math.log(0.5), 0.2));
    // one tap and no record features: the hidden states themselves, not a copy
    assertSame(hidden[0], ProbeInput.of("target", 1).build(set, set.problems(), set.problems()).getFirst().inputs());
  }

  @Test
  void paddedBlockMaxPoolingEqualsTheMaskedBroadcastWithItsGradient() {
    Random random = new Random(3);
    int tokens = 9;
    int input = 5;
    int width = 4;
    float[] x = new float[tokens * input];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    List<int[]> sets = List.of(new int[] {0, 1, 2}, new int[] {3}, new int[] {4, 5, 6, 7, 8}, new int[] {2, 3});
    try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
      float[] w = new float[width * input];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) random.nextGaussian();
      }
      NDArray[] fast = pooled(manager, x, w, tokens, input, width, sets, true);
      NDArray[] oracle = pooled(manager, x, w, tokens, input, width, sets, false);
      assertArrayEquals(oracle[0].toFloatArray(), fast[0].toFloatArray(), 1e-6f);
      assertArrayEquals(oracle[1].toFloatArray(), fast[1].toFloatArray(), 1e-5f);
    }
  }

  /** Pooled vectors and the gradient of their sum with respect to W, by the trainer's pooling or by the oracle. */
  private static NDArray[] pooled(NDManager manager, float[] x, float[] w, int tokens, int input, int width,
      List<int[]> sets, boolean fast) {
    NDArray weight = manager.create(w, new Shape(width, input));
    NDArray bias = manager.zeros(new Shape(width));
    weight.setRequiresGradient(true);
    NDArray out;
    try (var collector = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
      NDArray z = ai.djl.nn.Activation.gelu(ai.djl.nn.core.Linear.linear(manager.create(x, new Shape(tokens, input)),
          weight, bias).singletonOrThrow());
      ProbeTrainer.Sets s = ProbeTrainer.Sets.of(sets, x, tokens, input, manager);
      out = fast ? ProbeTrainer.pool(z, s, true, weight, bias) : ProbeTrainer.poolByMask(z, s.mask(), true);
      collector.backward(out.sum());
    }
    return new NDArray[] {out, weight.getGradient()};
  }
}
