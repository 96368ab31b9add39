package dev.candor.probes.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.confidence.ModelIdentity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The feature cache: a write/read round trip keeps every field bit for bit, and shards merge into exactly what one
 * unsharded extraction writes, with every shard required once.
 */
class FeatureSetTest {
  static final ModelIdentity MODEL = new ModelIdentity("shape", "f".repeat(64), "bf16");

  @TempDir
  Path dir;

  static ProblemFeatures problem(int n, SplittableRandom r) {
    int size = 3 + r.nextInt(5);
    float[][][] hidden = new float[2][size][4];
    double[] logprob = new double[size];
    double[] entropy = new double[size];
    boolean[] labels = new boolean[size];
    for (int i = 0; i < size; i++) {
      for (int t = 0; t < 2; t++) {
        for (int d = 0; d < 4; d++) {
          hidden[t][i][d] = (float) r.nextGaussian();
        }
      }
      logprob[i] = -r.nextDouble();
      entropy[i] = r.nextDouble();
      labels[i] = r.nextBoolean();
    }
    int[][] lines = {{0, 2}, {2, size}};
    boolean samples = n % 2 == 0;
    return new ProblemFeatures("p" + n, 7, r.ints(size, 0, 99).toArray(), hidden, logprob, entropy, labels, lines,
        new String[] {"a = 1\n", "output: ✓\n"}, List.of(List.of("propagated"), List.of()),
        new boolean[] {labels[0] && labels[1], false}, false, n % 3 == 0 ? Double.NaN : n / 10.0,
        samples ? new ProblemFeatures.Samples(entropy.clone(), new double[] {0.2, 1}, 0.4) : null);
  }

  static List<ProblemFeatures> problems(int count) {
    SplittableRandom r = new SplittableRandom(5);
    List<ProblemFeatures> out = new ArrayList<>();
    for (int n = 0; n < count; n++) {
      out.add(problem(n, r));
    }
    return out;
  }

  @Test
  void roundTripKeepsEveryField() throws IOException {
    FeatureSet set = new FeatureSet(MODEL, new int[] {0, 3}, 4, problems(5));
    set.write(dir.resolve("f.bin"));
    FeatureSet back = FeatureSet.read(dir.resolve("f.bin"));
    assertEquals(MODEL, back.model());
    assertArrayEquals(new int[] {0, 3}, back.taps());
    assertEquals(set.shard(), back.shard());
    for (int n = 0; n < 5; n++) {
      ProblemFeatures a = set.problems().get(n);
      ProblemFeatures b = back.problems().get(n);
      assertEquals(a.id(), b.id());
      assertArrayEquals(a.completion(), b.completion());
      for (int t = 0; t < 2; t++) {
        for (int i = 0; i < a.size(); i++) {
          assertArrayEquals(a.hidden()[t][i], b.hidden()[t][i]);
        }
      }
      assertArrayEquals(a.tokenLogprob(), b.tokenLogprob());
      assertArrayEquals(a.tokenEntropy(), b.tokenEntropy());
      assertArrayEquals(a.tokenLabels(), b.tokenLabels());
      assertArrayEquals(a.lineTexts(), b.lineTexts());
      assertEquals(a.lineTags(), b.lineTags());
      assertArrayEquals(a.lineLabels(), b.lineLabels());
      assertEquals(a.difficulty(), b.difficulty());
      assertEquals(a.samples() == null, b.samples() == null);
      if (a.samples() != null) {
        assertArrayEquals(a.samples().lineAgreement(), b.samples().lineAgreement());
        assertEquals(a.samples().answerAgreement(), b.samples().answerAgreement());
      }
    }
    assertEquals(1, back.tapIndex(3));
    assertThrows(IllegalArgumentException.class, () -> back.tapIndex(2));
  }

  @Test
  void shardsMergeIntoTheWholeFileByteForByte() throws IOException {
    List<ProblemFeatures> all = problems(11);
    new FeatureSet(MODEL, new int[] {0, 3}, 4, all).write(dir.resolve("whole.bin"));
    List<FeatureSet> shards = new ArrayList<>();
    for (int i = 2; i >= 0; i--) { // any order
      FeatureSet.Shard shard = new FeatureSet.Shard(i, 3, 11);
      shards.add(new FeatureSet(MODEL, new int[] {0, 3}, 4, shard, all.subList(shard.from(), shard.to())));
    }
    assertEquals(11, shards.stream().mapToInt(s -> s.shard().to() - s.shard().from()).sum());
    FeatureSet.merge(shards).write(dir.resolve("merged.bin"));
    assertArrayEquals(Files.readAllBytes(dir.resolve("whole.bin")), Files.readAllBytes(dir.resolve("merged.bin")));

    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> FeatureSet.merge(shards.subList(0, 2)));
    assertTrue(missing.getMessage().contains("0/3 is missing"), missing.getMessage());
    IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
        () -> FeatureSet.merge(List.of(shards.get(0), shards.get(0))));
    assertTrue(twice.getMessage().contains("given twice"), twice.getMessage());
    FeatureSet otherModel = new FeatureSet(new ModelIdentity("shape", "0", "bf16"), new int[] {0, 3}, 4,
        new FeatureSet.Shard(0, 3, 11), all.subList(0, 3));
    assertThrows(IllegalArgumentException.class, () -> FeatureSet.merge(List.of(shards.get(0), otherModel)));
  }

  @Test
  void shardSpecsAreParsedAndChecked() {
    assertEquals(new FeatureSet.Shard(1, 4, 10), FeatureSet.Shard.parse("1/4", 10));
    for (String bad : new String[] {"4/4", "-1/2", "1", "a/b", "1/0"}) {
      assertThrows(IllegalArgumentException.class, () -> FeatureSet.Shard.parse(bad, 10), bad);
    }
  }
}
