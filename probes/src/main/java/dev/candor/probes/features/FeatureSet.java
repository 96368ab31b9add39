package dev.candor.probes.features;

import dev.candor.engine.confidence.ModelIdentity;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cached features of a dataset for one model and some taps: written once by the extractor, read by training and
 * evaluation so they never rerun the model. A small binary format (big-endian, float32 hidden states) with a header
 * naming the model ({@link ModelIdentity}), the taps and the hidden size, so a cache cannot be mixed up with another
 * model's; and which shard of the dataset it holds, so that extraction over a large dataset can run as independent
 * jobs ({@code probe extract --shard i/n}) whose outputs {@link #merge} joins back, checking that every shard is there
 * once.
 *
 * @param model the model the hidden states come from
 * @param taps the Hugging Face hidden-state indices extracted, in the order of {@link ProblemFeatures#hidden}
 * @param hiddenSize width of each hidden state
 * @param shard which part of the dataset this is (0 of 1 for all of it)
 * @param problems one entry per example of the shard (examples with an empty completion are left out)
 */
public record FeatureSet(ModelIdentity model, int[] taps, int hiddenSize, Shard shard, List<ProblemFeatures> problems) {
  private static final long MAGIC = 0x434E44522D464541L; // "CNDR-FEA"
  private static final int VERSION = 2;

  /**
   * Shard {@code index} of {@code count} of a dataset of {@code examples} rows: rows [index·examples/count,
   * (index + 1)·examples/count).
   */
  public record Shard(int index, int count, int examples) {
    public Shard {
      if (count < 1 || index < 0 || index >= count || examples < 0) {
        throw new IllegalArgumentException("shard " + index + "/" + count + " of " + examples + " examples");
      }
    }

    public static Shard all(int examples) {
      return new Shard(0, 1, examples);
    }

    /** Parses "i/n" (0 ≤ i &lt; n) for a dataset of {@code examples} rows. */
    public static Shard parse(String text, int examples) {
      String[] parts = text.split("/");
      try {
        if (parts.length == 2) {
          return new Shard(Integer.parseInt(parts[0].strip()), Integer.parseInt(parts[1].strip()), examples);
        }
      } catch (IllegalArgumentException e) {
        // falls through to the message below
      }
      throw new IllegalArgumentException("--shard must be i/n with 0 <= i < n, got '" + text + "'");
    }

    public int from() {
      return (int) ((long) index * examples / count);
    }

    public int to() {
      return (int) ((long) (index + 1) * examples / count);
    }
  }

  public FeatureSet {
    taps = taps.clone();
    problems = List.copyOf(problems);
  }

  /** A whole dataset's features. */
  public FeatureSet(ModelIdentity model, int[] taps, int hiddenSize, List<ProblemFeatures> problems) {
    this(model, taps, hiddenSize, Shard.all(problems.size()), problems);
  }

  /** The position of {@code tap} in {@link #taps}; fails when it was not extracted. */
  public int tapIndex(int tap) {
    for (int t = 0; t < taps.length; t++) {
      if (taps[t] == tap) {
        return t;
      }
    }
    throw new IllegalArgumentException("tap " + tap + " was not extracted (these features hold " + Arrays.toString(taps)
        + ")");
  }

  /** These features with only the problems {@code keep} accepts (the shard's bookkeeping kept). */
  public FeatureSet filter(java.util.function.Predicate<ProblemFeatures> keep) {
    return new FeatureSet(model, taps, hiddenSize, shard, problems.stream().filter(keep).toList());
  }

  /**
   * Joins the shards of one extraction: every shard of 0..n−1 exactly once, all of the same model, taps, hidden size
   * and dataset size; the result is what one unsharded extraction writes.
   */
  public static FeatureSet merge(List<FeatureSet> shards) {
    if (shards.isEmpty()) {
      throw new IllegalArgumentException("no shards to merge");
    }
    FeatureSet first = shards.getFirst();
    int count = first.shard().count();
    FeatureSet[] byIndex = new FeatureSet[count];
    for (FeatureSet s : shards) {
      if (!s.model().equals(first.model()) || !Arrays.equals(s.taps(), first.taps())
          || s.hiddenSize() != first.hiddenSize() || s.shard().count() != count
          || s.shard().examples() != first.shard().examples()) {
        throw new IllegalArgumentException("shard " + s.shard().index() + "/" + s.shard().count()
            + " is not of the same extraction as shard " + first.shard().index() + "/" + count
            + " (model, taps, hidden size or dataset size differ)");
      }
      if (byIndex[s.shard().index()] != null) {
        throw new IllegalArgumentException("shard " + s.shard().index() + "/" + count + " given twice");
      }
      byIndex[s.shard().index()] = s;
    }
    List<ProblemFeatures> problems = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      if (byIndex[i] == null) {
        throw new IllegalArgumentException("shard " + i + "/" + count + " is missing");
      }
      problems.addAll(byIndex[i].problems());
    }
    return new FeatureSet(first.model(), first.taps(), first.hiddenSize(), Shard.all(first.shard().examples()),
        problems);
  }

  public void write(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
      out.writeLong(MAGIC);
      out.writeInt(VERSION);
      out.writeUTF(model.shape());
      out.writeUTF(model.weights());
      out.writeUTF(model.format());
      out.writeInt(taps.length);
      for (int tap : taps) {
        out.writeInt(tap);
      }
      out.writeInt(hiddenSize);
      out.writeInt(shard.index());
      out.writeInt(shard.count());
      out.writeInt(shard.examples());
      out.writeInt(problems.size());
      for (ProblemFeatures p : problems) {
        FeatureCodec.write(out, p, taps.length);
      }
    }
  }

  public static FeatureSet read(Path file) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      if (in.readLong() != MAGIC) {
        throw new IOException(file + ": not a Candor feature cache");
      }
      int version = in.readInt();
      if (version != VERSION) {
        throw new IOException(file + ": feature cache version " + version + ", expected " + VERSION
            + " (extract the features again)");
      }
      ModelIdentity model = new ModelIdentity(in.readUTF(), in.readUTF(), in.readUTF());
      int[] taps = new int[in.readInt()];
      for (int t = 0; t < taps.length; t++) {
        taps[t] = in.readInt();
      }
      int hidden = in.readInt();
      Shard shard = new Shard(in.readInt(), in.readInt(), in.readInt());
      int count = in.readInt();
      List<ProblemFeatures> problems = new ArrayList<>(count);
      for (int n = 0; n < count; n++) {
        problems.add(FeatureCodec.read(in, taps.length, hidden));
      }
      return new FeatureSet(model, taps, hidden, shard, problems);
    }
  }
}
