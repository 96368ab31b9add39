package dev.candor.probes.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.tokenizer.ChatTemplate;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A probe dataset in JSON Lines: one object per line with {@code prompt} (text, or a list of chat messages
 * {role, content}), {@code completion}, and either {@code fixed} (a minimally corrected completion) or {@code labels}
 * (a boolean per completion token); optional {@code id}, {@code samples} (more completions for the same prompt),
 * {@code difficulty} (a number in [0, 1]) and {@code line_tags} (a list of strings per non-blank completion line).
 * A bad line is reported with its line number.
 */
public final class Dataset {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Dataset() {}

  public static List<Example> read(Path file) throws IOException {
    List<Example> examples = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int number = 0;
      while ((line = in.readLine()) != null) {
        number++;
        if (line.isBlank()) {
          continue;
        }
        try {
          examples.add(parse(JSON.readTree(line), number));
        } catch (IOException | IllegalArgumentException e) {
          throw new IllegalArgumentException(file + ":" + number + ": " + e.getMessage(), e);
        }
      }
    }
    return examples;
  }

  static Example parse(JsonNode row, int number) {
    if (!row.isObject()) {
      throw new IllegalArgumentException("not a JSON object");
    }
    String id = row.path("id").asText(Integer.toString(number));
    JsonNode prompt = row.get("prompt");
    String promptText = null;
    List<ChatTemplate.Message> messages = null;
    if (prompt != null && prompt.isTextual()) {
      promptText = prompt.asText();
    } else if (prompt != null && prompt.isArray()) {
      messages = new ArrayList<>();
      for (JsonNode m : prompt) {
        if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
          throw new IllegalArgumentException("prompt messages need a role and a string content");
        }
        messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
      }
    } else {
      throw new IllegalArgumentException("prompt must be a string or a list of chat messages");
    }
    if (!row.path("completion").isTextual()) {
      throw new IllegalArgumentException("completion must be a string");
    }
    String fixed = row.path("fixed").isTextual() ? row.get("fixed").asText() : null;
    boolean[] labels = null;
    if (row.path("labels").isArray()) {
      labels = new boolean[row.get("labels").size()];
      for (int i = 0; i < labels.length; i++) {
        JsonNode l = row.get("labels").get(i);
        if (!l.isBoolean() && !l.isInt()) {
          throw new IllegalArgumentException("labels must be booleans (or 0/1)");
        }
        labels[i] = l.isBoolean() ? l.asBoolean() : l.asInt() != 0;
      }
    }
    if ((fixed == null) == (labels == null)) {
      throw new IllegalArgumentException("give exactly one of 'fixed' and 'labels'");
    }
    List<String> samples = new ArrayList<>();
    for (JsonNode s : row.path("samples")) {
      if (!s.isTextual()) {
        throw new IllegalArgumentException("samples must be strings");
      }
      samples.add(s.asText());
    }
    double difficulty = Double.NaN;
    if (row.has("difficulty")) {
      difficulty = row.get("difficulty").asDouble(Double.NaN);
      if (!row.get("difficulty").isNumber() || !(difficulty >= 0 && difficulty <= 1)) {
        throw new IllegalArgumentException("difficulty must be a number in [0, 1]");
      }
    }
    List<List<String>> lineTags = new ArrayList<>();
    for (JsonNode tags : row.path("line_tags")) {
      List<String> line = new ArrayList<>();
      for (JsonNode tag : tags) {
        if (!tag.isTextual()) {
          throw new IllegalArgumentException("line_tags must be lists of strings, one list per non-blank line");
        }
        line.add(tag.asText());
      }
      lineTags.add(line);
    }
    return new Example(id, promptText, messages, row.get("completion").asText(), fixed, labels, samples, difficulty,
        lineTags);
  }

  public static void write(Path file, List<Example> examples) throws IOException {
    try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (Example e : examples) {
        ObjectNode row = JSON.createObjectNode();
        row.put("id", e.id());
        if (e.messages() != null) {
          ArrayNode prompt = row.putArray("prompt");
          for (ChatTemplate.Message m : e.messages()) {
            prompt.addObject().put("role", m.role()).put("content", m.content());
          }
        } else {
          row.put("prompt", e.promptText());
        }
        row.put("completion", e.completion());
        if (e.fixed() != null) {
          row.put("fixed", e.fixed());
        } else {
          ArrayNode labels = row.putArray("labels");
          for (boolean l : e.labels()) {
            labels.add(l);
          }
        }
        if (!e.samples().isEmpty()) {
          ArrayNode samples = row.putArray("samples");
          e.samples().forEach(samples::add);
        }
        if (!Double.isNaN(e.difficulty())) {
          row.put("difficulty", e.difficulty());
        }
        if (!e.lineTags().isEmpty()) {
          ArrayNode tags = row.putArray("line_tags");
          for (List<String> line : e.lineTags()) {
            ArrayNode lineTags = tags.addArray();
            line.forEach(lineTags::add);
          }
        }
        out.write(JSON.writeValueAsString(row));
        out.write('\n');
      }
    }
  }
}
