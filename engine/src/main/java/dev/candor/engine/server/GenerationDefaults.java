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

  /** The checkpoint's defaults where it gives them, OpenAI's for the rest. */
  public static GenerationDefaults of(GenerationConfig config) {
    boolean any = !Double.isNaN(config.temperature()) || !Double.isNaN(config.topP()) || config.topK() > 0;
    if (!any) {
      return OPENAI;
    }
    return new GenerationDefaults(
        Double.isNaN(config.temperature()) ? OPENAI.temperature : config.temperature(),
        Double.isNaN(config.topP()) ? OPENAI.topP : config.topP(),
        Math.max(0, config.topK()),
        OPENAI.repetitionPenalty,
        "generation_config.json");
  }
}
