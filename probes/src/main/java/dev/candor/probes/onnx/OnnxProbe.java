package dev.candor.probes.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.candor.engine.confidence.Probe;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * A probe exported by {@link OnnxExport}, scored by ONNX Runtime: the independent second implementation that
 * {@link OnnxCheck} holds the Java {@link Probe} against. Owns one ORT session; close it when done (the ORT environment
 * is a process-wide singleton and stays open).
 */
public final class OnnxProbe implements AutoCloseable {
  /** Column of the first head's logit in a {@link #score} row; the probabilities follow at {@link #column}. */
  public static final int LOGIT = 0;

  private final OrtEnvironment env;
  private final OrtSession session;
  private final int hidden; // values per token of the input
  private final int heads;

  /** Opens the .onnx file written by {@link OnnxExport#write}. */
  public OnnxProbe(Path file) throws OrtException {
    this.env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      this.session = env.createSession(file.toString(), options);
    }
    NodeInfo input = session.getInputInfo().get(OnnxExport.INPUT);
    if (input == null || !(input.getInfo() instanceof TensorInfo info) || info.getShape().length != 2) {
      session.close();
      throw new IllegalArgumentException(file + ": no [tokens, input] input named '" + OnnxExport.INPUT + "'");
    }
    this.hidden = (int) info.getShape()[1];
    int n = 0;
    while (session.getOutputInfo().containsKey(OnnxExport.logit(n))) {
      n++;
    }
    this.heads = n;
  }

  /** Column of head {@code h}'s logit in a {@link #score} row. */
  public static int headColumn(int h) {
    return h == 0 ? LOGIT : Probe.Level.values().length + h;
  }

  /** Column of p(correct) at {@code level} in a {@link #score} row. */
  public static int column(Probe.Level level) {
    return 1 + level.ordinal();
  }

  /** Values per token of the input (the hidden size, plus the record features). */
  public int hiddenSize() {
    return hidden;
  }

  /** How many heads the exported probe has. */
  public int heads() {
    return heads;
  }

  /** Key/value metadata the exporter stored (tap, hidden size, pooling, model fingerprint). */
  public Map<String, String> metadata() throws OrtException {
    return session.getMetadata().getCustomMetadata();
  }

  /**
   * Scores token sets.
   *
   * @param hidden probe inputs [tokens][input]
   * @param mask set membership [sets][tokens]: 1 when the token belongs to the set, else 0; every set non-empty
   * @return per set {logit of head 0, p_token, p_line, p_response, logits of heads 1, 2, ...} [sets][4 + heads − 1]
   */
  public double[][] score(float[][] hidden, float[][] mask) throws OrtException {
    int tokens = hidden.length;
    int sets = mask.length;
    if (tokens == 0 || sets == 0) {
      throw new IllegalArgumentException("need at least one token and one set, got " + tokens + " and " + sets);
    }
    float[] hiddenFlat = new float[tokens * this.hidden]; // [tokens, hidden]
    for (int n = 0; n < tokens; n++) {
      if (hidden[n].length != this.hidden) {
        throw new IllegalArgumentException("token " + n + " has " + hidden[n].length + " values, not " + this.hidden);
      }
      System.arraycopy(hidden[n], 0, hiddenFlat, n * this.hidden, this.hidden);
    }
    float[] maskFlat = new float[sets * tokens]; // [sets, tokens]
    for (int s = 0; s < sets; s++) {
      if (mask[s].length != tokens) {
        throw new IllegalArgumentException("mask row " + s + " has " + mask[s].length + " values, not " + tokens);
      }
      System.arraycopy(mask[s], 0, maskFlat, s * tokens, tokens);
    }

    try (OnnxTensor hiddenTensor = OnnxTensor.createTensor(env, FloatBuffer.wrap(hiddenFlat),
            new long[] {tokens, this.hidden});
        OnnxTensor maskTensor = OnnxTensor.createTensor(env, FloatBuffer.wrap(maskFlat), new long[] {sets, tokens});
        OrtSession.Result result = session.run(Map.of(OnnxExport.INPUT, hiddenTensor, OnnxExport.MASK, maskTensor))) {
      int levels = Probe.Level.values().length;
      double[][] scores = new double[sets][levels + heads];
      copyColumn(result, OnnxExport.logit(0), scores, LOGIT);
      for (Probe.Level level : Probe.Level.values()) {
        copyColumn(result, OnnxExport.probability(level), scores, column(level));
      }
      for (int h = 1; h < heads; h++) {
        copyColumn(result, OnnxExport.logit(h), scores, headColumn(h));
      }
      return scores;
    }
  }

  private static void copyColumn(OrtSession.Result result, String name, double[][] scores, int column) {
    OnnxValue value = result.get(name).orElseThrow(() -> new IllegalStateException("no output '" + name + "'"));
    FloatBuffer values = ((OnnxTensor) value).getFloatBuffer(); // [sets]
    if (values.remaining() != scores.length) {
      throw new IllegalStateException(
          "output '" + name + "' has " + values.remaining() + " values, not " + scores.length);
    }
    for (int s = 0; s < scores.length; s++) {
      scores[s][column] = values.get(s);
    }
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
