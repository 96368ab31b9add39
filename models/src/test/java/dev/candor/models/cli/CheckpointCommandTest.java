package dev.candor.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.candor.engine.cli.EngineCli;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code candor checkpoint --tokenizer DIR}: a DIR that is not a tokenizer is one error line and nothing written. */
class CheckpointCommandTest {
  @TempDir
  Path tmp;

  record Outcome(int status, String err) {}

  static Outcome run(String... args) {
    PrintStream saved = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      return new Outcome(EngineCli.run(new ModelsCli(), args), captured.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(saved);
    }
  }

  @Test
  void aTokenizerDirectoryThatDoesNotExistIsAnError() {
    Path out = tmp.resolve("out");
    Outcome o = run("checkpoint", "--shape", "tiny-odd", "--tokenizer", tmp.resolve("nowhere").toString(), "--out",
        out.toString());
    assertEquals(2, o.status(), o.err());
    assertEquals("error: --tokenizer " + tmp.resolve("nowhere") + ": no such directory", o.err().strip());
    assertFalse(Files.exists(out), "nothing is written");
  }

  @Test
  void aDirectoryWithoutTokenizerJsonIsAnError() throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Files.writeString(empty.resolve("tokenizer_config.json"), "{}");
    Outcome o = run("checkpoint", "--shape", "tiny-odd", "--tokenizer", empty.toString(), "--out",
        tmp.resolve("out").toString());
    assertEquals(2, o.status(), o.err());
    assertTrue(o.err().strip().startsWith("error: --tokenizer " + empty + ": has no tokenizer.json"), o.err());
    assertEquals(1, o.err().strip().lines().count(), o.err());
  }

  @Test
  void aTokenizerWithATemplateFileIsCopiedWithIt() throws IOException {
    Path tokenizer = Files.createDirectories(tmp.resolve("tok"));
    Path source = Path.of("").toAbsolutePath();
    while (!Files.isDirectory(source.resolve("models/tokenizers/qwen2.5"))) {
      source = source.getParent();
    }
    for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
      Files.copy(source.resolve("models/tokenizers/qwen2.5").resolve(f), tokenizer.resolve(f));
    }
    Files.writeString(tokenizer.resolve("chat_template.jinja"), "{{ messages[0].content }}");
    Path out = tmp.resolve("ckpt");
    Outcome o = run("checkpoint", "--shape", "tiny-odd", "--vocab", "151936", "--tokenizer", tokenizer.toString(),
        "--out", out.toString());
    assertEquals(0, o.status(), o.err());
    assertTrue(Files.exists(out.resolve("tokenizer.json")) && Files.exists(out.resolve("chat_template.jinja")));
  }
}
