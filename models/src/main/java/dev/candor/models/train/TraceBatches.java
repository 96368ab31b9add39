package dev.candor.models.train;

import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.models.task.Program;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.task.TaskTokenizer;
import dev.candor.models.task.TraceTask;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Training batches for the trace task: each row is a chat (the program) followed by the assistant's trace and
 * {@code <|im_end|>}; the loss covers only the assistant's tokens. One difficulty per batch keeps the rows of a batch
 * about equally long, so little of the batch is padding.
 */
final class TraceBatches {
  /**
   * One batch, row-major [rows * length].
   *
   * @param inputs token ids fed to the model
   * @param targets the next token at each position
   * @param mask 1 where the target is part of the assistant's answer, else 0
   */
  record Batch(int rows, int length, long[] inputs, long[] targets, float[] mask) {
    long answerTokens() {
      long n = 0;
      for (float m : mask) {
        n += (long) m;
      }
      return n;
    }
  }

  private final ProgramGenerator programs;
  private final Tokenizer tokenizer;
  private final ChatTemplate template;
  private final int maxLength;
  private final double minDifficulty;
  private final double maxDifficulty;
  private long next;

  TraceBatches(ProgramGenerator programs, Tokenizer tokenizer, ChatTemplate template, int maxLength,
      double minDifficulty, double maxDifficulty) {
    this.programs = programs;
    this.tokenizer = tokenizer;
    this.template = template;
    this.maxLength = maxLength;
    this.minDifficulty = minDifficulty;
    this.maxDifficulty = maxDifficulty;
  }

  /** The prompt's tokens (the rendered chat, ending where the assistant's answer begins). */
  int[] prompt(Program p) {
    return tokenizer.encode(template.render(TraceTask.messages(p), true));
  }

  /** The answer's tokens: the trace and the end-of-turn token. */
  int[] answer(Program p) {
    int[] trace = tokenizer.encode(p.trace());
    int[] out = Arrays.copyOf(trace, trace.length + 1);
    out[trace.length] = TaskTokenizer.IM_END;
    return out;
  }

  /** The next batch of {@code rows} examples, deterministic in the batch's index. */
  Batch next(int rows) {
    long index = next++;
    double difficulty = minDifficulty
        + (maxDifficulty - minDifficulty) * new SplittableRandom(index * 31 + 7).nextDouble();
    int[][] sequences = new int[rows][];
    int[] promptLengths = new int[rows];
    int longest = 0;
    for (int r = 0; r < rows; r++) {
      int[] prompt;
      int[] answer;
      int attempt = 0;
      do {
        Program p = programs.generate(index * rows * 4 + r * 4L + attempt++, difficulty);
        prompt = prompt(p);
        answer = answer(p);
      } while (prompt.length + answer.length > maxLength + 1);
      int[] all = Arrays.copyOf(prompt, prompt.length + answer.length);
      System.arraycopy(answer, 0, all, prompt.length, answer.length);
      sequences[r] = all;
      promptLengths[r] = prompt.length;
      longest = Math.max(longest, all.length - 1);
    }
    int length = Math.min(maxLength, (longest + 15) / 16 * 16);
    long[] inputs = new long[rows * length];
    long[] targets = new long[rows * length];
    float[] mask = new float[rows * length];
    Arrays.fill(inputs, TaskTokenizer.ENDOFTEXT);
    Arrays.fill(targets, TaskTokenizer.ENDOFTEXT);
    for (int r = 0; r < rows; r++) {
      int[] s = sequences[r];
      for (int t = 0; t + 1 < s.length; t++) {
        inputs[r * length + t] = s[t];
        targets[r * length + t] = s[t + 1];
        mask[r * length + t] = t + 1 >= promptLengths[r] ? 1 : 0;
      }
    }
    return new Batch(rows, length, inputs, targets, mask);
  }
}
