package dev.candor.engine.server;

import dev.candor.engine.generate.TokenRecord;
import dev.candor.engine.tools.ToolCall;
import dev.candor.engine.tools.ToolCallDelta;
import dev.candor.engine.tools.ToolCallParser;
import dev.candor.engine.tools.ToolCallStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/**
 * One chat choice's reply as its client receives it, read as it is released: a thinking model's reasoning apart from
 * its answer ({@link ThinkingSplitter}), tool calls out of the answer ({@link ToolCallStream}: whole blocks when the
 * model wrote freely, as they come when the grammar wrote them), and each token's {@link Phase}. Streamed and whole
 * responses read through the same reader, so they agree. With {@code parallel_tool_calls: false} only the first call
 * is returned, as vLLM does.
 */
final class ReplyReader {
  /**
   * What one released piece of output (or the end) added.
   *
   * @param records the tokens now decided, in order
   * @param phases their phases (null for a model that does not think)
   * @param reasoning new reasoning text
   * @param content new content text
   * @param calls new tool-call fragments
   */
  record Delta(List<TokenRecord> records, List<Phase> phases, String reasoning, String content,
      List<ToolCallDelta> calls) {
    boolean isEmpty() {
      return records.isEmpty() && reasoning.isEmpty() && content.isEmpty() && calls.isEmpty();
    }
  }

  private final Reply reply;
  private final ThinkingSplitter splitter; // null: everything is the answer
  private final ToolCallStream calls; // null: no calls are read
  private final StringBuilder reasoning = new StringBuilder();
  private final StringBuilder content = new StringBuilder();
  private final List<Phase> phases = new ArrayList<>();

  ReplyReader(Reply reply) {
    this(reply, ToolCallParser.randomIds());
  }

  ReplyReader(Reply reply, Supplier<String> ids) {
    this.reply = reply;
    this.splitter = reply.thinks() ? new ThinkingSplitter(reply.thinking()) : null;
    this.calls = reply.readsCalls() ? new ToolCallStream(reply.tools().mode(), reply.tools().names(), ids) : null;
  }

  /** A released piece: its records, their offsets in the whole output text, and the text it added. */
  Delta push(List<TokenRecord> records, List<Integer> offsets, String text) {
    if (splitter == null) {
      return delta(records, null, "", text, false);
    }
    ThinkingSplitter.Step step = splitter.push(records, offsets, text);
    return delta(step, false);
  }

  /** The output has ended: what was held back, decided. */
  Delta finish() {
    if (splitter == null) {
      return delta(List.of(), null, "", "", true);
    }
    return delta(splitter.finish(), true);
  }

  private Delta delta(ThinkingSplitter.Step step, boolean end) {
    List<TokenRecord> records = new ArrayList<>();
    List<Phase> stepPhases = new ArrayList<>();
    for (ThinkingSplitter.Phased p : step.tokens()) {
      records.add(p.record());
      stepPhases.add(p.phase());
    }
    return delta(records, stepPhases, step.reasoning(), step.answer(), end);
  }

  private Delta delta(List<TokenRecord> records, List<Phase> stepPhases, String reasoningText, String answer,
      boolean end) {
    String contentText = answer;
    List<ToolCallDelta> callDeltas = new ArrayList<>();
    if (calls != null) {
      List<ToolCallStream.Event> events = new ArrayList<>(answer.isEmpty() ? List.of() : calls.push(answer));
      if (end) {
        events.addAll(calls.finish());
      }
      StringBuilder text = new StringBuilder();
      for (ToolCallStream.Event e : events) {
        if (e instanceof ToolCallStream.Content c) {
          text.append(c.text());
        } else if (e instanceof ToolCallDelta d && (reply.tools().parallel() || d.index() == 0)) {
          callDeltas.add(d);
        }
      }
      contentText = text.toString();
    }
    reasoning.append(reasoningText);
    content.append(contentText);
    if (stepPhases != null) {
      phases.addAll(stepPhases);
    }
    return new Delta(records, stepPhases, reasoningText, contentText, callDeltas);
  }

  /** The reasoning, or null when there was none (or the model does not think). */
  String reasoning() {
    return reasoning.isEmpty() ? null : reasoning.toString();
  }

  /** The content: null when the reply was only tool calls, as OpenAI sends it. */
  String content() {
    return content.isEmpty() && !calls().isEmpty() ? null : content.toString();
  }

  /** The tool calls the reply made (after {@link #finish}). */
  List<ToolCall> calls() {
    if (calls == null) {
      return List.of();
    }
    List<ToolCall> all = calls.calls();
    return reply.tools().parallel() || all.size() <= 1 ? all : List.of(all.getFirst());
  }

  /** Every decided token's phase, in output order; null for a model that does not think. */
  List<Phase> phases() {
    return splitter == null ? null : Collections.unmodifiableList(phases);
  }

  boolean thinks() {
    return splitter != null;
  }
}
