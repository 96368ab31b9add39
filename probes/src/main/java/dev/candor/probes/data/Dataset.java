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
 * (a boolean per completion token); optional {@code id} and {@code samples} (more completions for the same prompt).
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
      samples.add(s.asText());
    }
    return new Example(id, promptText, messages, row.get("completion").asText(), fixed, labels, samples);
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
        out.write(JSON.writeValueAsString(row));
        out.write('\n');
      }
    }
  }
}
