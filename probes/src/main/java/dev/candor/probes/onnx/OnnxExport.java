package dev.candor.probes.onnx;

import dev.candor.engine.confidence.Probe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a trained {@link Probe} as an ONNX model, so that tools outside Candor (Python, ONNX Runtime anywhere) score
 * hidden states exactly as the Java probe does. {@link OnnxCheck} proves the two agree.
 *
 * <p>The file is a ModelProto (IR version 8, default-domain opset 17) written with {@link ProtoWriter}; field numbers
 * are those of onnx/onnx.proto, operator semantics those of onnx/docs/Operators.md at opset 17. The graph:
 *
 * <pre>
 *   inputs   hidden [tokens, hidden]  tap hidden states, one row a token
 *            mask   [sets, tokens]    mask[s][n] = 1 when token n belongs to set s, else 0
 *   z        = GELU(hidden · proj.weightᵀ + proj.bias)             [tokens, width]
 *   pooled   = max over the set's tokens of z  (or their mean)     [sets, width]
 *   logit    = pooled · out.weightᵀ + out.bias                     [sets]
 *   p_level  = sigmoid(a_level · logit + b_level), level ∈ {token, line, response}   [sets]
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

  public static final String HIDDEN = "hidden";
  public static final String MASK = "mask";
  public static final String LOGIT = "logit";

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
    int hidden = probe.hiddenSize();
    int width = probe.width();
    Graph g = new Graph();

    // weights, under their checkpoint names
    g.floatTensor("proj.weight", new long[] {width, hidden}, probe.projWeight()); // [width, hidden]
    g.floatTensor("proj.bias", new long[] {width}, probe.projBias()); // [width]
    g.floatTensor("out.weight", new long[] {1, width}, probe.outWeight()); // [1, width]
    g.floatTensor("out.bias", new long[] {1}, new float[] {probe.outBias()}); // [1]
    for (Probe.Level level : Probe.Level.values()) {
      Probe.Platt platt = probe.platt(level);
      g.floatScalar("platt." + level.key() + ".a", (float) platt.a());
      g.floatScalar("platt." + level.key() + ".b", (float) platt.b());
    }
    g.floatScalar("sqrt2", (float) Math.sqrt(2));
    g.floatScalar("one", 1f);
    g.floatScalar("half", 0.5f);
    g.int64Tensor("axes1", new long[] {1}, new long[] {1});

    // projection: hidden · proj.weightᵀ + proj.bias   [tokens, width]
    g.node("Transpose", "proj.weightT", List.of("proj.weight"), Graph.ints("perm", 1, 0)); // [hidden, width]
    g.node("MatMul", "proj.matmul", List.of(HIDDEN, "proj.weightT"));
    g.node("Add", "proj", List.of("proj.matmul", "proj.bias"));

    // exact GELU: 0.5 · x · (1 + erf(x / √2))   [tokens, width]
    g.node("Div", "gelu.scaled", List.of("proj", "sqrt2"));
    g.node("Erf", "gelu.erf", List.of("gelu.scaled"));
    g.node("Add", "gelu.cdf2", List.of("gelu.erf", "one"));
    g.node("Mul", "gelu.x", List.of("proj", "gelu.cdf2"));
    g.node("Mul", "z", List.of("gelu.x", "half"));

    if (probe.maxPool()) {
      // max-pooling: tokens outside the set get −1e9, then the max over tokens   [sets, width]
      g.floatScalar("big", BIG);
      g.int64Tensor("axes0", new long[] {1}, new long[] {0});
      g.int64Tensor("axes2", new long[] {1}, new long[] {2});
      g.node("Unsqueeze", "pool.z", List.of("z", "axes0")); // [1, tokens, width]
      g.node("Unsqueeze", "pool.mask", List.of(MASK, "axes2")); // [sets, tokens, 1]
      g.node("Sub", "pool.outside", List.of("pool.mask", "one")); // 0 inside, −1 outside
      g.node("Mul", "pool.penalty", List.of("pool.outside", "big")); // 0 inside, −1e9 outside
      g.node("Add", "pool.masked", List.of("pool.z", "pool.penalty")); // [sets, tokens, width]
      // ReduceMax-13: axes is still an attribute (an input only from opset 18)
      g.node("ReduceMax", "pooled", List.of("pool.masked"), Graph.ints("axes", 1), Graph.integer("keepdims", 0));
    } else {
      // mean-pooling: the masked sum over tokens divided by the set's size   [sets, width]
      g.node("MatMul", "pool.sum", List.of(MASK, "z")); // [sets, width]
      // ReduceSum-13: axes is an input
      g.node("ReduceSum", "pool.count", List.of(MASK, "axes1"), Graph.integer("keepdims", 1)); // [sets, 1]
      g.node("Div", "pooled", List.of("pool.sum", "pool.count"));
    }

    // logit: pooled · out.weightᵀ + out.bias   [sets]
    g.node("Transpose", "out.weightT", List.of("out.weight"), Graph.ints("perm", 1, 0)); // [width, 1]
    g.node("MatMul", "out.matmul", List.of("pooled", "out.weightT")); // [sets, 1]
    g.node("Add", "out", List.of("out.matmul", "out.bias")); // [sets, 1]
    g.node("Squeeze", LOGIT, List.of("out", "axes1")); // [sets]

    // Platt scaling per level: sigmoid(a · logit + b)   [sets]
    for (Probe.Level level : Probe.Level.values()) {
      String key = "platt." + level.key();
      g.node("Mul", key + ".scaled", List.of(LOGIT, key + ".a"));
      g.node("Add", key + ".shifted", List.of(key + ".scaled", key + ".b"));
      g.node("Sigmoid", probability(level), List.of(key + ".shifted"));
    }

    g.input(HIDDEN, "tokens", hidden);
    g.input(MASK, "sets", "tokens");
    g.output(LOGIT, "sets");
    for (Probe.Level level : Probe.Level.values()) {
      g.output(probability(level), "sets");
    }

    // ModelProto
    ProtoWriter model = new ProtoWriter();
    model.varint(1, IR_VERSION); // ir_version
    model.string(2, "candor"); // producer_name
    model.message(7, g.toProto("candor_probe")); // graph
    model.message(8, new ProtoWriter().string(1, "").varint(2, OPSET)); // opset_import {domain "" = ai.onnx, version}
    metadata(model, "candor.tap", Integer.toString(probe.tap()));
    metadata(model, "candor.hidden_size", Integer.toString(hidden));
    metadata(model, "candor.pooling", probe.maxPool() ? "max" : "mean");
    metadata(model, "candor.model_fingerprint", probe.fingerprint() == null ? "" : probe.fingerprint());
    return model.toByteArray();
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
