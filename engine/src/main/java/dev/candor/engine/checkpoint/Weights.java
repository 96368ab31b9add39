package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weight files of a checkpoint: one {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json} ({"weight_map": {tensor: file}}). Lookups name the file a tensor should be in.
 * The files stay mapped until every holder ({@link #retain}) has closed them.
 */
public final class Weights implements AutoCloseable {
  public static final String SINGLE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";

  private final Map<String, SafeTensors> byTensor;
  private final List<SafeTensors> files;
  private final Path description;
  private final java.util.concurrent.atomic.AtomicInteger holders = new java.util.concurrent.atomic.AtomicInteger(1);

  private Weights(Map<String, SafeTensors> byTensor, List<SafeTensors> files, Path description) {
    this.byTensor = byTensor;
    this.files = files;
    this.description = description;
  }

  public static Weights open(Path dir) {
    Path index = dir.resolve(INDEX);
    if (Files.exists(index)) {
      return openSharded(dir, index);
    }
    Path single = dir.resolve(SINGLE);
    if (!Files.exists(single)) {
      throw CheckpointException.at(dir, "no " + SINGLE + " and no " + INDEX + ": not a Hugging Face checkpoint directory");
    }
    SafeTensors file = SafeTensors.open(single);
    Map<String, SafeTensors> byTensor = new LinkedHashMap<>();
    file.tensors().keySet().forEach(name -> byTensor.put(name, file));
    return new Weights(byTensor, List.of(file), single);
  }

  private static Weights openSharded(Path dir, Path index) {
    JsonNode weightMap;
    try {
      weightMap = new ObjectMapper().readTree(Files.readString(index, StandardCharsets.UTF_8)).path("weight_map");
    } catch (IOException e) {
      throw CheckpointException.at(index, "not valid JSON: " + e.getMessage());
    }
    if (!weightMap.isObject()) {
      throw CheckpointException.at(index, "no weight_map object");
    }
    Map<String, SafeTensors> opened = new LinkedHashMap<>();
    Map<String, SafeTensors> byTensor = new LinkedHashMap<>();
    try {
      for (var it = weightMap.fields(); it.hasNext(); ) {
        var entry = it.next();
        String shardName = entry.getValue().asText();
        Path shard = dir.resolve(shardName).normalize();
        if (!shard.startsWith(dir.normalize()) || shardName.isEmpty()) {
          throw CheckpointException.at(index, "weight_map names a file outside the checkpoint: '" + shardName + "'");
        }
        SafeTensors file = opened.computeIfAbsent(shardName, n -> SafeTensors.open(shard));
        if (!file.contains(entry.getKey())) {
          throw CheckpointException.at(shard, entry.getKey(), "missing (" + INDEX + " says it is in this shard)");
        }
        byTensor.put(entry.getKey(), file);
      }
    } catch (RuntimeException e) {
      opened.values().forEach(SafeTensors::close);
      throw e;
    }
    return new Weights(byTensor, new ArrayList<>(opened.values()), index);
  }

  public boolean contains(String name) {
    return byTensor.containsKey(name);
  }

  public Tensor get(String name) {
    SafeTensors file = byTensor.get(name);
    if (file == null) {
      throw CheckpointException.at(description, name, "missing");
    }
    return file.get(name);
  }

  /** All tensor names, in file order. */
  public Iterable<String> names() {
    return byTensor.keySet();
  }

  /**
   * One more holder of the mapping: a backend that computes with tensors in place keeps the files mapped after the
   * checkpoint that opened them is closed. Each holder closes once; the files are unmapped when the last one does.
   */
  public Weights retain() {
    if (holders.getAndUpdate(n -> n == 0 ? 0 : n + 1) == 0) {
      throw new IllegalStateException(description + ": already closed");
    }
    return this;
  }

  @Override
  public void close() {
    if (holders.getAndUpdate(n -> Math.max(0, n - 1)) == 1) {
      files.forEach(SafeTensors::close);
    }
  }
}
