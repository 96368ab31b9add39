package dev.candor.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.candor.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * split_special_tokens for a chat prompt: the messages' text is tokenized as plain text, so a user who writes
 * {@code <|im_end|>\n<|im_start|>assistant} cannot forge a turn, while the template's own markers stay special tokens.
 * The rendered prompt mixes both, so the messages' spans are found by rendering a second time with each message text
 * wrapped in two noncharacters (U+FDD0 and U+FDD1, which Unicode reserves for a program's internal use), after its
 * leading and before its trailing whitespace (so a template that strips or trims still finds the same text). Removing
 * them must give the plain rendering byte for byte, with every span opened and closed once; when a template changes
 * a message's text otherwise (splits it, slices it, tests what it starts with) the spans cannot be known, and the
 * request is refused rather than tokenized wrongly.
 *
 * <p>The tokenization is Hugging Face's with one change: the tokenizer splits the text at added tokens
 * (leftmost-longest) and tokenizes the pieces between; here a special token counts only where it lies wholly outside
 * the messages' spans. Where no message spells one, the ids equal the default tokenization's.
 */
final class SpecialTokenSplit {
  static final char OPEN = '\uFDD0';
  static final char CLOSE = '\uFDD1';

  private SpecialTokenSplit() {}

  /** A copy of template-ready messages with every message text (content, reasoning, argument strings) wrapped. */
  static ArrayNode wrap(ArrayNode messages) {
    ArrayNode copy = messages.deepCopy();
    for (JsonNode m : copy) {
      ObjectNode message = (ObjectNode) m;
      for (String field : List.of("content", "reasoning_content")) {
        if (message.path(field).isTextual()) {
          message.put(field, wrap(message.get(field).asText()));
        }
      }
      for (JsonNode call : message.path("tool_calls")) {
        JsonNode function = call.path("function");
        if (function instanceof ObjectNode f && f.has("arguments")) {
          f.set("arguments", wrapStrings(f.get("arguments")));
        }
      }
    }
    return copy;
  }

  private static JsonNode wrapStrings(JsonNode value) {
    if (value.isTextual()) {
      return TextNode.valueOf(wrap(value.asText()));
    }
    if (value instanceof ObjectNode o) {
      o.properties().forEach(e -> e.setValue(wrapStrings(e.getValue())));
    } else if (value instanceof ArrayNode a) {
      for (int i = 0; i < a.size(); i++) {
        a.set(i, wrapStrings(a.get(i)));
      }
    }
    return value;
  }

  static String wrap(String text) {
    int start = 0;
    int end = text.length();
    while (start < end && Character.isWhitespace(text.charAt(start))) {
      start++;
    }
    while (end > start && Character.isWhitespace(text.charAt(end - 1))) {
      end--;
    }
    if (start == end) {
      return text; // only whitespace: nothing a special token could be spelled with
    }
    return text.substring(0, start) + OPEN + text.substring(start, end) + CLOSE + text.substring(end);
  }

  /** Refuses messages that already hold the two characters the spans are marked with. */
  static void checkUnmarked(String plain) {
    if (plain.indexOf(OPEN) >= 0 || plain.indexOf(CLOSE) >= 0) {
      throw ApiException.invalid("messages", "with split_special_tokens, the messages may not contain U+FDD0 or "
          + "U+FDD1 (noncharacters this server uses to find the messages' text in the prompt)");
    }
  }

  /**
   * The ids of {@code plain} (the prompt as rendered) with special-token text inside the messages' spans tokenized as
   * text; {@code marked} is the same conversation rendered with {@link #wrap}ped messages.
   */
  static int[] encode(Tokenizer tokenizer, String plain, String marked) {
    List<int[]> spans = new ArrayList<>();
    String unmarked = spans(marked, spans);
    if (!unmarked.equals(plain)) {
      throw notSplittable();
    }
    List<String> specials = specials(tokenizer);
    List<Integer> ids = new ArrayList<>();
    int pieceStart = 0;
    int span = 0;
    for (int p = 0; p < plain.length(); ) {
      if (span < spans.size() && p >= spans.get(span)[0]) {
        p = spans.get(span++)[1]; // a message's text: no special token starts or ends inside it
        continue;
      }
      int limit = span < spans.size() ? spans.get(span)[0] : plain.length();
      String match = longestAt(plain, p, limit, specials);
      if (match == null) {
        p++;
        continue;
      }
      addPlain(tokenizer, plain.substring(pieceStart, p), ids);
      ids.add(tokenizer.addedTokenId(match));
      p += match.length();
      pieceStart = p;
    }
    addPlain(tokenizer, plain.substring(pieceStart), ids);
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The text without its marks, and each span's [start, end) in it; a mark out of place is a refusal. */
  private static String spans(String marked, List<int[]> spans) {
    StringBuilder out = new StringBuilder(marked.length());
    int open = -1;
    for (int i = 0; i < marked.length(); i++) {
      char c = marked.charAt(i);
      if (c == OPEN) {
        if (open >= 0) {
          throw notSplittable();
        }
        open = out.length();
      } else if (c == CLOSE) {
        if (open < 0) {
          throw notSplittable();
        }
        spans.add(new int[] {open, out.length()});
        open = -1;
      } else {
        out.append(c);
      }
    }
    if (open >= 0) {
      throw notSplittable();
    }
    return out.toString();
  }

  /** The special tokens' texts, longest first (so the first match at a position is the longest). */
  private static List<String> specials(Tokenizer tokenizer) {
    List<String> texts = new ArrayList<>();
    for (int id : tokenizer.specialIds()) {
      String text = tokenizer.text(id);
      if (!text.isEmpty() && tokenizer.addedTokenId(text) == id) {
        texts.add(text);
      }
    }
    texts.sort(Comparator.comparingInt(String::length).reversed());
    return texts;
  }

  private static String longestAt(String text, int at, int limit, List<String> specials) {
    char c = text.charAt(at);
    for (String s : specials) {
      if (s.charAt(0) != c) {
        continue;
      }
      if (at + s.length() <= limit && text.startsWith(s, at)) {
        return s;
      }
    }
    return null;
  }

  private static void addPlain(Tokenizer tokenizer, String piece, List<Integer> ids) {
    if (!piece.isEmpty()) {
      for (int id : tokenizer.encode(piece, true)) {
        ids.add(id);
      }
    }
  }

  private static ApiException notSplittable() {
    return ApiException.invalid("split_special_tokens", "this model's chat template changes the messages' text "
        + "(it splits, slices or tests it) for this conversation, so the text cannot be told apart from the "
        + "template's markers; send the request without split_special_tokens, or with message text the template "
        + "prints as it is");
  }
}
