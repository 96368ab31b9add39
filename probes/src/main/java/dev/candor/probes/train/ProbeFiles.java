package dev.candor.probes.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.CheckpointWriter;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.confidence.Probe;
import dev.candor.engine.confidence.StackedProbe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a probe directory as {@link Probe#loadFor} reads it: {@code probe.safetensors} (per head h:
 * heads.h.proj.weight, heads.h.proj.bias, heads.h.out.weight, heads.h.out.bias, float32) and {@code probe.json}
 * (format, which model and taps it reads, record features, sizes, pooling, each head's Platt parameters, the model's
 * identity, and whatever training settings and metrics the caller adds).
 */
public final class ProbeFiles {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ProbeFiles() {}

  public static ObjectNode meta(Probe probe) {
    ObjectNode meta = JSON.createObjectNode();
    meta.put("format", Probe.FORMAT);
    meta.put("method", "Gros & Devanbu, Localized Calibrated Uncertainty in Code Language Models: per head "
        + "Linear(input -> projection) -> GELU -> " + (probe.maxPool() ? "max" : "mean")
        + "-pool over the token set -> Linear(projection -> 1), Platt-scaled per level; p = the mean over heads");
    meta.put("reads", probe.reads().key());
    ArrayNode taps = meta.putArray("taps");
    for (int t : probe.readsTaps()) {
      taps.add(t);
    }
    meta.put("hidden_size", probe.hiddenSize());
    ArrayNode features = meta.putArray("record_features");
    probe.recordFeatures().forEach(f -> features.add(f.key()));
    meta.put("projection_size", probe.width());
    meta.put("pooling", probe.maxPool() ? "max" : "mean");
    ArrayNode heads = meta.putArray("heads");
    for (Probe.Head head : probe.heads()) {
      ObjectNode platt = heads.addObject().putObject("platt");
      for (Probe.Level level : Probe.Level.values()) {
        platt.putObject(level.key()).put("a", head.platt(level).a()).put("b", head.platt(level).b());
      }
    }
    ObjectNode model = meta.putObject("model");
    model.put("shape", probe.model().shape());
    model.put("weights", probe.model().weights());
    model.put("format", probe.model().format());
    return meta;
  }

  /**
   * Writes a stack's own files into a probe directory (its served probe saved there by {@link #save}): each member
   * as a probe directory under {@code members/i}, and {@code stack.json} as {@link StackedProbe#load} reads it.
   */
  public static void saveStack(StackedProbe stack, Path dir) throws IOException {
    ObjectNode meta = JSON.createObjectNode();
    meta.put("format", StackedProbe.FORMAT);
    meta.put("method", "stacked generalization at the line level: per fold, every member's head of that fold gives"
        + " the line's logit; a logistic regression on those and the line features, then isotonic calibration;"
        + " p = the mean over folds. Tokens and the response: the served probe (probe.json)");
    ArrayNode taps = meta.putArray("taps");
    for (int t : stack.taps()) {
      taps.add(t);
    }
    ArrayNode features = meta.putArray("line_features");
    StackedProbe.LINE_FEATURES.forEach(features::add);
    ArrayNode members = meta.putArray("members");
    for (int m = 0; m < stack.members().size(); m++) {
      String sub = "members/" + m;
      Probe member = stack.members().get(m);
      save(member, meta(member), dir.resolve(sub));
      members.addObject().put("name", stack.memberNames().get(m)).put("dir", sub);
    }
    ArrayNode folds = meta.putArray("folds");
    for (StackedProbe.Fold f : stack.folds()) {
      ObjectNode fold = folds.addObject();
      ObjectNode logistic = fold.putObject("logistic");
      array(logistic.putArray("mean"), f.head().mean());
      array(logistic.putArray("scale"), f.head().scale());
      array(logistic.putArray("beta"), f.head().beta());
      ObjectNode isotonic = fold.putObject("isotonic");
      array(isotonic.putArray("x"), f.calibration().x());
      array(isotonic.putArray("y"), f.calibration().y());
    }
    JSON.writeValue(dir.resolve(StackedProbe.META).toFile(), meta);
  }

  private static void array(ArrayNode node, double[] values) {
    for (double v : values) {
      node.add(v);
    }
  }

  public static void save(Probe probe, ObjectNode meta, Path dir) throws IOException {
    Files.createDirectories(dir);
    int width = probe.width();
    List<CheckpointWriter.Entry> entries = new ArrayList<>();
    for (int h = 0; h < probe.heads().size(); h++) {
      Probe.Head head = probe.heads().get(h);
      String p = "heads." + h + ".";
      entries.add(new CheckpointWriter.Entry(p + "proj.weight", new long[] {width, probe.inputSize()},
          CheckpointWriter.Values.of(head.projWeight())));
      entries.add(new CheckpointWriter.Entry(p + "proj.bias", new long[] {width},
          CheckpointWriter.Values.of(head.projBias())));
      entries.add(new CheckpointWriter.Entry(p + "out.weight", new long[] {1, width},
          CheckpointWriter.Values.of(head.outWeight())));
      entries.add(new CheckpointWriter.Entry(p + "out.bias", new long[] {1},
          CheckpointWriter.Values.of(new float[] {head.outBias()})));
    }
    CheckpointWriter.writeFile(dir.resolve(Probe.WEIGHTS), entries, DType.F32);
    JSON.writeValue(dir.resolve(Probe.META).toFile(), meta);
  }
}
