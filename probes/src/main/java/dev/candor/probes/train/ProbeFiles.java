package dev.candor.probes.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.CheckpointWriter;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.confidence.Probe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a probe directory as {@link Probe#load} reads it: {@code probe.safetensors} (proj.weight, proj.bias,
 * out.weight, out.bias in float32) and {@code probe.json} (tap, sizes, pooling, Platt parameters per level, the model
 * fingerprint, and whatever training settings and metrics the caller adds).
 */
public final class ProbeFiles {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ProbeFiles() {}

  public static ObjectNode meta(Probe probe) {
    ObjectNode meta = JSON.createObjectNode();
    meta.put("format", "candor-probe/1");
    meta.put("method", "Gros & Devanbu, Localized Calibrated Uncertainty in Code Language Models: "
        + "Linear(hidden -> projection) -> GELU -> " + (probe.maxPool() ? "max" : "mean")
        + "-pool over the token set -> Linear(projection -> 1) -> sigmoid, Platt-scaled per level");
    meta.put("tap", probe.tap());
    meta.put("hidden_size", probe.hiddenSize());
    meta.put("projection_size", probe.width());
    meta.put("pooling", probe.maxPool() ? "max" : "mean");
    ObjectNode platt = meta.putObject("platt");
    for (Probe.Level level : Probe.Level.values()) {
      platt.putObject(level.key()).put("a", probe.platt(level).a()).put("b", probe.platt(level).b());
    }
    meta.put("model_fingerprint", probe.fingerprint());
    return meta;
  }

  public static void save(Probe probe, ObjectNode meta, Path dir) throws IOException {
    Files.createDirectories(dir);
    int width = probe.width();
    CheckpointWriter.writeFile(dir.resolve(Probe.WEIGHTS), List.of(
        new CheckpointWriter.Entry("proj.weight", new long[] {width, probe.hiddenSize()},
            CheckpointWriter.Values.of(probe.projWeight())),
        new CheckpointWriter.Entry("proj.bias", new long[] {width}, CheckpointWriter.Values.of(probe.projBias())),
        new CheckpointWriter.Entry("out.weight", new long[] {1, width}, CheckpointWriter.Values.of(probe.outWeight())),
        new CheckpointWriter.Entry("out.bias", new long[] {1},
            CheckpointWriter.Values.of(new float[] {probe.outBias()}))), DType.F32);
    JSON.writeValue(dir.resolve(Probe.META).toFile(), meta);
  }
}
