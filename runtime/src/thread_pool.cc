// The worker threads of Interpreter::InvokeBatch.
#include "src/thread_pool.h"

namespace frugal::internal {
namespace {

// Spin iterations before a thread sleeps in std::atomic::wait. Back-to-back batches find
// the workers still spinning and skip the futex wake-up. An idle pool sleeps after an
// estimated 10 to 100 microseconds, depending on the cost of a pause instruction.
constexpr int kSpinIterations = 2000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

// Waits until `value` no longer equals `old`; returns the new value.
std::uint32_t WaitWhileEqual(const std::atomic<std::uint32_t>& value, std::uint32_t old) {
  for (int i = 0; i < kSpinIterations; ++i) {
    const std::uint32_t now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    CpuRelax();
  }
  for (;;) {
    value.wait(old, std::memory_order_acquire);
    const std::uint32_t now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

constexpr std::uint32_t kTaskBits = 13;
constexpr std::uint32_t kTaskMask = (1u << kTaskBits) - 1;
constexpr std::uint32_t kGenerationShift = 2 * kTaskBits;
static_assert(ThreadPool::kMaxTasks == kTaskMask);

// The claim word of claim_: generation (low 6 bits), next task, task count.
constexpr std::uint32_t Pack(std::uint32_t generation, std::uint32_t next, std::uint32_t tasks) {
  return (generation << kGenerationShift) | (next << kTaskBits) | tasks;
}

// The bits of `generation` that Pack keeps.
constexpr std::uint32_t GenerationBits(std::uint32_t generation) {
  return generation & ((1u << (32 - kGenerationShift)) - 1);
}

}  // namespace

ThreadPool::ThreadPool(std::size_t threads) {
  workers_.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) workers_.emplace_back(&ThreadPool::WorkerLoop, this);
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Run(std::size_t tasks, TaskFn fn, void* context) {
  const std::uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  fn_ = fn;
  context_ = context;
  done_.store(0, std::memory_order_relaxed);
  claim_.store(Pack(generation, 0, static_cast<std::uint32_t>(tasks)), std::memory_order_release);
  generation_.store(generation, std::memory_order_release);
  generation_.notify_all();

  RunClaimedTasks(generation);

  const auto total = static_cast<std::uint32_t>(tasks);
  std::uint32_t finished = done_.load(std::memory_order_acquire);
  while (finished != total) finished = WaitWhileEqual(done_, finished);
}

void ThreadPool::RunClaimedTasks(std::uint32_t generation) {
  std::uint32_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t tasks = claim & kTaskMask;
    const std::uint32_t next = (claim >> kTaskBits) & kTaskMask;
    if (claim >> kGenerationShift != GenerationBits(generation) || next >= tasks) return;
    if (!claim_.compare_exchange_weak(claim, Pack(generation, next + 1, tasks), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;  // another thread claimed a task, or a new Run began; claim was reloaded
    }
    fn_(context_, next);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks) done_.notify_one();
    claim = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::WorkerLoop() {
  std::uint32_t seen = 0;
  for (;;) {
    seen = WaitWhileEqual(generation_, seen);
    if (stop_.load(std::memory_order_acquire)) return;
    RunClaimedTasks(seen);
  }
}

}  // namespace frugal::internal
