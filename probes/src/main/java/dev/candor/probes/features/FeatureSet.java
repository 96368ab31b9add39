package dev.candor.probes.features;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Cached features of a dataset for one model and tap: written once by the extractor, read by training and
 * evaluation so they never rerun the model. A small binary format (big-endian, float32 hidden states) with a header
 * naming the model fingerprint, tap and hidden size, so a cache cannot be mixed up with another model's.
 *
 * @param fingerprint the model's {@code Qwen2Config.fingerprint()}
 * @param tap the Hugging Face hidden-state index the features come from
 * @param hiddenSize width of each hidden state
 * @param problems one entry per example (examples with an empty completion are left out)
 */
public record FeatureSet(String fingerprint, int tap, int hiddenSize, List<ProblemFeatures> problems) {
  private static final long MAGIC = 0x434E44522D464541L; // "CNDR-FEA"
  private static final int VERSION = 1;

  public void write(Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
      out.writeLong(MAGIC);
      out.writeInt(VERSION);
      out.writeUTF(fingerprint);
      out.writeInt(tap);
      out.writeInt(hiddenSize);
      out.writeInt(problems.size());
      for (ProblemFeatures p : problems) {
        out.writeUTF(p.id());
        out.writeInt(p.promptTokens());
        out.writeInt(p.size());
        for (int i = 0; i < p.size(); i++) {
          out.writeInt(p.completion()[i]);
          out.writeDouble(p.tokenLogprob()[i]);
          out.writeBoolean(p.tokenLabels()[i]);
          for (float h : p.hidden()[i]) {
            out.writeFloat(h);
          }
        }
        out.writeInt(p.lines().length);
        for (int l = 0; l < p.lines().length; l++) {
          out.writeInt(p.lines()[l][0]);
          out.writeInt(p.lines()[l][1]);
          out.writeBoolean(p.lineLabels()[l]);
        }
        out.writeBoolean(p.problemLabel());
        out.writeBoolean(p.sampleAgreement() != null);
        if (p.sampleAgreement() != null) {
          for (double a : p.sampleAgreement()) {
            out.writeDouble(a);
          }
        }
      }
    }
  }

  public static FeatureSet read(Path file) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      if (in.readLong() != MAGIC) {
        throw new IOException(file + ": not a Candor feature cache");
      }
      int version = in.readInt();
      if (version != VERSION) {
        throw new IOException(file + ": feature cache version " + version + ", expected " + VERSION);
      }
      String fingerprint = in.readUTF();
      int tap = in.readInt();
      int hidden = in.readInt();
      int count = in.readInt();
      List<ProblemFeatures> problems = new ArrayList<>(count);
      for (int n = 0; n < count; n++) {
        String id = in.readUTF();
        int promptTokens = in.readInt();
        int size = in.readInt();
        int[] completion = new int[size];
        double[] logprob = new double[size];
        boolean[] labels = new boolean[size];
        float[][] states = new float[size][hidden];
        for (int i = 0; i < size; i++) {
          completion[i] = in.readInt();
          logprob[i] = in.readDouble();
          labels[i] = in.readBoolean();
          for (int h = 0; h < hidden; h++) {
            states[i][h] = in.readFloat();
          }
        }
        int lineCount = in.readInt();
        int[][] lines = new int[lineCount][2];
        boolean[] lineLabels = new boolean[lineCount];
        for (int l = 0; l < lineCount; l++) {
          lines[l][0] = in.readInt();
          lines[l][1] = in.readInt();
          lineLabels[l] = in.readBoolean();
        }
        boolean problem = in.readBoolean();
        double[] agreement = null;
        if (in.readBoolean()) {
          agreement = new double[size];
          for (int i = 0; i < size; i++) {
            agreement[i] = in.readDouble();
          }
        }
        problems.add(new ProblemFeatures(id, promptTokens, completion, states, logprob, labels, lines, lineLabels,
            problem, agreement));
      }
      return new FeatureSet(fingerprint, tap, hidden, problems);
    }
  }
}
