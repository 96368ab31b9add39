package dev.candor.engine.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads hermes-style tool calls ({@link HermesFormat}) out of a model's text as it streams: fed text deltas, it
 * returns content deltas and OpenAI-style {@link ToolCallDelta}s, in order. Text that could still be the start of a
 * tag is held back until it is decided; a block that is not a well-formed call (not JSON, no string "name", no object
 * "arguments", an unknown function, anything but whitespace after the object) comes back as content, tags and all.
 * Nothing here throws on the model's text.
 *
 * <p>Whitespace that only separates content from a call (the newline before {@code <tool_call>}, the ones between
 * and after calls) is dropped, so a reply that is only calls has no content. A block still open when the text ends
 * is a call if its JSON is complete (the model stopped right after it).
 *
 * <p>Two modes. {@link Mode#BUFFERED} holds each block until it closes, then emits it whole (a first delta with id
 * and name, then one with all the arguments) or as content: its output always equals {@link ToolCallParser#parse} of
 * the whole text. {@link Mode#INCREMENTAL} streams as OpenAI does: the first delta as soon as
 * {@code {"name": "...", "arguments": {} has arrived, then each piece of the arguments as it arrives. A block cannot
 * be taken back once its first delta is out, so use it where the grammar guarantees well-formed calls (tool_choice
 * required or named); should a started block still go wrong, its remaining text comes as content and the call is
 * left out of {@link #calls}.
 */
public final class ToolCallStream {
  /** What a push returns, in order: content text and tool-call fragments. */
  public sealed interface Event permits Content, ToolCallDelta {}

  /** A piece of the reply's content. */
  public record Content(String text) implements Event {}

  public enum Mode {
    BUFFERED,
    INCREMENTAL
  }

  // {"name": "...", "arguments": {  (the name as a JSON string body)
  private static final Pattern HEADER =
      Pattern.compile("^\\s*\\{\\s*\"name\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*,\\s*\"arguments\"\\s*:\\s*\\{");

  private final Mode mode;
  private final Set<String> names;
  private final Supplier<String> ids;

  private final StringBuilder pending = new StringBuilder(); // undecided text
  private final StringBuilder block = new StringBuilder(); // the body of an open block
  private boolean inBlock;
  private String heldWhitespace = ""; // trailing whitespace of content, dropped if a call follows
  private boolean afterCall; // content's leading whitespace after a call is dropped
  private final List<ToolCall> calls = new ArrayList<>();
  private Started started; // INCREMENTAL: the open block's call, once its first delta is out
  private int nextIndex; // calls whose first delta is out
  private boolean finished;

  /** An INCREMENTAL call whose first delta is out: how much of its arguments has gone, where they end if known. */
  private static final class Started {
    final int index;
    final String id;
    final String name;
    final int argumentsStart; // offset in the block body of the arguments' "{"
    int sent; // offset up to which arguments were sent
    int argumentsEnd = -1; // offset after the arguments' "}", once seen
    final ArgumentsScanner scanner = new ArgumentsScanner();

    Started(int index, String id, String name, int argumentsStart) {
      this.index = index;
      this.id = id;
      this.name = name;
      this.argumentsStart = argumentsStart;
      this.sent = argumentsStart;
    }
  }

  /**
   * @param names the functions the request offered (a call to another is content); empty to accept any name
   * @param ids where call ids come from ({@link ToolCallParser#randomIds} in production)
   */
  public ToolCallStream(Mode mode, Set<String> names, Supplier<String> ids) {
    this.mode = mode;
    this.names = Set.copyOf(names);
    this.ids = ids;
  }

  /** Feeds the next piece of the model's text. */
  public List<Event> push(String text) {
    if (finished) {
      throw new IllegalStateException("the stream has finished");
    }
    pending.append(text);
    List<Event> out = new ArrayList<>();
    drain(false, out);
    return merge(out);
  }

  /** The text has ended: everything held back is decided. */
  public List<Event> finish() {
    if (finished) {
      return List.of();
    }
    List<Event> out = new ArrayList<>();
    drain(true, out);
    if (!afterCall && !heldWhitespace.isEmpty()) {
      out.add(new Content(heldWhitespace));
    }
    heldWhitespace = "";
    finished = true;
    return merge(out);
  }

  /** The calls completed so far, in order. */
  public List<ToolCall> calls() {
    return List.copyOf(calls);
  }

  private void drain(boolean end, List<Event> out) {
    while (true) {
      if (!inBlock) {
        int open = pending.indexOf(HermesFormat.OPEN);
        if (open < 0) {
          int keep = end ? 0 : partialTag(pending, HermesFormat.OPEN);
          content(pending.substring(0, pending.length() - keep), out);
          pending.delete(0, pending.length() - keep);
          return;
        }
        content(pending.substring(0, open), out);
        pending.delete(0, open + HermesFormat.OPEN.length());
        inBlock = true;
        block.setLength(0);
        continue;
      }
      int close = pending.indexOf(HermesFormat.CLOSE);
      if (close >= 0) {
        block.append(pending, 0, close);
        pending.delete(0, close + HermesFormat.CLOSE.length());
        closeBlock(true, out);
        continue;
      }
      int keep = end ? 0 : partialTag(pending, HermesFormat.CLOSE);
      block.append(pending, 0, pending.length() - keep);
      pending.delete(0, pending.length() - keep);
      if (mode == Mode.INCREMENTAL) {
        streamArguments(out);
      }
      if (end) {
        closeBlock(false, out);
      }
      return;
    }
  }

  /** Content text, with whitespace next to a call dropped (held back until what follows it is known). */
  private void content(String text, List<Event> out) {
    if (afterCall) {
      int i = 0;
      while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
        i++;
      }
      text = text.substring(i);
      if (text.isEmpty()) {
        return;
      }
      afterCall = false;
    }
    int body = text.length();
    while (body > 0 && Character.isWhitespace(text.charAt(body - 1))) {
      body--;
    }
    if (body == 0) {
      heldWhitespace += text;
      return;
    }
    out.add(new Content(heldWhitespace + text.substring(0, body)));
    heldWhitespace = text.substring(body);
  }

  /** The block's text is all there (closed, or the text ended): a call, or content. */
  private void closeBlock(boolean closed, List<Event> out) {
    inBlock = false;
    String body = block.toString();
    String raw = HermesFormat.OPEN + body + (closed ? HermesFormat.CLOSE : "");
    ToolCallParser.Body parsed = ToolCallParser.parseBody(body, names);
    Started s = started;
    started = null;
    if (s != null) {
      // INCREMENTAL, first delta already out: finish it if the whole block agrees with what was streamed
      if (parsed != null && parsed.name().equals(s.name) && parsed.argumentsStart() == s.argumentsStart
          && parsed.argumentsEnd() >= s.sent) {
        if (parsed.argumentsEnd() > s.sent) {
          out.add(new ToolCallDelta(s.index, null, null, body.substring(s.sent, parsed.argumentsEnd())));
        }
        calls.add(new ToolCall(s.id, s.name, parsed.arguments()));
        heldWhitespace = "";
        afterCall = true;
      } else {
        content(raw.substring(Math.min(raw.length(), HermesFormat.OPEN.length() + s.sent)), out);
      }
      return;
    }
    if (parsed == null) {
      content(raw, out);
      return;
    }
    ToolCall call = new ToolCall(ids.get(), parsed.name(), parsed.arguments());
    int index = nextIndex++;
    out.add(new ToolCallDelta(index, call.id(), call.name(), ""));
    out.add(new ToolCallDelta(index, null, null, call.arguments()));
    calls.add(call);
    heldWhitespace = "";
    afterCall = true;
  }

  /** INCREMENTAL: the first delta once the header is in, then whatever arguments text has arrived. */
  private void streamArguments(List<Event> out) {
    if (started == null) {
      Matcher m = HEADER.matcher(block);
      if (!m.find()) {
        return;
      }
      String name = ToolCallParser.unescape(m.group(1));
      if (name == null || name.isEmpty() || (!names.isEmpty() && !names.contains(name))) {
        return; // not a call we can start: decided when the block closes
      }
      started = new Started(nextIndex++, ids.get(), name, m.end() - 1);
      heldWhitespace = "";
      out.add(new ToolCallDelta(started.index, started.id, name, ""));
    }
    Started s = started;
    if (s.argumentsEnd < 0) {
      int end = s.scanner.scan(block, s.argumentsStart);
      if (end >= 0) {
        s.argumentsEnd = end;
      }
    }
    int upTo = s.argumentsEnd >= 0 ? s.argumentsEnd : block.length();
    if (upTo > s.sent) {
      out.add(new ToolCallDelta(s.index, null, null, block.substring(s.sent, upTo)));
      s.sent = upTo;
    }
  }

  /** The length of the longest suffix of {@code text} that is a proper prefix of {@code tag}. */
  private static int partialTag(CharSequence text, String tag) {
    for (int n = Math.min(tag.length() - 1, text.length()); n > 0; n--) {
      if (tag.regionMatches(0, text.toString(), text.length() - n, n)) {
        return n;
      }
    }
    return 0;
  }

  /** Adjacent content events merged into one. */
  private static List<Event> merge(List<Event> events) {
    List<Event> out = new ArrayList<>();
    for (Event e : events) {
      if (e instanceof Content c && !out.isEmpty() && out.getLast() instanceof Content previous) {
        out.set(out.size() - 1, new Content(previous.text() + c.text()));
      } else if (!(e instanceof Content c2 && c2.text().isEmpty())) {
        out.add(e);
      }
    }
    return out;
  }

  /**
   * Finds where a JSON object ends, scanning incrementally: depth of braces and brackets outside strings, string
   * escapes. Its only job is to stop the argument fragments at the object's closing brace.
   */
  static final class ArgumentsScanner {
    private int at = -1;
    private int depth;
    private boolean inString;
    private boolean escaped;

    /** Scans {@code text} from where it stopped; the offset after the closing brace, or -1 if not yet there. */
    int scan(CharSequence text, int start) {
      if (at < 0) {
        at = start;
      }
      for (; at < text.length(); at++) {
        char c = text.charAt(at);
        if (inString) {
          if (escaped) {
            escaped = false;
          } else if (c == '\\') {
            escaped = true;
          } else if (c == '"') {
            inString = false;
          }
        } else if (c == '"') {
          inString = true;
        } else if (c == '{' || c == '[') {
          depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          return ++at;
        }
      }
      return -1;
    }
  }
}
