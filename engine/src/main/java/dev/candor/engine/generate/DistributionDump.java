package dev.candor.engine.generate;

import dev.candor.engine.sampling.SamplingParams;
import dev.candor.engine.sampling.TokenDistribution;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The target's full distribution at every emitted token, written as it is produced, for offline analysis. Compact:
 * the raw logits as float16 (half of float32; a logit's float16 rounding error is below 0.01 nats for |logit| < 16)
 * plus the exact log-partition, so every logprob, entropy or re-sampled distribution can be recomputed.
 *
 * <p>Format (big-endian): magic "CNDR-DST", version 1, vocab size, temperature, top-k, top-p; then per token: index,
 * token id, source ordinal, reported logprob (f64), raw log-partition (f64), vocab float16 logits.
 */
public final class DistributionDump implements DistributionObserver, AutoCloseable {
  private static final long MAGIC = 0x434E44522D445354L; // "CNDR-DST"
  private static final int VERSION = 1;

  /** One token's stored distribution. */
  public record Entry(int index, int token, Source source, double logprob, double logPartition, float[] logits) {
    /** log softmax of the stored (float16-rounded) logits at {@code id}, using the exact stored partition. */
    public double rawLogprob(int id) {
      return logits[id] - logPartition;
    }
  }

  private final DataOutputStream out;
  private final int vocab;

  private DistributionDump(DataOutputStream out, int vocab) {
    this.out = out;
    this.vocab = vocab;
  }

  public static DistributionDump create(Path file, int vocab, SamplingParams params) throws IOException {
    DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
    out.writeLong(MAGIC);
    out.writeInt(VERSION);
    out.writeInt(vocab);
    out.writeDouble(params.temperature());
    out.writeInt(params.topK());
    out.writeDouble(params.topP());
    return new DistributionDump(out, vocab);
  }

  @Override
  public void observe(TokenRecord record, TokenDistribution target) {
    try {
      out.writeInt(record.index());
      out.writeInt(record.token());
      out.writeByte(record.source().ordinal());
      out.writeDouble(record.logprob());
      out.writeDouble(target.logPartition());
      for (int i = 0; i < vocab; i++) {
        out.writeShort(Float.floatToFloat16(i < target.vocabSize() ? target.logit(i) : Float.NEGATIVE_INFINITY));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  /** Reads every entry of a dump. */
  public static List<Entry> read(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file);
        DataInputStream data = new DataInputStream(new java.io.BufferedInputStream(in, 1 << 16))) {
      if (data.readLong() != MAGIC) {
        throw new IOException(file + ": not a Candor distribution dump");
      }
      int version = data.readInt();
      if (version != VERSION) {
        throw new IOException(file + ": dump version " + version + ", this reader knows " + VERSION);
      }
      int vocab = data.readInt();
      data.readDouble();
      data.readInt();
      data.readDouble();
      List<Entry> entries = new ArrayList<>();
      while (true) {
        int index;
        try {
          index = data.readInt();
        } catch (EOFException end) {
          return entries;
        }
        int token = data.readInt();
        Source source = Source.values()[data.readByte()];
        double logprob = data.readDouble();
        double logPartition = data.readDouble();
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
          logits[i] = Float.float16ToFloat(data.readShort());
        }
        entries.add(new Entry(index, token, source, logprob, logPartition, logits));
      }
    }
  }
}
