// The CUDA kernels of Candor's GPU backend (dev.candor.engine.cuda.CudaBackend), in the order a decode step runs them.
//
// Weights and the KV cache are BF16 (Qwen's own dtype), stored as raw uint16 bits; activations, accumulators and the
// residual stream are FP32. A forward pass of n tokens (n = 1 for decode, k + 1 for verification, a chunk of a
// prompt for prefill) is, per layer:
//
//   rmsnorm -> qkv (q|k|v fused, bias, RoPE, k and v into the cache) -> attention -> attention_combine
//           -> gemv(o, += x) -> rmsnorm -> gate_up (gate|up fused, SwiGLU) -> gemv(down, += x)
//
// (a model with an RMSNorm on each head's q and k, Qwen3, runs gemv(q|k|v) -> qkv_finish in place of qkv: the norm
// needs the whole head before the rotation), then rmsnorm, gemv(lm_head) and, for a greedy step, logits_summary.
//
// A row is one new position of one sequence. The n rows of a forward may belong to different sequences (a batched
// forward: decode steps, verify chunks and prefill chunks of several sequences in one pass, every weight read once for
// all of them): the kernels that are per position read each row's token, position and attention splits from `rows`
// (Row[n]) and its sequence's cache for the layer from `caches` (RowCache[n]), both in device memory and never in
// their arguments, so one captured CUDA graph replays every step of the same shape whatever the sequences and
// positions.
//
// The same file compiles for the host with emu/cuda_emu.h (CANDOR_EMULATE): every CUDA thread becomes a fiber, so
// the tests run these kernels, barriers and warp shuffles included, on a CPU (see emu/emu.cpp).

#ifdef CANDOR_EMULATE
#include "emu/cuda_emu.h"
#else
#include <stdint.h>
#endif

typedef uint16_t bf16;

#define NEG_INF __int_as_float(0xff800000)
#define FULL_MASK 0xffffffffu

// Positions one attention block reads (flash-decoding: a long context is split over blocks, then combined).
#define ATTN_CHUNK 256
// Warps per attention block, and the largest head dimension / 32 (head_dim up to 256).
#define ATTN_WARPS 4
#define MAX_DIMS_PER_LANE 8

// Row t of a forward: its token, its position in its sequence, and how many attention blocks its sequence splits a
// head over (a sequence's own count, so a row computes the same sums in a batch as alone).
struct Row {
  int token, position, splits, unused;
};
// Row t's sequence's cache for one layer: keys and values, each [capacity, kv_heads * head_dim] BF16. A forward's
// table holds one RowCache[rows capacity] per layer; a kernel gets its layer's.
struct RowCache {
  bf16* keys;
  bf16* values;
};

__device__ __forceinline__ float bf16_to_f32(bf16 h) { return __uint_as_float(((uint32_t)h) << 16); }

// Round to nearest even, as torch does; NaN stays NaN.
__device__ __forceinline__ bf16 f32_to_bf16(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (bf16)(u >> 16);
}

// The d = head_dim / 32 consecutive BF16 values a lane holds (d = 1 .. 8), in one load where d is 2, 4 or 8: a lane's
// slice then starts at a multiple of d elements, so the 4-, 8- and 16-byte loads are aligned. Other d (head_dim 96,
// 160, 192, 224) start at odd offsets and are read one value at a time.
__device__ __forceinline__ void load_lane_slice(const bf16* p, int dims, float (&v)[MAX_DIMS_PER_LANE]) {
  if (dims == 8) {
    uint4 q = *(const uint4*)p;
    v[0] = __uint_as_float(q.x << 16), v[1] = __uint_as_float(q.x & 0xffff0000u);
    v[2] = __uint_as_float(q.y << 16), v[3] = __uint_as_float(q.y & 0xffff0000u);
    v[4] = __uint_as_float(q.z << 16), v[5] = __uint_as_float(q.z & 0xffff0000u);
    v[6] = __uint_as_float(q.w << 16), v[7] = __uint_as_float(q.w & 0xffff0000u);
  } else if (dims == 4) {
    uint2 q = *(const uint2*)p;
    v[0] = __uint_as_float(q.x << 16), v[1] = __uint_as_float(q.x & 0xffff0000u);
    v[2] = __uint_as_float(q.y << 16), v[3] = __uint_as_float(q.y & 0xffff0000u);
  } else if (dims == 2) {
    uint32_t q = *(const uint32_t*)p;
    v[0] = __uint_as_float(q << 16), v[1] = __uint_as_float(q & 0xffff0000u);
  } else {
    for (int j = 0; j < dims; j++) v[j] = bf16_to_f32(p[j]);
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(FULL_MASK, v, offset);
  return v;
}

// Sum over the block (blockDim.x a multiple of 32); every thread gets the total.
__device__ float block_sum(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < (int)(blockDim.x >> 5) ? partial[lane] : 0.f;
    s = warp_sum(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  float result = total;
  __syncthreads();  // partial and total are free for the next call
  return result;
}

// x[t] = embed_tokens[rows[t].token] for t < gridDim.x; x is [n, hidden].
extern "C" __global__ void embed(const bf16* __restrict__ table, const Row* __restrict__ rows, float* __restrict__ x,
                                 int hidden) {
  int t = blockIdx.x;
  const bf16* row = table + (size_t)rows[t].token * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) x[(size_t)t * hidden + i] = bf16_to_f32(row[i]);
}

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, one block per token; out may be x.
extern "C" __global__ void rmsnorm(const float* x, const float* __restrict__ weight, float* out, int hidden,
                                   float eps) {
  const float* row = x + (size_t)blockIdx.x * hidden;
  float* result = out + (size_t)blockIdx.x * hidden;
  float squares = 0.f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) squares += row[i] * row[i];
  float scale = rsqrtf(block_sum(squares) / hidden + eps);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) result[i] = row[i] * scale * weight[i];
}

// The matrix-vector core of every projection: acc[r][t] = W[row(r)] . x[t] for a warp's R rows and tokens t < n <= N,
// reduced over the warp (every lane gets the sums). W is [*, in] BF16 row-major, x is [n, in] FP32. row(r) < 0: no
// row. Each weight is read once for all n tokens (a verify step costs about what a decode step costs), and each
// input element once for all R rows. Lane l sums elements l*8..l*8+7 of every 256, in the same order whatever N and
// R, so a row's result for a token does not depend on how many tokens or rows share the pass.
//
// Why R: the input is read from L1 by every warp of a block. One row per warp costs N * 32 bytes of input per 16 bytes
// of weight; at N = 8 that is more L1 traffic than an SM's L1 can serve while DRAM streams the weights (128 B/clock
// against about 15 B/clock of DRAM per SM on an H100). Four rows per warp divide it by four.
template <int N, int R, class RowOf>
__device__ __forceinline__ void gemv_core(const bf16* __restrict__ weight, const float* __restrict__ x, int in, int n,
                                          RowOf row_of, float (&acc)[R][N]) {
  int lane = threadIdx.x & 31;
  int row[R];
#pragma unroll
  for (int r = 0; r < R; r++) {
    row[r] = row_of(r);
#pragma unroll
    for (int t = 0; t < N; t++) acc[r][t] = 0.f;
  }
  if ((in & 7) == 0) {
    // 16-byte loads: eight weights per lane, 256 per warp per step
#pragma unroll 2
    for (int i = lane * 8; i < in; i += 256) {
      float wf[R][8];
#pragma unroll
      for (int r = 0; r < R; r++) {
        uint4 packed = row[r] >= 0 ? *(const uint4*)(weight + (size_t)row[r] * in + i) : uint4{0, 0, 0, 0};
        wf[r][0] = __uint_as_float(packed.x << 16);
        wf[r][1] = __uint_as_float(packed.x & 0xffff0000u);
        wf[r][2] = __uint_as_float(packed.y << 16);
        wf[r][3] = __uint_as_float(packed.y & 0xffff0000u);
        wf[r][4] = __uint_as_float(packed.z << 16);
        wf[r][5] = __uint_as_float(packed.z & 0xffff0000u);
        wf[r][6] = __uint_as_float(packed.w << 16);
        wf[r][7] = __uint_as_float(packed.w & 0xffff0000u);
      }
#pragma unroll
      for (int t = 0; t < N; t++) {
        if (t < n) {
          const float4* xt = (const float4*)(x + (size_t)t * in + i);
          float4 a = xt[0], b = xt[1];
#pragma unroll
          for (int r = 0; r < R; r++)
            acc[r][t] += wf[r][0] * a.x + wf[r][1] * a.y + wf[r][2] * a.z + wf[r][3] * a.w + wf[r][4] * b.x +
                         wf[r][5] * b.y + wf[r][6] * b.z + wf[r][7] * b.w;
        }
      }
    }
  } else {
    for (int i = lane; i < in; i += 32) {
      float wi[R];
#pragma unroll
      for (int r = 0; r < R; r++) wi[r] = row[r] >= 0 ? bf16_to_f32(weight[(size_t)row[r] * in + i]) : 0.f;
#pragma unroll
      for (int t = 0; t < N; t++) {
        if (t < n) {
          float xi = x[(size_t)t * in + i];
#pragma unroll
          for (int r = 0; r < R; r++) acc[r][t] += wi[r] * xi;
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; r++)
#pragma unroll
    for (int t = 0; t < N; t++)
      if (t < n) acc[r][t] = warp_sum(acc[r][t]);  // n is the same for the whole warp
}

__device__ __forceinline__ int warp_index() { return blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); }

// y[t][r] (+)= W[r] . x[t] + bias[r] for rows r < rows, tokens t < n: a warp takes R consecutive rows. With
// accumulate, y += (the residual connection, fused into the o and down projections).
template <int N, int R>
__device__ __forceinline__ void gemv_rows(const bf16* __restrict__ weight, const float* __restrict__ bias,
                                          const float* __restrict__ x, float* __restrict__ y, int rows, int in, int n,
                                          int accumulate) {
  int row0 = warp_index() * R;
  if (row0 >= rows) return;  // the whole warp leaves together
  float acc[R][N];
  gemv_core<N, R>(weight, x, in, n, [&](int r) { return row0 + r < rows ? row0 + r : -1; }, acc);
  if ((threadIdx.x & 31) != 0) return;
#pragma unroll
  for (int r = 0; r < R; r++) {
    if (row0 + r >= rows) break;
    float b = bias ? bias[row0 + r] : 0.f;
#pragma unroll
    for (int t = 0; t < N; t++) {
      if (t >= n) break;
      float* out = y + (size_t)t * rows + row0 + r;
      *out = accumulate ? *out + acc[r][t] + b : acc[r][t] + b;
    }
  }
}

// act[t][j] = silu(gate[j] . x[t]) * (up[j] . x[t]), for j < intermediate, from the fused [gate | up] matrix: a warp
// takes R / 2 values of j, each one gate row and its up row, so the two products never leave the registers.
template <int N, int R>
__device__ __forceinline__ void gemv_gate_up(const bf16* __restrict__ weight, const float* __restrict__ x,
                                             float* __restrict__ act, int intermediate, int in, int n) {
  int j0 = warp_index() * (R / 2);
  if (j0 >= intermediate) return;
  float acc[R][N];
  gemv_core<N, R>(weight, x, in, n, [&](int r) {
    int j = j0 + r / 2;
    return j < intermediate ? j + (r & 1) * intermediate : -1;
  }, acc);
  if ((threadIdx.x & 31) != 0) return;
#pragma unroll
  for (int q = 0; q < R / 2; q++) {
    if (j0 + q >= intermediate) break;
#pragma unroll
    for (int t = 0; t < N; t++) {
      if (t >= n) break;
      float g = acc[2 * q][t], u = acc[2 * q + 1][t];
      act[(size_t)t * intermediate + j0 + q] = g / (1.f + __expf(-g)) * u;
    }
  }
}

// The fused q | k | v projection with its bias (null: none), rotary position embedding (rotate-half) on q and k, and
// k and v into row t's cache (caches[t], [capacity, kv_heads * head_dim]) at its position rows[t].position. A warp
// takes R / 2 rotation pairs: rows i and i + head_dim / 2 of one head (of q, k or v; v's pairs are not rotated). q goes to qkv [n, q | k | v] (its k and v
// parts are not written: attention reads the cache). cos/sin: [maxPositions, head_dim / 2].
template <int N, int R>
__device__ __forceinline__ void gemv_qkv(const bf16* __restrict__ weight, const float* __restrict__ bias,
                                         const float* __restrict__ x, float* __restrict__ qkv,
                                         const RowCache* __restrict__ caches, const float* __restrict__ cos_table,
                                         const float* __restrict__ sin_table, const Row* __restrict__ rows, int in,
                                         int n, int heads, int kv_heads, int head_dim) {
  int half = head_dim / 2;
  int pairs = (heads + 2 * kv_heads) * half;
  int p0 = warp_index() * (R / 2);
  if (p0 >= pairs) return;
  float acc[R][N];
  gemv_core<N, R>(weight, x, in, n, [&](int r) {
    int p = p0 + r / 2;
    return p < pairs ? (p / half) * head_dim + p % half + (r & 1) * half : -1;
  }, acc);
  if ((threadIdx.x & 31) != 0) return;
  int q_dim = heads * head_dim, kv_dim = kv_heads * head_dim;
#pragma unroll
  for (int q = 0; q < R / 2; q++) {
    int p = p0 + q;
    if (p >= pairs) break;
    int head = p / half, i = p % half;
    int row1 = head * head_dim + i, row2 = row1 + half;
#pragma unroll
    for (int t = 0; t < N; t++) {
      if (t >= n) break;
      int pos = rows[t].position;
      float x1 = acc[2 * q][t] + (bias ? bias[row1] : 0.f), x2 = acc[2 * q + 1][t] + (bias ? bias[row2] : 0.f);
      if (head < heads + kv_heads) {  // q or k: rotate
        float c = cos_table[(size_t)pos * half + i], s = sin_table[(size_t)pos * half + i];
        float r1 = x1 * c - x2 * s, r2 = x2 * c + x1 * s;
        x1 = r1;
        x2 = r2;
      }
      if (head < heads) {
        qkv[(size_t)t * (q_dim + 2 * kv_dim) + row1] = x1;
        qkv[(size_t)t * (q_dim + 2 * kv_dim) + row2] = x2;
      } else {
        bf16* cache = head < heads + kv_heads ? caches[t].keys : caches[t].values;
        int column = row1 - (head < heads + kv_heads ? q_dim : q_dim + kv_dim);
        cache[(size_t)pos * kv_dim + column] = f32_to_bf16(x1);
        cache[(size_t)pos * kv_dim + column + half] = f32_to_bf16(x2);
      }
    }
  }
}

// The kernels: "1" for one token (decode, drafting: R = 1 row, or one pair, a warp), "8" for up to eight
// (verification of k + 1 <= 8 positions, prefill in chunks of eight: R = 4 rows, or two pairs, a warp).
#define GEMV_ARGS                                                                                                \
  const bf16 *__restrict__ weight, const float *__restrict__ bias, const float *__restrict__ x, float *__restrict__ y, \
      int rows, int in, int n, int accumulate
extern "C" __global__ void gemv1(GEMV_ARGS) { gemv_rows<1, 1>(weight, bias, x, y, rows, in, n, accumulate); }
extern "C" __global__ void gemv8(GEMV_ARGS) { gemv_rows<8, 4>(weight, bias, x, y, rows, in, n, accumulate); }

#define GATE_UP_ARGS \
  const bf16 *__restrict__ weight, const float *__restrict__ x, float *__restrict__ act, int intermediate, int in, int n
extern "C" __global__ void gate_up1(GATE_UP_ARGS) { gemv_gate_up<1, 2>(weight, x, act, intermediate, in, n); }
extern "C" __global__ void gate_up8(GATE_UP_ARGS) { gemv_gate_up<8, 4>(weight, x, act, intermediate, in, n); }

#define QKV_ARGS                                                                                                    \
  const bf16 *__restrict__ weight, const float *__restrict__ bias, const float *__restrict__ x,                  \
      float *__restrict__ qkv, const RowCache *__restrict__ caches, const float *__restrict__ cos_table,           \
      const float *__restrict__ sin_table, const Row *__restrict__ rows, int in, int n, int heads, int kv_heads,     \
      int head_dim
extern "C" __global__ void qkv1(QKV_ARGS) {
  gemv_qkv<1, 2>(weight, bias, x, qkv, caches, cos_table, sin_table, rows, in, n, heads, kv_heads, head_dim);
}
extern "C" __global__ void qkv8(QKV_ARGS) {
  gemv_qkv<8, 4>(weight, bias, x, qkv, caches, cos_table, sin_table, rows, in, n, heads, kv_heads, head_dim);
}

// Prefill in long chunks goes through a GEMM library (cuBLAS) instead of the kernels above: these kernels are what
// the GEMMs leave to do. The GEMMs take BF16 inputs, so the activations are rounded for them, as transformers does.

// out[i] = bf16(in[i]) for i < count.
extern "C" __global__ void to_bf16(const float* __restrict__ in, bf16* __restrict__ out, long long count) {
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride)
    out[i] = f32_to_bf16(in[i]);
}

// After a q | k | v product without RoPE (the prefill GEMM, or gemv for a model with q/k norms): the bias (null:
// none), Qwen3's RMSNorm on each head of q and k (qk_norm = [q_norm | k_norm], [2 * head_dim]; null: none), RoPE on q
// and k, q back into qkv [n, q | k | v], k and v into row t's cache (caches[t]) at rows[t].position. One block per
// row, a warp per head:
// the norm's sum of squares is a warp sum, then each lane rotates its pairs (i, i + head_dim / 2).
extern "C" __global__ void qkv_finish(float* __restrict__ qkv, const float* __restrict__ bias,
                                      const float* __restrict__ qk_norm, const RowCache* __restrict__ caches,
                                      const float* __restrict__ cos_table, const float* __restrict__ sin_table,
                                      const Row* __restrict__ rows, int heads, int kv_heads, int head_dim, float eps) {
  int t = blockIdx.x;
  int pos = rows[t].position;
  int half = head_dim / 2;
  int q_dim = heads * head_dim, kv_dim = kv_heads * head_dim;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  float* row = qkv + (size_t)t * (q_dim + 2 * kv_dim);
  for (int head = warp; head < heads + 2 * kv_heads; head += warps) {  // the whole warp takes the same heads
    float* x = row + head * head_dim;
    const float* b = bias ? bias + head * head_dim : nullptr;
    bool rotated = head < heads + kv_heads;  // q or k
    const float* weight = qk_norm && rotated ? qk_norm + (head < heads ? 0 : head_dim) : nullptr;
    float scale = 1.f;
    if (weight) {
      float squares = 0.f;
      for (int i = lane; i < head_dim; i += 32) {
        float v = x[i] + (b ? b[i] : 0.f);
        squares += v * v;
      }
      scale = rsqrtf(warp_sum(squares) / head_dim + eps);
    }
    for (int i = lane; i < half; i += 32) {
      float x1 = x[i] + (b ? b[i] : 0.f), x2 = x[i + half] + (b ? b[i + half] : 0.f);
      if (weight) {
        x1 = x1 * scale * weight[i];
        x2 = x2 * scale * weight[i + half];
      }
      if (rotated) {
        float c = cos_table[(size_t)pos * half + i], s = sin_table[(size_t)pos * half + i];
        float r1 = x1 * c - x2 * s, r2 = x2 * c + x1 * s;
        x1 = r1;
        x2 = r2;
      }
      if (head < heads) {
        x[i] = x1;
        x[i + half] = x2;
      } else {
        bf16* cache = rotated ? caches[t].keys : caches[t].values;
        int column = head * head_dim + i - (rotated ? q_dim : q_dim + kv_dim);
        cache[(size_t)pos * kv_dim + column] = f32_to_bf16(x1);
        cache[(size_t)pos * kv_dim + column + half] = f32_to_bf16(x2);
      }
    }
  }
}

// After the gate | up GEMM (gate_up [n, gate | up]): act = bf16(silu(gate) * up), the down GEMM's input.
extern "C" __global__ void swiglu_bf16(const float* __restrict__ gate_up, bf16* __restrict__ act, int intermediate,
                                       int n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)n * intermediate) return;
  size_t t = i / intermediate, j = i % intermediate;
  float g = gate_up[t * 2 * intermediate + j];
  float u = gate_up[t * 2 * intermediate + intermediate + j];
  act[i] = f32_to_bf16(g / (1.f + __expf(-g)) * u);
}

// Causal grouped-query attention, split over positions (flash-decoding). Row t attends over positions
// 0..visible-1 of its own sequence's cache (caches[t]; visible = rows[t].position + 1), cut into chunks of
// ATTN_CHUNK; with s = rows[t].splits <= splits, block (head, t, split) reads chunks split, split + s, split + 2s, ...
// of query head `head` (q from qkv [n, q | k | v]) and writes (max score, sum of exponentials, unnormalised
// output[head_dim]) to partial [n, heads, splits, head_dim + 2] at [t][head][split]. Each warp keeps an online softmax
// over every ATTN_WARPS-th position; lane i holds dimensions [i * d, (i + 1) * d), d = head_dim / 32. The grid is
// fixed (captured once), whatever the lengths: a split with no chunk yet, or past its row's s, returns at once.
extern "C" __global__ void attention(const float* __restrict__ qkv, const RowCache* __restrict__ caches,
                                     float* __restrict__ partial, const Row* __restrict__ rows, int heads,
                                     int kv_heads, int head_dim, int splits, float scale) {
  int head = blockIdx.x, t = blockIdx.y, split = blockIdx.z;
  int visible = rows[t].position + 1, row_splits = rows[t].splits;
  if (split >= row_splits || split * ATTN_CHUNK >= visible) return;  // the whole block: before any barrier
  const bf16* keys = caches[t].keys;
  const bf16* values = caches[t].values;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int dims = head_dim >> 5;
  int kv_dim = kv_heads * head_dim;
  int kv_offset = (head / (heads / kv_heads)) * head_dim + lane * dims;
  const float* q = qkv + (size_t)t * (heads * head_dim + 2 * kv_dim) + head * head_dim + lane * dims;

  float qs[MAX_DIMS_PER_LANE], acc[MAX_DIMS_PER_LANE];
#pragma unroll
  for (int j = 0; j < MAX_DIMS_PER_LANE; j++) {
    qs[j] = j < dims ? q[j] * scale : 0.f;
    acc[j] = 0.f;
  }
  float m = NEG_INF, l = 0.f;
  for (int from = split * ATTN_CHUNK; from < visible; from += row_splits * ATTN_CHUNK) {
    int to = min(visible, from + ATTN_CHUNK);
    for (int p = from + warp; p < to; p += ATTN_WARPS) {
      float k[MAX_DIMS_PER_LANE], v[MAX_DIMS_PER_LANE];
      load_lane_slice(keys + (size_t)p * kv_dim + kv_offset, dims, k);
      load_lane_slice(values + (size_t)p * kv_dim + kv_offset, dims, v);  // issued early: it does not wait for k
      float score = 0.f;
#pragma unroll
      for (int j = 0; j < MAX_DIMS_PER_LANE; j++)
        if (j < dims) score += qs[j] * k[j];
      score = warp_sum(score);
      float m_new = fmaxf(m, score);
      float correction = __expf(m - m_new);
      float weight = __expf(score - m_new);
      l = l * correction + weight;
#pragma unroll
      for (int j = 0; j < MAX_DIMS_PER_LANE; j++)
        if (j < dims) acc[j] = acc[j] * correction + weight * v[j];
      m = m_new;
    }
  }

  // merge the warps' softmax states
  __shared__ float warp_m[ATTN_WARPS], warp_l[ATTN_WARPS];
  __shared__ float warp_acc[ATTN_WARPS][MAX_DIMS_PER_LANE * 32];
  if (lane == 0) {
    warp_m[warp] = m;
    warp_l[warp] = l;
  }
  for (int j = 0; j < dims; j++) warp_acc[warp][lane * dims + j] = acc[j];
  __syncthreads();
  float block_m = NEG_INF;
  for (int w = 0; w < ATTN_WARPS; w++) block_m = fmaxf(block_m, warp_m[w]);
  float* out = partial + ((size_t)(t * heads + head) * splits + split) * (head_dim + 2);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float sum = 0.f;
    for (int w = 0; w < ATTN_WARPS; w++)
      if (warp_m[w] != NEG_INF) sum += warp_acc[w][d] * __expf(warp_m[w] - block_m);
    out[2 + d] = sum;
  }
  if (threadIdx.x == 0) {
    float sum = 0.f;
    for (int w = 0; w < ATTN_WARPS; w++)
      if (warp_m[w] != NEG_INF) sum += warp_l[w] * __expf(warp_m[w] - block_m);
    out[0] = block_m;
    out[1] = sum;
  }
}

// out [n, heads * head_dim] at [t][head] = the splits of `attention` (partial [n, heads, splits, head_dim + 2]) that
// hold positions of row t, merged and normalised. Block (head, t).
extern "C" __global__ void attention_combine(const float* __restrict__ partial, float* __restrict__ out,
                                             const Row* __restrict__ rows, int heads, int head_dim, int splits) {
  int head = blockIdx.x, t = blockIdx.y;
  int used = min(rows[t].splits, (rows[t].position + 1 + ATTN_CHUNK - 1) / ATTN_CHUNK);
  const float* base = partial + (size_t)(t * heads + head) * splits * (head_dim + 2);
  float m = NEG_INF;
  for (int s = 0; s < used; s++) m = fmaxf(m, base[s * (head_dim + 2)]);
  float l = 0.f;
  for (int s = 0; s < used; s++) l += base[s * (head_dim + 2) + 1] * __expf(base[s * (head_dim + 2)] - m);
  float inverse = 1.f / l;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float sum = 0.f;
    for (int s = 0; s < used; s++) sum += base[s * (head_dim + 2) + 2 + d] * __expf(base[s * (head_dim + 2)] - m);
    out[(size_t)t * heads * head_dim + head * head_dim + d] = sum * inverse;
  }
}

// What a greedy step needs of a row of logits, so that these 44 floats cross to the host instead of the vocabulary:
// out = [max logit, log partition, entropy (nats), argmax, SUMMARY_TOP token ids, their logits], ids as int bits,
// best first, ties to the lower id (as the host's TokenDistribution breaks them). One block of SUMMARY_THREADS
// threads per row: each lane keeps its own top list in registers, the warps merge theirs, then warp 0 merges the
// warps'; the sums run in a second pass, shifted by the max.
#define SUMMARY_TOP 20
#define SUMMARY_FLOATS (4 + 2 * SUMMARY_TOP)
#define SUMMARY_THREADS 1024
#define NO_TOKEN 0x7fffffff

__device__ __forceinline__ bool ranks_before(float v, int i, float w, int j) { return v > w || (v == w && i < j); }

// The warp's best SUMMARY_TOP (value, id) pairs from every lane's sorted list, into (out_v, out_i) at lane 0.
// The lists are consumed.
__device__ void warp_merge_top(float (&tv)[SUMMARY_TOP], int (&ti)[SUMMARY_TOP], float* out_v, int* out_i) {
  int lane = threadIdx.x & 31;
  for (int r = 0; r < SUMMARY_TOP; r++) {
    float best_v = tv[0];
    int best_i = ti[0];
    for (int offset = 16; offset > 0; offset >>= 1) {
      float other_v = __shfl_xor_sync(FULL_MASK, best_v, offset);
      int other_i = __shfl_xor_sync(FULL_MASK, best_i, offset);
      if (ranks_before(other_v, other_i, best_v, best_i)) {
        best_v = other_v;
        best_i = other_i;
      }
    }
    if (lane == 0) {
      out_v[r] = best_v;
      out_i[r] = best_i;
    }
    if (ti[0] == best_i && best_i != NO_TOKEN) {  // ids are unique: one lane pops its head
#pragma unroll
      for (int j = 0; j + 1 < SUMMARY_TOP; j++) {
        tv[j] = tv[j + 1];
        ti[j] = ti[j + 1];
      }
      tv[SUMMARY_TOP - 1] = NEG_INF;
      ti[SUMMARY_TOP - 1] = NO_TOKEN;
    }
  }
}

extern "C" __global__ void __launch_bounds__(SUMMARY_THREADS)
    logits_summary(const float* __restrict__ logits, int vocab, float* __restrict__ out) {
  const float* row = logits + (size_t)blockIdx.x * vocab;
  float* result = out + (size_t)blockIdx.x * SUMMARY_FLOATS;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  // this lane's top list, best first
  float tv[SUMMARY_TOP];
  int ti[SUMMARY_TOP];
#pragma unroll
  for (int j = 0; j < SUMMARY_TOP; j++) {
    tv[j] = NEG_INF;
    ti[j] = NO_TOKEN;
  }
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    float v = row[i];
    if (!ranks_before(v, i, tv[SUMMARY_TOP - 1], ti[SUMMARY_TOP - 1])) continue;
    tv[SUMMARY_TOP - 1] = v;
    ti[SUMMARY_TOP - 1] = i;
#pragma unroll
    for (int j = SUMMARY_TOP - 1; j > 0; j--) {  // bubble it up to its place
      if (ranks_before(tv[j], ti[j], tv[j - 1], ti[j - 1])) {
        float sv = tv[j];
        tv[j] = tv[j - 1];
        tv[j - 1] = sv;
        int si = ti[j];
        ti[j] = ti[j - 1];
        ti[j - 1] = si;
      }
    }
  }
  __shared__ float warp_v[32][SUMMARY_TOP];
  __shared__ int warp_i[32][SUMMARY_TOP];
  __shared__ float top_v[SUMMARY_TOP];
  __shared__ int top_i[SUMMARY_TOP];
  warp_merge_top(tv, ti, warp_v[warp], warp_i[warp]);
  __syncthreads();
  if (warp == 0) {
    int warps = blockDim.x >> 5;
#pragma unroll
    for (int j = 0; j < SUMMARY_TOP; j++) {
      tv[j] = lane < warps ? warp_v[lane][j] : NEG_INF;
      ti[j] = lane < warps ? warp_i[lane][j] : NO_TOKEN;
    }
    warp_merge_top(tv, ti, top_v, top_i);
  }
  __syncthreads();

  // Z = sum of exp(l - max), H = log Z - sum of exp(l - max) (l - max) / Z; a -inf logit counts as -1e30
  float max = top_v[0];
  float sum = 0.f, weighted = 0.f;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    float shifted = fmaxf(row[i] - max, -1e30f);
    float e = expf(shifted);
    sum += e;
    weighted += e * shifted;
  }
  sum = block_sum(sum);
  weighted = block_sum(weighted);
  if (threadIdx.x == 0) {
    result[0] = max;
    result[1] = max + logf(sum);
    result[2] = logf(sum) - weighted / sum;
    result[3] = __int_as_float(top_i[0]);
  }
  if (threadIdx.x < SUMMARY_TOP) {
    result[4 + threadIdx.x] = __int_as_float(top_i[threadIdx.x]);
    result[4 + SUMMARY_TOP + threadIdx.x] = top_v[threadIdx.x];
  }
}

#ifdef CANDOR_EMULATE
// Every kernel above, for the emulator's launch table.
#define CANDOR_KERNELS(X) \
  X(embed) X(rmsnorm) X(gemv1) X(gemv8) X(qkv1) X(qkv8) X(attention) X(attention_combine) X(gate_up1) \
  X(gate_up8) X(logits_summary) X(to_bf16) X(qkv_finish) X(swiglu_bf16)
#endif
