package dev.candor.probes.eval;

import dev.candor.engine.confidence.Probe;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The cross-validation of a probe input, kept on disk so that rerunning a study (to serve another variant, or to
 * change the report) does not train its heads again: out-of-fold logits and the heads, under a key that names
 * everything they depend on (the input, the training recipe, folds, seed, and the problems and labels scored). A key
 * that does not match is trained again and overwritten; nothing stale is ever read.
 */
final class CrossValidationCache {
  private static final long MAGIC = 0x434E44522D435643L; // "CNDR-CVC"

  private CrossValidationCache() {}

  /** The cached result under {@code key}, or null. */
  static ProbeCrossValidation.Result read(Path file, String key) {
    if (!Files.exists(file)) {
      return null;
    }
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      if (in.readLong() != MAGIC || !in.readUTF().equals(key)) {
        return null;
      }
      double[][] logits = new double[3][];
      for (int level = 0; level < 3; level++) {
        logits[level] = new double[in.readInt()];
        for (int r = 0; r < logits[level].length; r++) {
          logits[level][r] = in.readDouble();
        }
      }
      List<Probe.Head> heads = new ArrayList<>();
      for (int h = in.readInt(); h > 0; h--) {
        float[] projWeight = floats(in);
        float[] projBias = floats(in);
        float[] outWeight = floats(in);
        float outBias = in.readFloat();
        Probe.Platt[] platt = new Probe.Platt[3];
        for (int level = 0; level < 3; level++) {
          platt[level] = new Probe.Platt(in.readDouble(), in.readDouble());
        }
        heads.add(new Probe.Head(projWeight, projBias, outWeight, outBias, platt));
      }
      return new ProbeCrossValidation.Result(logits, heads);
    } catch (IOException e) {
      return null; // a damaged cache is trained again
    }
  }

  static void write(Path file, String key, ProbeCrossValidation.Result result) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
        out.writeLong(MAGIC);
        out.writeUTF(key);
        for (double[] level : result.logits()) {
          out.writeInt(level.length);
          for (double v : level) {
            out.writeDouble(v);
          }
        }
        out.writeInt(result.heads().size());
        for (Probe.Head h : result.heads()) {
          floats(out, h.projWeight());
          floats(out, h.projBias());
          floats(out, h.outWeight());
          out.writeFloat(h.outBias());
          for (Probe.Level level : Probe.Level.values()) {
            out.writeDouble(h.platt(level).a());
            out.writeDouble(h.platt(level).b());
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the cross-validation cache " + file, e);
    }
  }

  /** What a cross-validation depends on: the problems' ids and labels, hashed, beside the settings. */
  static String key(String variant, String settings, int folds, long seed, Rows rows, String source) {
    long hash = 1125899906842597L;
    for (int level = 0; level < 3; level++) {
      for (int r = 0; r < rows.count(level); r++) {
        hash = 31 * hash + (rows.labels[level][r] ? 1 : 2) + 7L * rows.groups[level][r];
      }
    }
    for (var p : rows.problems) {
      hash = 31 * hash + p.id().hashCode();
    }
    return String.join("|", variant, settings, "folds " + folds, "seed " + seed, source, Long.toHexString(hash));
  }

  private static float[] floats(DataInputStream in) throws IOException {
    float[] v = new float[in.readInt()];
    for (int i = 0; i < v.length; i++) {
      v[i] = in.readFloat();
    }
    return v;
  }

  private static void floats(DataOutputStream out, float[] v) throws IOException {
    out.writeInt(v.length);
    for (float x : v) {
      out.writeFloat(x);
    }
  }
}
