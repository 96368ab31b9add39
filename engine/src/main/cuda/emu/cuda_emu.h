// Just enough of CUDA C++ for candor.cu to compile as host C++ and run in emu.cpp's scheduler: every CUDA thread is a
// fiber, blocks run one after another (one launch at a time in the process), so __shared__ variables are plain
// statics, one copy for the block that runs; barriers and warp shuffles switch fibers. Semantics, not speed: a kernel
// that is wrong on a GPU in ways these rules can see (a missing barrier between warps is not one of them) is wrong
// here too, and a deadlock (a barrier some threads never reach) is reported instead of hanging.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>

struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x, y, z; };
struct uint2 { unsigned x, y; };
struct uint4 { unsigned x, y, z, w; };
struct float4 { float x, y, z, w; };

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static

struct EmuFiber;
extern EmuFiber* emu_self;
extern uint3 emu_block_idx;
extern dim3 emu_block_dim;
extern dim3 emu_grid_dim;
uint3 emu_thread_idx();

#define threadIdx (emu_thread_idx())
#define blockIdx (emu_block_idx)
#define blockDim (emu_block_dim)
#define gridDim (emu_grid_dim)

void __syncthreads();
void __syncwarp(unsigned mask = 0xffffffffu);
float __shfl_xor_sync(unsigned mask, float value, int lane_mask);
int __shfl_xor_sync(unsigned mask, int value, int lane_mask);

using std::max;
using std::min;

inline float __uint_as_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
inline float __int_as_float(int32_t i) {
  float f;
  memcpy(&f, &i, 4);
  return f;
}
inline uint32_t __float_as_uint(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
inline float __expf(float x) { return expf(x); }
inline float rsqrtf(float x) { return 1.f / sqrtf(x); }
