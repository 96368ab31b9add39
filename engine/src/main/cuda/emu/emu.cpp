// The emulator: candor.cu's kernels on a CPU, for tests on machines without a GPU. Built by the tests with
//   g++ -O2 -std=c++17 -shared -fPIC -o libcandor_emu.so emu.cpp
// and called through Java's FFM API with the driver's launch convention (an array of pointers to the arguments).
//
// A block's threads are fibers on the calling thread, switched by a dozen instructions of assembly (x86-64 System
// V). The scheduler runs every runnable fiber in turn; a fiber runs until it finishes or waits at a barrier
// (__syncthreads: every live thread of the block; a warp shuffle or __syncwarp: every live thread of its warp).
// When no fiber can run and some have not finished, the kernel has deadlocked: the launch fails with a message.
#define CANDOR_EMULATE
#include "../candor.cu"

#include <stdio.h>
#include <sys/mman.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#if !defined(__x86_64__)
#error "the kernel emulator switches fibers with x86-64 assembly"
#endif

// void emu_switch(void** save_sp, void* load_sp): saves the callee-saved registers on this stack, stores the stack
// pointer, loads the other one and restores its registers.
asm(R"(
.text
.globl emu_switch
.type emu_switch,@function
emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size emu_switch,.-emu_switch
)");
extern "C" void emu_switch(void** save_sp, void* load_sp);

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

struct EmuFiber {
  uint3 thread_idx;
  int warp;
  State state;
  void* sp;
  char* stack;
};

EmuFiber* emu_self;
uint3 emu_block_idx;
dim3 emu_block_dim;
dim3 emu_grid_dim;

uint3 emu_thread_idx() { return emu_self->thread_idx; }

namespace {

constexpr size_t kStackBytes = 16 * 1024;
constexpr size_t kGuardBytes = 4096;  // below each stack, unmapped: an overflow faults instead of corrupting

struct Warp {
  float exchange[2][32];  // shuffles alternate between the two: one barrier per shuffle is enough
  int round[32];
};

struct Scheduler {
  std::vector<EmuFiber> fibers;
  std::vector<Warp> warps;
  void* scheduler_sp = nullptr;
  void (*body)(void**) = nullptr;
  void** args = nullptr;
};
Scheduler scheduler;  // one launch at a time: candor_emu_launch holds `running`
std::mutex running;

void yield_to_scheduler() { emu_switch(&emu_self->sp, scheduler.scheduler_sp); }

[[noreturn]] void fiber_main() {
  scheduler.body(scheduler.args);
  emu_self->state = State::Done;
  yield_to_scheduler();
  __builtin_unreachable();
}

// A fresh stack whose first switch "returns" into fiber_main with the ABI's alignment.
void* initial_stack(char* stack) {
  uintptr_t top = ((uintptr_t)(stack + kStackBytes)) & ~(uintptr_t)15;
  void** sp = (void**)top;
  *--sp = nullptr;               // fiber_main's return address: never used
  *--sp = (void*)&fiber_main;    // where emu_switch's ret goes
  for (int i = 0; i < 6; i++) *--sp = nullptr;  // rbp rbx r12 r13 r14 r15
  return sp;
}

void wait(State barrier) {
  emu_self->state = barrier;
  yield_to_scheduler();
}

// Runs one block; false on deadlock.
bool run_block(int threads) {
  for (int i = 0; i < threads; i++) {
    EmuFiber& f = scheduler.fibers[i];
    f.state = State::Runnable;
    f.sp = initial_stack(f.stack);
  }
  int warps = (threads + 31) / 32;
  for (;;) {
    bool ran = false;
    for (int i = 0; i < threads; i++) {
      EmuFiber& f = scheduler.fibers[i];
      if (f.state != State::Runnable) continue;
      emu_self = &f;
      emu_switch(&scheduler.scheduler_sp, f.sp);
      ran = true;
    }
    // release barriers every live thread of their group has reached
    int live = 0, at_block = 0;
    for (int i = 0; i < threads; i++) {
      State s = scheduler.fibers[i].state;
      live += s != State::Done;
      at_block += s == State::AtBlockBarrier;
    }
    if (live == 0) return true;
    bool released = false;
    if (at_block == live) {
      for (int i = 0; i < threads; i++)
        if (scheduler.fibers[i].state == State::AtBlockBarrier) scheduler.fibers[i].state = State::Runnable;
      released = true;
    }
    for (int w = 0; w < warps; w++) {
      int warp_live = 0, at_warp = 0;
      for (int i = w * 32; i < std::min(threads, w * 32 + 32); i++) {
        State s = scheduler.fibers[i].state;
        warp_live += s != State::Done;
        at_warp += s == State::AtWarpBarrier;
      }
      if (warp_live > 0 && at_warp == warp_live) {
        for (int i = w * 32; i < std::min(threads, w * 32 + 32); i++) scheduler.fibers[i].state = State::Runnable;
        released = true;
      }
    }
    if (!ran && !released) return false;
  }
}

template <typename... A, size_t... I>
void invoke(void (*kernel)(A...), void** args, std::index_sequence<I...>) {
  kernel(*static_cast<A*>(args[I])...);
}

struct Entry {
  const char* name;
  void (*launch)(void**);
};

template <typename F>
struct Arity;
template <typename... A>
struct Arity<void (*)(A...)> {
  static void launch(void (*kernel)(A...), void** args) { invoke(kernel, args, std::index_sequence_for<A...>{}); }
};

#define EMU_KERNEL(name) {#name, [](void** args) { Arity<decltype(&name)>::launch(&name, args); }},
const Entry kEntries[] = {CANDOR_KERNELS(EMU_KERNEL)};

std::string last_error;

}  // namespace

void __syncthreads() { wait(State::AtBlockBarrier); }

void __syncwarp(unsigned) { wait(State::AtWarpBarrier); }

float __shfl_xor_sync(unsigned, float value, int lane_mask) {
  // A lane writes buffer r % 2 only after every lane has passed the barrier of shuffle r - 1, so every lane has
  // finished reading shuffle r - 2, the last one to use that buffer.
  Warp& w = scheduler.warps[emu_self->warp];
  int lane = emu_self->thread_idx.x & 31;
  float* buffer = w.exchange[w.round[lane]++ & 1];
  buffer[lane] = value;
  wait(State::AtWarpBarrier);  // every lane has written
  return buffer[lane ^ lane_mask];
}

int __shfl_xor_sync(unsigned mask, int value, int lane_mask) {
  return (int)__float_as_uint(__shfl_xor_sync(mask, __uint_as_float((uint32_t)value), lane_mask));
}

extern "C" {

// The last launch's error, or "" (read it before the next launch).
const char* candor_emu_error() { return last_error.c_str(); }

// 1 if the emulator has a kernel of this name.
int candor_emu_has(const char* name) {
  for (const Entry& e : kEntries)
    if (strcmp(e.name, name) == 0) return 1;
  return 0;
}

// Runs kernel `name` over the grid; 0 on success, else an error code with candor_emu_error() set.
int candor_emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      unsigned shared_bytes, void** args) {
  std::lock_guard<std::mutex> lock(running);
  last_error.clear();
  const Entry* entry = nullptr;
  for (const Entry& e : kEntries)
    if (strcmp(e.name, name) == 0) entry = &e;
  if (!entry) {
    last_error = std::string("no kernel named ") + name;
    return 1;
  }
  unsigned threads = bx * by * bz;
  if (threads == 0 || threads > 1024 || gx == 0 || gy == 0 || gz == 0 || shared_bytes != 0) {
    last_error = "invalid launch configuration for " + std::string(name);
    return 2;
  }
  if (by != 1 || bz != 1 || bx % 32 != 0) {
    last_error = "the emulator runs one-dimensional blocks of whole warps only";
    return 2;
  }
  Scheduler& s = scheduler;
  while (s.fibers.size() < threads) {
    EmuFiber f{};
    char* region = (char*)mmap(nullptr, kGuardBytes + kStackBytes, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED || mprotect(region, kGuardBytes, PROT_NONE) != 0) {
      last_error = "out of memory for fiber stacks";
      return 3;
    }
    f.stack = region + kGuardBytes;
    s.fibers.push_back(f);
  }
  s.warps.assign((threads + 31) / 32, Warp{});
  for (unsigned i = 0; i < threads; i++) {
    s.fibers[i].thread_idx = {i, 0, 0};
    s.fibers[i].warp = i / 32;
  }
  s.body = entry->launch;
  s.args = args;
  emu_grid_dim = {gx, gy, gz};
  emu_block_dim = {bx, by, bz};
  for (unsigned z = 0; z < gz; z++)
    for (unsigned y = 0; y < gy; y++)
      for (unsigned x = 0; x < gx; x++) {
        emu_block_idx = {x, y, z};
        if (!run_block(threads)) {
          char where[128];
          snprintf(where, sizeof where, " deadlocked in block (%u, %u, %u): a barrier some threads never reach", x, y,
                   z);
          last_error = std::string(name) + where;
          return 4;
        }
      }
  emu_self = nullptr;
  return 0;
}
}
