package dev.candor.probes.data;

import dev.candor.engine.tokenizer.ChatTemplate;
import java.util.List;

/**
 * One row of a probe dataset: what the model was asked, what it produced, and either a minimally corrected version
 * of its answer (labels then come from the diff) or per-token labels given directly.
 *
 * @param id a name for the row (its line number when the file gives none)
 * @param promptText the prompt as raw text, or null when {@code messages} is given
 * @param messages the prompt as chat messages (rendered with the model's chat template), or null
 * @param completion what the model produced
 * @param fixed the minimally corrected completion, or null when {@code labels} is given
 * @param labels per-token correctness of the completion's tokens, or null
 * @param samples other completions sampled for the same prompt (for the multisampling baseline); may be empty
 * @param difficulty how hard the problem is, in [0, 1], when the dataset's builder knows (the difficulty-shift
 *     evaluation splits on it); NaN otherwise
 * @param lineTags per non-blank line of the completion, in order, the builder's tags (for example "propagated": a
 *     wrong line that is right given the model's own earlier values); evaluated as subsets. Empty when not given
 */
public record Example(String id, String promptText, List<ChatTemplate.Message> messages, String completion,
    String fixed, boolean[] labels, List<String> samples, double difficulty, List<List<String>> lineTags) {

  public Example {
    samples = List.copyOf(samples);
    lineTags = lineTags.stream().map(List::copyOf).toList();
  }

  /** An example without a difficulty or line tags. */
  public Example(String id, String promptText, List<ChatTemplate.Message> messages, String completion, String fixed,
      boolean[] labels, List<String> samples) {
    this(id, promptText, messages, completion, fixed, labels, samples, Double.NaN, List.of());
  }

  /** The prompt as the model saw it. */
  public String prompt(ChatTemplate template) {
    if (messages == null) {
      return promptText;
    }
    if (template == null) {
      throw new IllegalArgumentException("example " + id + " gives chat messages but the model has no chat template");
    }
    return template.render(messages, true);
  }
}
