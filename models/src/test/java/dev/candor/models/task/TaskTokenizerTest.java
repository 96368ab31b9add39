package dev.candor.models.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The task tokenizer round-trips the task's text, one byte per token, with ChatML specials and template. */
class TaskTokenizerTest {
  @TempDir
  Path dir;

  @Test
  void roundTripsTheTaskTextOneTokenPerByte() throws IOException {
    TaskTokenizer.write(dir);
    try (Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"))) {
      assertEquals(TaskTokenizer.VOCAB, tokenizer.size());
      ProgramGenerator generator = new ProgramGenerator(9);
      for (int i = 0; i < 50; i++) {
        Program p = generator.generate(i, i / 50.0);
        for (String text : new String[] {p.source(), p.trace()}) {
          int[] ids = tokenizer.encode(text);
          byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
          assertEquals(bytes.length, ids.length);
          for (int j = 0; j < ids.length; j++) {
            assertEquals(bytes[j] & 0xff, ids[j]);
          }
          assertEquals(text, tokenizer.decode(ids, false));
        }
      }
      assertEquals("naïve ✓", tokenizer.decode(tokenizer.encode("naïve ✓"), false));
    }
  }

  @Test
  void chatMlSpecialsAndTemplate() throws IOException {
    TaskTokenizer.write(dir);
    ChatTemplate template = ChatTemplate.load(dir.resolve("tokenizer_config.json"));
    String text = template.render(java.util.List.of(new ChatTemplate.Message("user", "Trace this program:\na = 1\n")),
        true);
    assertEquals("<|im_start|>user\nTrace this program:\na = 1\n<|im_end|>\n<|im_start|>assistant\n", text);
    try (Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"))) {
      int[] ids = tokenizer.encode(text);
      assertEquals(TaskTokenizer.IM_START, ids[0]);
      assertEquals(TaskTokenizer.IM_END, tokenizer.addedTokenId("<|im_end|>"));
      assertEquals('u', ids[1]);
      assertArrayEquals(new int[] {TaskTokenizer.IM_START, 'a'}, java.util.Arrays.copyOfRange(ids, ids.length - 11, ids.length - 9));
    }
  }
}
