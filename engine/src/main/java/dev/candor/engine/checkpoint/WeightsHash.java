package dev.candor.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;

/**
 * SHA-256 of a checkpoint's weight files, so that a probe trained on one model's hidden states is refused on another
 * of the same shape (a fine-tune, another seed). The digest runs over the files' bytes in order: {@code
 * model.safetensors}, or the shards {@code model.safetensors.index.json} names, sorted by name, each preceded by its
 * name and length so that no two layouts hash alike.
 *
 * <p>Hashing reads every byte (about 2 s a GB here), so the result is cached beside the checkpoint in
 * {@value #CACHE}, with each file's size and modification time: the cache is used only while those still match, and a
 * directory that cannot be written to is simply hashed again next time.
 */
public final class WeightsHash {
  public static final String CACHE = ".candor-weights.sha256.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private WeightsHash() {}

  /** The hex SHA-256 of {@code dir}'s weight files, from the cache when it is still valid. */
  public static String of(Path dir) {
    List<Path> files = weightFiles(dir);
    ObjectNode stamp = stamp(files);
    Path cache = dir.resolve(CACHE);
    JsonNode cached = readCache(cache);
    if (cached != null && stamp.equals(cached.get("files")) && cached.path("sha256").isTextual()) {
      return cached.get("sha256").asText();
    }
    String digest = digest(files);
    ObjectNode out = JSON.createObjectNode();
    out.set("files", stamp);
    out.put("sha256", digest);
    try {
      Files.writeString(cache, JSON.writeValueAsString(out));
    } catch (IOException | UnsupportedOperationException e) {
      // a read-only checkpoint directory: hash again next time
    }
    return digest;
  }

  /** The weight files of a checkpoint directory, in hashing order. */
  static List<Path> weightFiles(Path dir) {
    Path index = dir.resolve(Weights.INDEX);
    if (Files.exists(index)) {
      TreeSet<String> shards = new TreeSet<>();
      try {
        JSON.readTree(index.toFile()).path("weight_map").forEach(name -> shards.add(name.asText()));
      } catch (IOException e) {
        throw CheckpointException.at(index, "not valid JSON: " + e.getMessage());
      }
      List<Path> files = new ArrayList<>();
      shards.forEach(name -> files.add(dir.resolve(name)));
      return files;
    }
    Path single = dir.resolve(Weights.SINGLE);
    if (!Files.exists(single)) {
      throw CheckpointException.at(dir, "no " + Weights.SINGLE + " and no " + Weights.INDEX + " to hash");
    }
    return List.of(single);
  }

  private static ObjectNode stamp(List<Path> files) {
    ObjectNode stamp = JSON.createObjectNode();
    ArrayNode list = stamp.putArray("files");
    for (Path file : files) {
      try {
        list.addObject().put("name", file.getFileName().toString()).put("size", Files.size(file))
            .put("modified", Files.getLastModifiedTime(file).toMillis());
      } catch (IOException e) {
        throw CheckpointException.at(file, "cannot read: " + e.getMessage());
      }
    }
    return stamp;
  }

  private static JsonNode readCache(Path cache) {
    try {
      return Files.exists(cache) ? JSON.readTree(cache.toFile()) : null;
    } catch (IOException e) {
      return null; // a damaged cache is recomputed
    }
  }

  private static String digest(List<Path> files) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] buffer = new byte[1 << 20];
    for (Path file : files) {
      try (InputStream in = Files.newInputStream(file)) {
        String header = file.getFileName() + "\n" + Files.size(file) + "\n";
        sha.update(header.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (int n; (n = in.read(buffer)) > 0; ) {
          sha.update(buffer, 0, n);
        }
      } catch (IOException e) {
        throw CheckpointException.at(file, "cannot read: " + e.getMessage());
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }
}
