package dev.candor.engine.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.testing.TestCheckpoints;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Small random-weight Qwen3-architecture checkpoints (q_norm and k_norm, no q/k/v bias) that speak like Qwen3: Qwen3's tokenizer (Qwen2.5's vocabulary
 * and merges with {@code <tool_response>}, {@code </tool_response>}, {@code <think>} and {@code </think>} added, as the
 * published one has them) and Qwen3's published chat template (tools, reasoning, {@code enable_thinking}), kept in
 * the test resources. {@link #thinkingOnly} changes only the template's generation prompt so that it opens the think
 * block, as Qwen3's thinking-only releases do.
 */
final class Qwen3Checkpoints {
  static final Qwen2Config SHAPE = Qwen2Config.of(Qwen2Config.Architecture.QWEN3, 32, 48, 2, 4, 2, 8, 1e-6, 10000,
      151936, 2048, true, DType.F32);
  static final String CONFIG = "/dev/candor/engine/tokenizer/qwen3/tokenizer_config.json";
  static final int THINK = 151667;
  static final int END_THINK = 151668;
  static final int TOOL_CALL = 151657;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String GENERATION_PROMPT = "    {%- if enable_thinking is defined and enable_thinking is false %}\n"
      + "        {{- '<think>\\n\\n</think>\\n\\n' }}\n"
      + "    {%- endif %}";
  private static final String OPENS_THE_BLOCK = "    {%- if enable_thinking is defined and enable_thinking is false %}\n"
      + "        {{- '<think>\\n\\n</think>\\n\\n' }}\n"
      + "    {%- else %}\n"
      + "        {{- '<think>\\n' }}\n"
      + "    {%- endif %}";

  private Qwen3Checkpoints() {}

  /** The published Qwen3 template. */
  static synchronized Path qwen3() {
    return TestCheckpoints.write("server-qwen3-arch", SHAPE, 11, 0.3, DType.BF16, 0, tokenizer("qwen3", false));
  }

  /** The same template, its generation prompt opening {@code <think>\n} unless enable_thinking is false. */
  static synchronized Path thinkingOnly() {
    return TestCheckpoints.write("server-qwen3-arch-thinking", SHAPE, 11, 0.3, DType.BF16, 0,
        tokenizer("qwen3-thinking", true));
  }

  /** A tokenizer directory: Qwen3's tokenizer.json made from the project's Qwen2.5 one, and tokenizer_config.json. */
  static Path tokenizer(String name, boolean opensBlock) {
    Path dir = Path.of("target", "test-tokenizers", name).toAbsolutePath();
    try {
      Files.createDirectories(dir);
      ObjectNode root = (ObjectNode) JSON.readTree(TestCheckpoints.qwenTokenizer().resolve("tokenizer.json").toFile());
      ArrayNode added = (ArrayNode) root.get("added_tokens");
      String[] more = {"<tool_response>", "</tool_response>", "<think>", "</think>"};
      for (int i = 0; i < more.length; i++) {
        added.addObject().put("id", 151665 + i).put("content", more[i]).put("single_word", false)
            .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", false);
      }
      JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
      ObjectNode config;
      try (InputStream in = Qwen3Checkpoints.class.getResourceAsStream(CONFIG)) {
        config = (ObjectNode) JSON.readTree(in);
      }
      if (opensBlock) {
        String template = config.get("chat_template").asText();
        if (!template.contains(GENERATION_PROMPT)) {
          throw new IllegalStateException("the Qwen3 template's generation prompt is not where the test expects it");
        }
        config.put("chat_template", template.replace(GENERATION_PROMPT, OPENS_THE_BLOCK));
      }
      JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
