package dev.candor.engine.cpu;

import dev.candor.engine.checkpoint.Checkpoint;
import dev.candor.engine.checkpoint.CheckpointException;
import dev.candor.engine.checkpoint.DType;
import dev.candor.engine.checkpoint.Qwen2Config;
import dev.candor.engine.checkpoint.Qwen2Tensors;
import dev.candor.engine.checkpoint.Tensor;
import dev.candor.engine.checkpoint.Weights;
import dev.candor.engine.model.WeightFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The Java backend's weights: matrices in their storage format, norms and biases as float32 arrays (they are small).
 * A matrix in the format asked for is, by default, the checkpoint's memory-mapped bytes, used in place: nothing is
 * copied, the page cache holds the file once for every process that maps it, and loading a BF16 model takes the time
 * to read its header ({@link WeightMemory#MAPPED}); or a copy of them in memory of its own
 * ({@link WeightMemory#COPIED}). A matrix in another format (q8_0, or f32 from bf16 to measure) is converted once, at
 * load, into memory of its own. A matrix not used in place gives the file's pages it was read from back.
 *
 * @param embedTokens [vocab, hidden]
 * @param layers the decoder layers
 * @param norm [hidden]
 * @param lmHead [vocab, hidden]; the same matrix as embedTokens when the checkpoint ties them
 * @param file the mapped checkpoint, held open while a matrix lies in it (null otherwise)
 * @param memory the converted and copied matrices' memory
 */
record CpuWeights(Matrix embedTokens, List<Layer> layers, float[] norm, Matrix lmHead, Weights file, Arena memory)
    implements AutoCloseable {

  /**
   * One decoder layer, fields named as the checkpoint names them (shapes in {@link Qwen2Tensors.Layer}); what the
   * model family does not have (Qwen3's biases, Qwen2's q/k norms) is null.
   */
  record Layer(
      float[] inputLayernorm,
      Matrix qProj, float[] qProjBias,
      Matrix kProj, float[] kProjBias,
      Matrix vProj, float[] vProjBias,
      Matrix oProj,
      float[] qNorm, float[] kNorm,
      float[] postAttentionLayernorm,
      Matrix gateProj, Matrix upProj, Matrix downProj) {}

  /**
   * Loads a checkpoint's weights with matrices in {@code format} (null: each as the checkpoint stores it), those in
   * their stored format kept where {@code where} says.
   */
  static CpuWeights load(Checkpoint checkpoint, WeightFormat format, WeightMemory where, Parallel parallel) {
    Qwen2Config c = checkpoint.config();
    Weights file = checkpoint.weights().retain();
    Arena memory = Arena.ofShared();
    try {
      Loader loader = new Loader(format, where, memory, parallel);
      List<Layer> layers = new ArrayList<>();
      for (int l = 0; l < c.numHiddenLayers(); l++) {
        Qwen2Tensors.Layer<Tensor> t = Qwen2Tensors.layer(file, c, l);
        layers.add(new Layer(vector(t.inputLayernorm()),
            loader.matrix(t.qProj()), vector(t.qProjBias()),
            loader.matrix(t.kProj()), vector(t.kProjBias()),
            loader.matrix(t.vProj()), vector(t.vProjBias()),
            loader.matrix(t.oProj()), vector(t.qNorm()), vector(t.kNorm()), vector(t.postAttentionLayernorm()),
            loader.matrix(t.gateProj()), loader.matrix(t.upProj()), loader.matrix(t.downProj())));
      }
      Matrix embed = loader.matrix(Qwen2Tensors.get(file, c, Qwen2Tensors.EMBED_TOKENS));
      Matrix head = c.tieWordEmbeddings() ? embed : loader.matrix(Qwen2Tensors.get(file, c, Qwen2Tensors.LM_HEAD));
      float[] norm = vector(Qwen2Tensors.get(file, c, Qwen2Tensors.NORM));
      if (!loader.mappedAny) {
        file.close();
        file = null;
      }
      return new CpuWeights(embed, List.copyOf(layers), norm, head, file, memory);
    } catch (RuntimeException | Error e) {
      memory.close();
      file.close();
      throw e;
    }
  }

  private static float[] vector(Tensor t) {
    return t == null ? null : t.toFloatArray();
  }

  /**
   * Makes each matrix: in place (or a copy of it) when it is stored in the format asked for, converted otherwise.
   */
  private static final class Loader {
    private final WeightFormat format;
    private final WeightMemory where;
    private final Arena memory;
    private final Parallel parallel;
    boolean mappedAny;

    Loader(WeightFormat format, WeightMemory where, Arena memory, Parallel parallel) {
      this.format = format;
      this.where = where;
      this.memory = memory;
      this.parallel = parallel;
    }

    Matrix matrix(Tensor t) {
      long[] shape = t.shape();
      if (shape[0] > Integer.MAX_VALUE || shape[1] > Integer.MAX_VALUE / 4) {
        throw new CheckpointException(t.file() + ": tensor '" + t.name() + "': shape "
            + java.util.Arrays.toString(shape) + " is too large for the Java backend");
      }
      int rows = (int) shape[0];
      int cols = (int) shape[1];
      WeightFormat own = WeightFormat.of(t.dtype());
      WeightFormat target = format == null ? own : format;
      boolean inPlace = target == own && where == WeightMemory.MAPPED;
      Matrix m;
      if (target == own) {
        MemorySegment data = inPlace ? t.data() : memory.allocate(t.data().byteSize(), 64).copyFrom(t.data());
        m = inPlace(own, rows, cols, data);
        long i = m instanceof F16Matrix f16 ? f16.firstNonFinite() : -1;
        if (i >= 0) {
          throw new CheckpointException(t.file() + ": tensor '" + t.name() + "': an infinity or NaN at [" + i / cols
              + ", " + i % cols + "]; a float16 weight must be finite");
        }
      } else {
        m = switch (target) {
          case Q8_0 -> Q8Matrix.quantize(rows, cols, (r, out) -> t.copyTo((long) r * cols, out, 0, cols), memory,
              parallel);
          case F32, F16, BF16 -> inPlace(target, rows, cols, convert(t, DType.valueOf(target.name()), rows, cols));
        };
      }
      if (inPlace) {
        mappedAny = true;
      } else if (t.data().isMapped()) {
        t.data().unload(); // the file's pages were read once; the process need not hold them
      }
      return m;
    }

    private MemorySegment convert(Tensor t, DType to, int rows, int cols) {
      MemorySegment out = memory.allocate((long) rows * cols * to.bytes, 64);
      int rowsPerChunk = Math.max(1, (1 << 20) / cols);
      parallel.run((rows + rowsPerChunk - 1) / rowsPerChunk, (chunk, worker) -> {
        float[] row = new float[cols];
        for (int r = chunk * rowsPerChunk; r < Math.min(rows, (chunk + 1) * rowsPerChunk); r++) {
          t.copyTo((long) r * cols, row, 0, cols);
          for (int i = 0; i < cols; i++) {
            to.put(out, (long) r * cols + i, row[i]);
          }
        }
      });
      return out;
    }

    private static Matrix inPlace(WeightFormat format, int rows, int cols, MemorySegment data) {
      return switch (format) {
        case F32 -> new F32Matrix(rows, cols, data);
        case F16 -> new F16Matrix(rows, cols, data);
        case BF16 -> new Bf16Matrix(rows, cols, data);
        case Q8_0 -> throw new IllegalStateException("a checkpoint tensor is never stored as q8_0");
      };
    }
  }

  /** Every distinct matrix, lm_head once when tied. */
  List<Matrix> matrices() {
    List<Matrix> all = new ArrayList<>();
    all.add(embedTokens);
    for (Layer l : layers) {
      all.addAll(List.of(l.qProj(), l.kProj(), l.vProj(), l.oProj(), l.gateProj(), l.upProj(), l.downProj()));
    }
    if (lmHead != embedTokens) {
      all.add(lmHead);
    }
    return all;
  }

  /** Bytes a decode step reads: every matrix but the embedding (one row of it), unless it is also the lm_head. */
  long bytesPerToken() {
    long bytes = 0;
    for (Matrix m : matrices()) {
      if (m != embedTokens || lmHead == embedTokens) {
        bytes += m.bytes();
      }
    }
    return bytes;
  }

  /** Bytes of all matrices. */
  long bytes() {
    return matrices().stream().mapToLong(Matrix::bytes).sum();
  }

  @Override
  public void close() {
    memory.close();
    if (file != null) {
      file.close();
    }
  }
}
