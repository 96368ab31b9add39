package dev.candor.probes.onnx;

import dev.candor.engine.confidence.Probe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a trained {@link Probe} as an ONNX model, so that tools outside Candor (Python, ONNX Runtime anywhere) score
 * probe inputs exactly as the Java probe does. {@link OnnxCheck} proves the two agree.
 *
 * <p>The file is a ModelProto (IR version 8, default-domain opset 17) written with {@link ProtoWriter}; field numbers
 * are those of onnx/onnx.proto, operator semantics those of onnx/docs/Operators.md at opset 17. The graph, per head h
 * (names prefixed {@code heads.h.}), then the mean over heads:
 *
 * <pre>
 *   inputs   input [tokens, input]  each token's probe input (its tap hidden state, then the record features)
 *            mask  [sets, tokens]   mask[s][n] = 1 when token n belongs to set s, else 0
 *   z        = GELU(input · proj.weightᵀ + proj.bias)              [tokens, width]
 *   pooled   = max over the set's tokens of z  (or their mean)     [sets, width]
 *   logit.h  = pooled · out.weightᵀ + out.bias                     [sets]
 *   p_level  = mean over h of sigmoid(a_h,level · logit.h + b_h,level), level ∈ {token, line, response}   [sets]
 * </pre>
 *
 * <p>A set must hold at least one token: an empty max-pooled set scores about −1e9·Σout.weight, an empty mean-pooled
 * one NaN (the Java probe answers NaN for an empty set).
 */
public final class OnnxExport {
  /** IR version 8, that of ONNX 1.12, the release that introduced opset 17. */
  public static final long IR_VERSION = 8;
  /** Default-domain opset. 17 has no Gelu operator (added in 20): GELU is spelled out with Erf. */
  public static final long OPSET = 17;

  public static final String INPUT = "input";
  public static final String MASK = "mask";

  /** Name of the graph output holding head {@code h}'s logit [sets]. */
  public static String logit(int h) {
    return "logit." + h;
  }

  /** Name of the graph output holding p(correct) at a level: {@code p_token}, {@code p_line}, {@code p_response}. */
  public static String probability(Probe.Level level) {
    return "p_" + level.key();
  }

  // onnx.proto: TensorProto.DataType and AttributeProto.AttributeType values.
  private static final int FLOAT = 1;
  private static final int INT64 = 7;
  private static final int ATTRIBUTE_INT = 2;
  private static final int ATTRIBUTE_INTS = 7;

  // A max-pooled set adds −BIG to every token outside it, so those never win the max. |z| stays far below 1e9, and
  // z + 0 is exact for the tokens inside.
  private static final float BIG = 1e9f;

  private OnnxExport() {}

  /** Writes the probe's ONNX model to {@code file}. */
  public static void write(Probe probe, Path file) throws IOException {
    Files.write(file, toBytes(probe));
  }

  /** The serialized ModelProto; the same probe always gives the same bytes. */
  public static byte[] toBytes(Probe probe) {
    if (probe.readsTaps().length != 1) {
      throw new IllegalArgumentException("the ONNX export covers probes on one tap, not " + probe.readsTaps().length);
    }
    Graph g = new Graph();
    g.floatScalar("sqrt2", (float) Math.sqrt(2));
    g.floatScalar("one", 1f);
    g.floatScalar("half", 0.5f);
    g.floatScalar("big", BIG);
    g.floatScalar("heads", probe.heads().size());
    g.int64Tensor("axes0", new long[] {1}, new long[] {0});
    g.int64Tensor("axes1", new long[] {1}, new long[] {1});
    g.int64Tensor("axes2", new long[] {1}, new long[] {2});
    for (int h = 0; h < probe.heads().size(); h++) {
      head(g, probe, h);
    }
    // the mean over heads of each level's probability   [sets]
    for (Probe.Level level : Probe.Level.values()) {
      String sum = "heads.0.p_" + level.key();
      for (int h = 1; h < probe.heads().size(); h++) {
        String next = "sum" + h + ".p_" + level.key();
        g.node("Add", next, List.of(sum, "heads." + h + ".p_" + level.key()));
        sum = next;
      }
      g.node("Div", probability(level), List.of(sum, "heads"));
    }

    g.input(INPUT, "tokens", probe.inputSize());
    g.input(MASK, "sets", "tokens");
    for (int h = 0; h < probe.heads().size(); h++) {
      g.output(logit(h), "sets");
    }
    for (Probe.Level level : Probe.Level.values()) {
      g.output(probability(level), "sets");
    }

    // ModelProto
    ProtoWriter model = new ProtoWriter();
    model.varint(1, IR_VERSION); // ir_version
    model.string(2, "candor"); // producer_name
    model.message(7, g.toProto("candor_probe")); // graph
    model.message(8, new ProtoWriter().string(1, "").varint(2, OPSET)); // opset_import {domain "" = ai.onnx, version}
    metadata(model, "candor.reads", probe.reads().key());
    metadata(model, "candor.tap", Integer.toString(probe.readsTaps()[0]));
    metadata(model, "candor.hidden_size", Integer.toString(probe.hiddenSize()));
    metadata(model, "candor.record_features",
        String.join(",", probe.recordFeatures().stream().map(Probe.RecordFeature::key).toList()));
    metadata(model, "candor.heads", Integer.toString(probe.heads().size()));
    metadata(model, "candor.pooling", probe.maxPool() ? "max" : "mean");
    metadata(model, "candor.model_fingerprint", probe.model().shape());
    metadata(model, "candor.model_weights", probe.model().weights());
    metadata(model, "candor.model_format", probe.model().format());
    return model.toByteArray();
  }

  /** Head h's nodes: projection, GELU, pooling, logit, and its Platt-scaled probability per level. */
  private static void head(Graph g, Probe probe, int h) {
    Probe.Head head = probe.heads().get(h);
    int input = probe.inputSize();
    int width = probe.width();
    String p = "heads." + h + ".";
    // weights, under their checkpoint names
    g.floatTensor(p + "proj.weight", new long[] {width, input}, head.projWeight()); // [width, input]
    g.floatTensor(p + "proj.bias", new long[] {width}, head.projBias()); // [width]
    g.floatTensor(p + "out.weight", new long[] {1, width}, head.outWeight()); // [1, width]
    g.floatTensor(p + "out.bias", new long[] {1}, new float[] {head.outBias()}); // [1]
    for (Probe.Level level : Probe.Level.values()) {
      g.floatScalar(p + "platt." + level.key() + ".a", (float) head.platt(level).a());
      g.floatScalar(p + "platt." + level.key() + ".b", (float) head.platt(level).b());
    }

    // projection: input · proj.weightᵀ + proj.bias   [tokens, width]
    g.node("Transpose", p + "proj.weightT", List.of(p + "proj.weight"), Graph.ints("perm", 1, 0)); // [input, width]
    g.node("MatMul", p + "proj.matmul", List.of(INPUT, p + "proj.weightT"));
    g.node("Add", p + "proj", List.of(p + "proj.matmul", p + "proj.bias"));

    // exact GELU: 0.5 · x · (1 + erf(x / √2))   [tokens, width]
    g.node("Div", p + "gelu.scaled", List.of(p + "proj", "sqrt2"));
    g.node("Erf", p + "gelu.erf", List.of(p + "gelu.scaled"));
    g.node("Add", p + "gelu.cdf2", List.of(p + "gelu.erf", "one"));
    g.node("Mul", p + "gelu.x", List.of(p + "proj", p + "gelu.cdf2"));
    g.node("Mul", p + "z", List.of(p + "gelu.x", "half"));

    if (probe.maxPool()) {
      // max-pooling: tokens outside the set get −1e9, then the max over tokens   [sets, width]
      g.node("Unsqueeze", p + "pool.z", List.of(p + "z", "axes0")); // [1, tokens, width]
      g.node("Unsqueeze", p + "pool.mask", List.of(MASK, "axes2")); // [sets, tokens, 1]
      g.node("Sub", p + "pool.outside", List.of(p + "pool.mask", "one")); // 0 inside, −1 outside
      g.node("Mul", p + "pool.penalty", List.of(p + "pool.outside", "big")); // 0 inside, −1e9 outside
      g.node("Add", p + "pool.masked", List.of(p + "pool.z", p + "pool.penalty")); // [sets, tokens, width]
      // ReduceMax-13: axes is still an attribute (an input only from opset 18)
      g.node("ReduceMax", p + "pooled", List.of(p + "pool.masked"), Graph.ints("axes", 1),
          Graph.integer("keepdims", 0));
    } else {
      // mean-pooling: the masked sum over tokens divided by the set's size   [sets, width]
      g.node("MatMul", p + "pool.sum", List.of(MASK, p + "z")); // [sets, width]
      // ReduceSum-13: axes is an input
      g.node("ReduceSum", p + "pool.count", List.of(MASK, "axes1"), Graph.integer("keepdims", 1)); // [sets, 1]
      g.node("Div", p + "pooled", List.of(p + "pool.sum", p + "pool.count"));
    }

    // logit: pooled · out.weightᵀ + out.bias   [sets]
    g.node("Transpose", p + "out.weightT", List.of(p + "out.weight"), Graph.ints("perm", 1, 0)); // [width, 1]
    g.node("MatMul", p + "out.matmul", List.of(p + "pooled", p + "out.weightT")); // [sets, 1]
    g.node("Add", p + "out", List.of(p + "out.matmul", p + "out.bias")); // [sets, 1]
    g.node("Squeeze", logit(h), List.of(p + "out", "axes1")); // [sets]

    // Platt scaling per level: sigmoid(a · logit + b)   [sets]
    for (Probe.Level level : Probe.Level.values()) {
      String key = p + "platt." + level.key();
      g.node("Mul", key + ".scaled", List.of(logit(h), key + ".a"));
      g.node("Add", key + ".shifted", List.of(key + ".scaled", key + ".b"));
      g.node("Sigmoid", p + "p_" + level.key(), List.of(key + ".shifted"));
    }
  }

  // ModelProto.metadata_props = 14: StringStringEntryProto {key = 1, value = 2}
  private static void metadata(ProtoWriter model, String key, String value) {
    model.message(14, new ProtoWriter().string(1, key).string(2, value));
  }

  /** A GraphProto under construction; each repeated field is kept apart and written in field order. */
  private static final class Graph {
    private final List<ProtoWriter> nodes = new ArrayList<>(); // node = 1
    private final List<ProtoWriter> initializers = new ArrayList<>(); // initializer = 5
    private final List<ProtoWriter> inputs = new ArrayList<>(); // input = 11
    private final List<ProtoWriter> outputs = new ArrayList<>(); // output = 12

    /** NodeProto {input = 1, output = 2, name = 3, op_type = 4, attribute = 5}; one output, also the node's name. */
    void node(String opType, String output, List<String> in, ProtoWriter... attributes) {
      ProtoWriter node = new ProtoWriter();
      for (String name : in) {
        node.string(1, name);
      }
      node.string(2, output);
      node.string(3, output);
      node.string(4, opType);
      for (ProtoWriter attribute : attributes) {
        node.message(5, attribute);
      }
      nodes.add(node);
    }

    /** AttributeProto {name = 1, i = 3, type = 20}. */
    static ProtoWriter integer(String name, long value) {
      return new ProtoWriter().string(1, name).varint(3, value).varint(20, ATTRIBUTE_INT);
    }

    /** AttributeProto {name = 1, ints = 8, type = 20}; ints is a proto2 repeated int64, so not packed. */
    static ProtoWriter ints(String name, long... values) {
      ProtoWriter attribute = new ProtoWriter().string(1, name);
      for (long v : values) {
        attribute.varint(8, v);
      }
      return attribute.varint(20, ATTRIBUTE_INTS);
    }

    /** TensorProto {dims = 1, data_type = 2, float_data = 4 (packed), name = 8}. */
    void floatTensor(String name, long[] dims, float[] data) {
      ProtoWriter tensor = new ProtoWriter();
      for (long d : dims) {
        tensor.varint(1, d);
      }
      tensor.varint(2, FLOAT);
      tensor.packedFloats(4, data);
      tensor.string(8, name);
      initializers.add(tensor);
    }

    /** A rank-0 float tensor: no dims, one value. */
    void floatScalar(String name, float value) {
      floatTensor(name, new long[0], new float[] {value});
    }

    /** TensorProto {dims = 1, data_type = 2, int64_data = 7 (packed), name = 8}. */
    void int64Tensor(String name, long[] dims, long[] data) {
      ProtoWriter tensor = new ProtoWriter();
      for (long d : dims) {
        tensor.varint(1, d);
      }
      tensor.varint(2, INT64);
      tensor.packedVarints(7, data);
      tensor.string(8, name);
      initializers.add(tensor);
    }

    /** A float graph input; each dimension is an Integer (fixed) or a String (symbolic). */
    void input(String name, Object... dims) {
      inputs.add(valueInfo(name, dims));
    }

    void output(String name, Object... dims) {
      outputs.add(valueInfo(name, dims));
    }

    // ValueInfoProto {name = 1, type = 2}; TypeProto {tensor_type = 1}; TypeProto.Tensor {elem_type = 1, shape = 2};
    // TensorShapeProto {dim = 1}; Dimension {dim_value = 1, dim_param = 2}
    private static ProtoWriter valueInfo(String name, Object... dims) {
      ProtoWriter shape = new ProtoWriter();
      for (Object d : dims) {
        ProtoWriter dim = new ProtoWriter();
        if (d instanceof Integer size) {
          dim.varint(1, size);
        } else {
          dim.string(2, (String) d);
        }
        shape.message(1, dim);
      }
      ProtoWriter tensorType = new ProtoWriter().varint(1, FLOAT).message(2, shape);
      ProtoWriter type = new ProtoWriter().message(1, tensorType);
      return new ProtoWriter().string(1, name).message(2, type);
    }

    /** GraphProto {node = 1, name = 2, initializer = 5, input = 11, output = 12}. */
    ProtoWriter toProto(String name) {
      ProtoWriter graph = new ProtoWriter();
      nodes.forEach(n -> graph.message(1, n));
      graph.string(2, name);
      initializers.forEach(t -> graph.message(5, t));
      inputs.forEach(v -> graph.message(11, v));
      outputs.forEach(v -> graph.message(12, v));
      return graph;
    }
  }
}
