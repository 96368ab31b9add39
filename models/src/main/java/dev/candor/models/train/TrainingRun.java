package dev.candor.models.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.tokenizer.ChatTemplate;
import dev.candor.engine.tokenizer.Tokenizer;
import dev.candor.models.task.ProgramGenerator;
import dev.candor.models.task.TaskTokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** A whole training run: batches from the training stream, a progress bar, periodic held-out loss, the checkpoint. */
public final class TrainingRun {
  private TrainingRun() {}

  /** Trains, writes the checkpoint to {@code out}, and returns the run's configuration and metrics. */
  public static ObjectNode run(Qwen2Config shape, Trainer.Settings settings, Tokenizer tokenizer, ChatTemplate template,
      Path out, PrintStream log) throws IOException {
    ObjectNode metrics = new ObjectMapper().createObjectNode();
    ObjectNode s = metrics.putObject("settings");
    s.put("steps", settings.steps());
    s.put("batch", settings.batch());
    s.put("max_length", settings.maxLength());
    s.put("learning_rate", settings.learningRate());
    s.put("min_learning_rate", settings.minLearningRate());
    s.put("warmup", settings.warmup());
    s.put("weight_decay", settings.weightDecay());
    s.put("clip", settings.clip());
    s.put("seed", settings.seed());
    s.put("parameters", shape.parameterCount());
    s.put("optimizer", "AdamW(0.9, 0.95), cosine schedule, global-norm clipping");
    long stream = DefaultModels.trainingStream(settings.seed());
    s.put("data", "trace task, program stream seed " + stream + ", difficulty uniform in [0, 1]");
    TraceBatches train = new TraceBatches(new ProgramGenerator(stream),
        tokenizer, template, settings.maxLength(), 0, 1);
    TraceBatches heldOut = new TraceBatches(new ProgramGenerator(DefaultModels.EVAL_PROGRAMS), tokenizer, template,
        settings.maxLength(), 0, 1);
    List<TraceBatches.Batch> evalBatches = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      evalBatches.add(heldOut.next(32));
    }
    var curve = metrics.putArray("held_out_loss");
    long start = System.nanoTime();
    long tokens = 0;
    double smoothed = Double.NaN;
    int skipped = 0;
    log.printf("training %s: %,d parameters, %d steps of %d rows%n", shape, shape.parameterCount(), settings.steps(),
        settings.batch());
    // Ctrl-C or SIGTERM: stop at the next step boundary and close the trainer before the JVM exits, rather than
    // exiting while libtorch is mid-step (which crashes in its native code). No partial checkpoint is written.
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch closed = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      stop.set(true);
      try {
        closed.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException ignored) {
        // exiting anyway
      }
    });
    Runtime.getRuntime().addShutdownHook(hook);
    try (Trainer trainer = new Trainer(shape, settings)) {
      for (int step = 0; step < settings.steps(); step++) {
        if (stop.get()) {
          log.printf("%ninterrupted at step %d of %d: no checkpoint written%n", step, settings.steps());
          throw new IOException("training interrupted at step " + step);
        }
        TraceBatches.Batch batch = train.next(settings.batch());
        double loss = trainer.trainStep(batch);
        tokens += (long) batch.rows() * batch.length();
        if (Double.isNaN(loss)) {
          skipped++;
        } else {
          smoothed = Double.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (step % 10 == 0 || step == settings.steps() - 1) {
          Trainer.progress(log, step + 1, settings.steps(), smoothed, tokens / elapsed, elapsed);
        }
        if ((step + 1) % Math.max(1, settings.steps() / 10) == 0 || step == settings.steps() - 1) {
          double eval = trainer.evaluate(evalBatches);
          var point = curve.addObject();
          point.put("step", step + 1);
          point.put("loss", eval);
          log.printf("%n  step %d: held-out loss %.4f%n", step + 1, eval);
        }
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      metrics.put("training_seconds", elapsed);
      metrics.put("tokens_per_second", tokens / elapsed);
      metrics.put("skipped_steps", skipped);
      metrics.put("final_train_loss", smoothed);
      trainer.save(out, List.of(TaskTokenizer.IM_END, TaskTokenizer.ENDOFTEXT));
    } finally {
      closed.countDown();
      if (!stop.get()) {
        Runtime.getRuntime().removeShutdownHook(hook);
      }
    }
    return metrics;
  }
}
