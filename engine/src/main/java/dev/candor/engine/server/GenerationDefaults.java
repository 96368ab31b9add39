package dev.candor.engine.server;

import dev.candor.engine.checkpoint.GenerationConfig;

/**
 * The sampling settings a request gets for the fields it leaves out: the checkpoint's generation_config.json (as vLLM
 * applies it by default), or OpenAI's defaults (temperature 1, top_p 1, no top-k, no repetition penalty) when the
 * checkpoint says nothing or the server runs with {@code --generation-config ignore}.
 *
 * @param source where they come from: "generation_config.json" or "openai"
 */
public record GenerationDefaults(double temperature, double topP, int topK, double repetitionPenalty, String source) {
  public static final GenerationDefaults OPENAI = new GenerationDefaults(1.0, 1.0, 0, 1.0, "openai");

  /**
   * The checkpoint's defaults where it gives them, OpenAI's for the rest. {@code do_sample: false} means greedy, as
   * transformers reads it, whatever temperature the file also names.
   */
  public static GenerationDefaults of(GenerationConfig config) {
    boolean greedy = config.doSample().isPresent() && !config.doSample().get();
    boolean any = greedy || config.temperature().isPresent() || config.topP().isPresent()
        || config.topK().isPresent() || config.repetitionPenalty().isPresent();
    if (!any) {
      return OPENAI;
    }
    return new GenerationDefaults(
        greedy ? 0 : config.temperature().orElse(OPENAI.temperature),
        config.topP().orElse(OPENAI.topP),
        config.topK().orElse(OPENAI.topK),
        config.repetitionPenalty().orElse(OPENAI.repetitionPenalty),
        "generation_config.json");
  }
}
