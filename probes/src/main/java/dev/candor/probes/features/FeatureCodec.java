package dev.candor.probes.features;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** One {@link ProblemFeatures} in the feature cache's binary form; hidden states move as whole float32 blocks. */
final class FeatureCodec {
  private FeatureCodec() {}

  static void write(DataOutputStream out, ProblemFeatures p, int taps) throws IOException {
    out.writeUTF(p.id());
    out.writeInt(p.promptTokens());
    out.writeInt(p.size());
    for (int i = 0; i < p.size(); i++) {
      out.writeInt(p.completion()[i]);
      out.writeDouble(p.tokenLogprob()[i]);
      out.writeDouble(p.tokenEntropy()[i]);
      out.writeBoolean(p.tokenLabels()[i]);
    }
    for (int t = 0; t < taps; t++) {
      for (float[] h : p.hidden()[t]) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * h.length);
        bytes.asFloatBuffer().put(h);
        out.write(bytes.array());
      }
    }
    out.writeInt(p.lines().length);
    for (int l = 0; l < p.lines().length; l++) {
      out.writeInt(p.lines()[l][0]);
      out.writeInt(p.lines()[l][1]);
      out.writeUTF(p.lineTexts()[l]);
      out.writeBoolean(p.lineLabels()[l]);
      out.writeInt(p.lineTags().get(l).size());
      for (String tag : p.lineTags().get(l)) {
        out.writeUTF(tag);
      }
    }
    out.writeBoolean(p.problemLabel());
    out.writeDouble(p.difficulty());
    out.writeBoolean(p.samples() != null);
    if (p.samples() != null) {
      for (double a : p.samples().tokenAgreement()) {
        out.writeDouble(a);
      }
      for (double a : p.samples().lineAgreement()) {
        out.writeDouble(a);
      }
      out.writeDouble(p.samples().answerAgreement());
    }
  }

  static ProblemFeatures read(DataInputStream in, int taps, int hidden) throws IOException {
    String id = in.readUTF();
    int promptTokens = in.readInt();
    int size = in.readInt();
    int[] completion = new int[size];
    double[] logprob = new double[size];
    double[] entropy = new double[size];
    boolean[] labels = new boolean[size];
    for (int i = 0; i < size; i++) {
      completion[i] = in.readInt();
      logprob[i] = in.readDouble();
      entropy[i] = in.readDouble();
      labels[i] = in.readBoolean();
    }
    float[][][] states = new float[taps][size][hidden];
    byte[] block = new byte[4 * hidden];
    for (int t = 0; t < taps; t++) {
      for (int i = 0; i < size; i++) {
        in.readFully(block);
        ByteBuffer.wrap(block).asFloatBuffer().get(states[t][i]);
      }
    }
    int lineCount = in.readInt();
    int[][] lines = new int[lineCount][2];
    String[] texts = new String[lineCount];
    boolean[] lineLabels = new boolean[lineCount];
    List<List<String>> tags = new ArrayList<>(lineCount);
    for (int l = 0; l < lineCount; l++) {
      lines[l][0] = in.readInt();
      lines[l][1] = in.readInt();
      texts[l] = in.readUTF();
      lineLabels[l] = in.readBoolean();
      List<String> lineTags = new ArrayList<>();
      for (int n = in.readInt(); n > 0; n--) {
        lineTags.add(in.readUTF());
      }
      tags.add(List.copyOf(lineTags));
    }
    boolean problem = in.readBoolean();
    double difficulty = in.readDouble();
    ProblemFeatures.Samples samples = null;
    if (in.readBoolean()) {
      double[] tokenAgreement = new double[size];
      for (int i = 0; i < size; i++) {
        tokenAgreement[i] = in.readDouble();
      }
      double[] lineAgreement = new double[lineCount];
      for (int l = 0; l < lineCount; l++) {
        lineAgreement[l] = in.readDouble();
      }
      samples = new ProblemFeatures.Samples(tokenAgreement, lineAgreement, in.readDouble());
    }
    return new ProblemFeatures(id, promptTokens, completion, states, logprob, entropy, labels, lines, texts, tags,
        lineLabels, problem, difficulty, samples);
  }
}
