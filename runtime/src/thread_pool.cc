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

}  // namespace

ThreadPool::ThreadPool(std::size_t threads) {
  workers_.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) workers_.emplace_back(&ThreadPool::WorkerLoop, this, t);
}

ThreadPool::~ThreadPool() {
  stop_ = true;
  pending_.store(static_cast<std::uint32_t>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Run(std::size_t tasks, TaskFn fn, void* context) {
  fn_ = fn;
  context_ = context;
  tasks_ = tasks;
  pending_.store(static_cast<std::uint32_t>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();

  fn(context, 0);

  std::uint32_t left = pending_.load(std::memory_order_acquire);
  while (left != 0) left = WaitWhileEqual(pending_, left);
}

void ThreadPool::WorkerLoop(std::size_t task) {
  std::uint32_t seen = 0;
  for (;;) {
    seen = WaitWhileEqual(generation_, seen);
    if (stop_) return;
    if (task < tasks_) fn_(context_, task);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

}  // namespace frugal::internal
