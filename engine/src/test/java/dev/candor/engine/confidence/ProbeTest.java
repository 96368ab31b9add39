package dev.candor.engine.confidence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.CheckpointWriter;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.WeightsHash;
import dev.candor.engine.generate.Source;
import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.sampling.TokenDistribution;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The served probe: a slow, obviously correct reference for its scores (each head written out as the math), an
 * ensemble's mean, record features appended as the offline pipeline appends them, blank lines and records without a
 * hidden state not measured, and a probe refused, in one line naming both models, on any model but its own.
 */
class ProbeTest {
  static final int HIDDEN = 6;
  static final int WIDTH = 4;
  static final ModelIdentity MODEL = new ModelIdentity("shape1", "a".repeat(64), "f32");

  @TempDir
  Path dir;

  static Probe.Head head(Random random, int input) {
    float[] w = new float[WIDTH * input];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian();
    }
    float[] b = new float[WIDTH];
    float[] out = new float[WIDTH];
    for (int j = 0; j < WIDTH; j++) {
      b[j] = (float) random.nextGaussian();
      out[j] = (float) random.nextGaussian();
    }
    Probe.Platt[] platt = {new Probe.Platt(1.2, -0.1), new Probe.Platt(0.8, 0.3), new Probe.Platt(1.0, 0.5)};
    return new Probe.Head(w, b, out, (float) random.nextGaussian(), platt);
  }

  static Probe probe(List<Probe.RecordFeature> features, int heads) {
    Random random = new Random(3);
    List<Probe.Head> list = new ArrayList<>();
    for (int h = 0; h < heads; h++) {
      list.add(head(random, HIDDEN + features.size()));
    }
    return new Probe(Probe.Reads.TARGET, 2, HIDDEN, features, WIDTH, true, list, MODEL, null);
  }

  static TokenRecord record(String text, float[] hidden, double logprob, double entropy) {
    return new TokenRecord(0, 0, text.getBytes(StandardCharsets.UTF_8), logprob, logprob, entropy,
        new TokenDistribution.Alternative[0], Source.TARGET, Double.NaN, -1, Double.NaN, hidden);
  }

  static float[] hidden(Random random) {
    float[] h = new float[HIDDEN];
    for (int i = 0; i < HIDDEN; i++) {
      h[i] = (float) random.nextGaussian();
    }
    return h;
  }

  /** The reference: one head's p at a level, with the pooling and GELU written out. */
  static double reference(Probe.Head head, List<double[]> inputs, Probe.Level level) {
    double[] pooled = new double[WIDTH];
    java.util.Arrays.fill(pooled, Double.NEGATIVE_INFINITY);
    for (double[] x : inputs) {
      for (int j = 0; j < WIDTH; j++) {
        double z = head.projBias()[j];
        for (int i = 0; i < x.length; i++) {
          z += head.projWeight()[j * x.length + i] * x[i];
        }
        pooled[j] = Math.max(pooled[j], z * 0.5 * (1 + erfBySimpson(z / Math.sqrt(2))));
      }
    }
    double s = head.outBias();
    for (int j = 0; j < WIDTH; j++) {
      s += head.outWeight()[j] * pooled[j];
    }
    Probe.Platt platt = head.platt(level);
    return 1 / (1 + Math.exp(-(platt.a() * s + platt.b())));
  }

  /** erf by Simpson's rule on 2/√π e^(−t²): slow, and obviously erf. */
  static double erfBySimpson(double x) {
    int n = 20000;
    double h = x / n;
    double sum = 0;
    for (int k = 0; k <= n; k++) {
      double t = k * h;
      double f = Math.exp(-t * t);
      sum += (k == 0 || k == n) ? f : (k % 2 == 1 ? 4 * f : 2 * f);
    }
    return 2 / Math.sqrt(Math.PI) * sum * h / 3;
  }

  @Test
  void anEnsembleWithRecordFeaturesScoresAsTheReference() {
    List<Probe.RecordFeature> features = List.of(Probe.RecordFeature.LOGPROB, Probe.RecordFeature.ENTROPY);
    Probe probe = probe(features, 3);
    Random random = new Random(5);
    List<TokenRecord> line = new ArrayList<>();
    List<double[]> inputs = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      float[] h = hidden(random);
      double logprob = t == 0 ? -40 : Math.log(0.3 + 0.1 * t);
      double entropy = 0.2 * t;
      line.add(record(t == 3 ? "\n" : "x", h, logprob, entropy));
      double[] x = new double[HIDDEN + 2];
      for (int i = 0; i < HIDDEN; i++) {
        x[i] = h[i];
      }
      x[HIDDEN] = (float) Math.max(logprob, -20); // the floor, as offline
      x[HIDDEN + 1] = (float) entropy;
      inputs.add(x);
    }
    for (Probe.Level level : Probe.Level.values()) {
      double expected = 0;
      for (Probe.Head head : probe.heads()) {
        expected += reference(head, inputs, level) / probe.heads().size();
      }
      assertEquals(expected, probe.score(line, level), 1e-6, level.toString());
    }
    assertEquals(probe.score(line, Probe.Level.LINE), probe.line(line));
    assertEquals(probe.score(line.subList(1, 2), Probe.Level.TOKEN), probe.token(line.get(1)));
  }

  @Test
  void blankLinesAndMissingHiddenStatesAreNotMeasured() {
    Probe probe = probe(List.of(), 1);
    Random random = new Random(9);
    TokenRecord blank = record("  \n", hidden(random), -0.1, 0.1);
    assertTrue(Double.isNaN(probe.line(List.of(blank))), "a blank line is not measured, as in training");
    assertFalse(Double.isNaN(probe.response(List.of(blank))), "but its tokens count in the response");
    TokenRecord noHidden = record("x", null, -0.1, 0.1);
    TokenRecord withHidden = record("y", hidden(random), -0.1, 0.1);
    assertTrue(Double.isNaN(probe.token(noHidden)));
    assertTrue(Double.isNaN(probe.line(List.of(withHidden, noHidden))), "never a partial set");
    assertTrue(Double.isNaN(probe.response(List.of())));
  }

  @Test
  void aProbeIsRefusedOnAnotherModelInOneLineNamingBoth() throws IOException {
    Probe probe = probe(List.of(Probe.RecordFeature.PROB), 2);
    save(probe, dir);
    assertEquals(2, Probe.loadFor(dir, MODEL).heads().size());
    for (ModelIdentity other : List.of(new ModelIdentity("shape2", MODEL.weights(), "f32"),
        new ModelIdentity("shape1", "b".repeat(64), "f32"), new ModelIdentity("shape1", MODEL.weights(), "bf16"))) {
      CheckpointException e = assertThrows(CheckpointException.class, () -> Probe.loadFor(dir, other));
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
      assertTrue(e.getMessage().contains(MODEL.describe()) && e.getMessage().contains(other.describe()),
          e.getMessage());
    }
  }

  @Test
  void aDrafterProbeAsksForTheDrafterTap() throws IOException {
    Probe target = probe(List.of(), 1);
    Probe drafter = new Probe(Probe.Reads.DRAFTER, 1, HIDDEN, List.of(), WIDTH, true, target.heads(), MODEL, null);
    save(drafter, dir);
    Probe loaded = Probe.loadFor(dir, MODEL);
    assertEquals(0, loaded.taps().length);
    assertEquals(1, loaded.drafterTap());
    assertTrue(Double.isNaN(loaded.token(record("x", hidden(new Random(1)), 0, 0))),
        "the record's hidden state is the target's, not the drafter's: not measured");
  }

  @Test
  void theWeightsHashIsCachedAndNoticesAChange() throws IOException {
    Path checkpoint = dir.resolve("ckpt");
    Files.createDirectories(checkpoint);
    CheckpointWriter.writeFile(checkpoint.resolve("model.safetensors"), List.of(new CheckpointWriter.Entry("w",
        new long[] {2}, CheckpointWriter.Values.of(new float[] {1, 2}))), DType.F32);
    String first = WeightsHash.of(checkpoint);
    assertEquals(64, first.length());
    assertTrue(Files.exists(checkpoint.resolve(WeightsHash.CACHE)));
    assertEquals(first, WeightsHash.of(checkpoint), "read back from the cache");
    CheckpointWriter.writeFile(checkpoint.resolve("model.safetensors"), List.of(new CheckpointWriter.Entry("w",
        new long[] {2}, CheckpointWriter.Values.of(new float[] {1, 3}))), DType.F32);
    Files.setLastModifiedTime(checkpoint.resolve("model.safetensors"),
        java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
    assertFalse(first.equals(WeightsHash.of(checkpoint)), "other weights, another hash");
  }

  /** The lanes' dot product against one scalar sum in order, at widths around the lanes' multiples. */
  @Test
  void theProjectionsDotProductIsTheScalarSum() {
    Random random = new Random(11);
    for (int n : new int[] {1, 3, 7, 8, 9, 16, 31, 130, 514}) {
      float[] w = new float[3 + n];
      float[] x = new float[n];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) random.nextGaussian();
      }
      for (int i = 0; i < n; i++) {
        x[i] = (float) (5 * random.nextGaussian());
      }
      double scalar = 0;
      double magnitude = 0;
      for (int i = 0; i < n; i++) {
        scalar += w[3 + i] * x[i]; // float products, a double sum: what the lanes must reproduce but for order
        magnitude += Math.abs(w[3 + i] * x[i]);
      }
      assertEquals(scalar, Probe.dot(w, 3, x), 1e-14 * magnitude, "n = " + n);
    }
  }

  /** A probe on two taps reads its slices of a record that holds more, in the record's order, not its own. */
  @Test
  void aProbeOnSeveralTapsReadsItsSlicesOfTheRecord() throws IOException {
    Random random = new Random(5);
    List<Probe.RecordFeature> features = List.of(Probe.RecordFeature.LOGPROB);
    Probe own = new Probe(Probe.Reads.TARGET, new int[] {4, 1}, HIDDEN, features, WIDTH, true,
        List.of(head(random, 2 * HIDDEN + 1), head(random, 2 * HIDDEN + 1)), MODEL, null);
    assertEquals(2 * HIDDEN + 1, own.inputSize());
    float[] h1 = hidden(random);
    float[] h2 = hidden(random);
    float[] h4 = hidden(random);
    Probe wide = own.withLayout(new int[] {1, 2, 4});
    assertTrue(java.util.Arrays.equals(new int[] {1, 2, 4}, wide.taps()), "the generator attaches the layout");
    double alone = own.token(record("x", concat(h4, h1), -0.3, 0.2));
    assertEquals(alone, wide.token(record("x", concat(h1, h2, h4), -0.3, 0.2)), 0.0);
    assertTrue(Double.isFinite(alone));
    assertThrows(IllegalArgumentException.class, () -> own.withLayout(new int[] {1, 2}), "tap 4 is missing");
    assertThrows(IllegalArgumentException.class, () -> wide.token(record("x", concat(h1, h4), -0.3, 0.2)),
        "a record of two taps where the layout has three");

    save(own, dir);
    Probe loaded = Probe.loadFor(dir, MODEL);
    assertTrue(java.util.Arrays.equals(new int[] {4, 1}, loaded.readsTaps()));
    assertTrue(java.util.Arrays.equals(new int[] {4, 1}, loaded.taps()), "a record holds its taps in its order");
    assertEquals(alone, loaded.token(record("x", concat(h4, h1), -0.3, 0.2)), 0.0);
  }

  private static float[] concat(float[]... parts) {
    float[] all = new float[parts.length * HIDDEN];
    for (int k = 0; k < parts.length; k++) {
      System.arraycopy(parts[k], 0, all, k * HIDDEN, HIDDEN);
    }
    return all;
  }

  private static void save(Probe probe, Path dir) throws IOException {
    List<CheckpointWriter.Entry> entries = new ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    ObjectNode meta = json.createObjectNode();
    meta.put("format", Probe.FORMAT);
    meta.put("reads", probe.reads().key());
    if (probe.readsTaps().length == 1) {
      meta.put("tap", probe.readsTaps()[0]); // as a one-tap probe of candor-probe/2 was written
    } else {
      var taps = meta.putArray("taps");
      for (int t : probe.readsTaps()) {
        taps.add(t);
      }
    }
    meta.put("hidden_size", HIDDEN);
    meta.put("projection_size", WIDTH);
    meta.put("pooling", "max");
    var features = meta.putArray("record_features");
    probe.recordFeatures().forEach(f -> features.add(f.key()));
    var heads = meta.putArray("heads");
    for (int h = 0; h < probe.heads().size(); h++) {
      Probe.Head head = probe.heads().get(h);
      String p = "heads." + h + ".";
      entries.add(new CheckpointWriter.Entry(p + "proj.weight", new long[] {WIDTH, probe.inputSize()},
          CheckpointWriter.Values.of(head.projWeight())));
      entries.add(new CheckpointWriter.Entry(p + "proj.bias", new long[] {WIDTH},
          CheckpointWriter.Values.of(head.projBias())));
      entries.add(new CheckpointWriter.Entry(p + "out.weight", new long[] {1, WIDTH},
          CheckpointWriter.Values.of(head.outWeight())));
      entries.add(new CheckpointWriter.Entry(p + "out.bias", new long[] {1},
          CheckpointWriter.Values.of(new float[] {head.outBias()})));
      var platt = heads.addObject().putObject("platt");
      for (Probe.Level level : Probe.Level.values()) {
        platt.putObject(level.key()).put("a", head.platt(level).a()).put("b", head.platt(level).b());
      }
    }
    meta.putObject("model").put("shape", MODEL.shape()).put("weights", MODEL.weights()).put("format", MODEL.format());
    CheckpointWriter.writeFile(dir.resolve(Probe.WEIGHTS), entries, DType.F32);
    json.writeValue(dir.resolve(Probe.META).toFile(), meta);
  }
}
