// A fixed set of worker threads for Interpreter::InvokeBatch, started when the interpreter
// is constructed. Run neither creates threads nor allocates, and waiting is on atomics
// (a short spin, then a futex wait through std::atomic::wait), not on a mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace frugal::internal {

class ThreadPool {
 public:
  using TaskFn = void (*)(void* context, std::size_t task);

  // Starts threads - 1 workers; the thread that calls Run is the last one.
  // 2 <= threads <= kMaxTasks.
  explicit ThreadPool(std::size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  static constexpr std::size_t kMaxTasks = 0x1FFF;

  // Threads that run tasks, the calling thread included.
  std::size_t size() const { return workers_.size() + 1; }

  // Runs fn(context, t) once for every t in [0, tasks), 1 <= tasks <= kMaxTasks, and
  // returns when all have finished, so their writes are visible to the caller. Tasks go to
  // whichever thread claims them first, the calling thread included. So a worker that the
  // OS has not scheduled yet delays nothing: the others run its share. One Run at a time.
  void Run(std::size_t tasks, TaskFn fn, void* context);

 private:
  void WorkerLoop();
  // Claims and runs tasks of `generation` until none is left.
  void RunClaimedTasks(std::uint32_t generation);

  // Written by Run before it publishes claim_ (release). A thread reads them only after a
  // successful claim (acquire), which Run waits for before it writes them again.
  TaskFn fn_ = nullptr;
  void* context_ = nullptr;
  // Bits 26..31: the low 6 bits of the current Run's generation; bits 13..25: the next
  // task to claim; bits 0..12: the task count. 32 bits, because ARMv6 has no 64-bit
  // atomics without libatomic. The word is the whole state of the claims, so a
  // compare-exchange from (g, n, t) to (g, n + 1, t) claims task n of whichever Run has
  // the word, even for a thread that slept through 64 Runs. It reads fn_ and context_
  // only after its claim, so it runs that Run's task.
  std::atomic<std::uint32_t> claim_{0};
  std::atomic<std::uint32_t> done_{0};        // tasks of the current Run that finished
  std::atomic<std::uint32_t> generation_{0};  // bumped by every Run, to wake the workers
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

}  // namespace frugal::internal
