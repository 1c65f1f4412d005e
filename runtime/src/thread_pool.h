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

  // Starts threads - 1 workers; the thread that calls Run is the last one. threads >= 2.
  explicit ThreadPool(std::size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads that run tasks, the calling thread included.
  std::size_t size() const { return workers_.size() + 1; }

  // Runs fn(context, t) for every t in [0, tasks), tasks <= size(): task 0 on the calling
  // thread and task t on worker t - 1. Returns when every task has finished, so the
  // tasks' writes are visible to the caller. One Run at a time.
  void Run(std::size_t tasks, TaskFn fn, void* context);

 private:
  void WorkerLoop(std::size_t task);

  // Written by Run before it bumps generation_ (release) and read by the workers after
  // they see the new generation (acquire), so plain fields suffice.
  TaskFn fn_ = nullptr;
  void* context_ = nullptr;
  std::size_t tasks_ = 0;
  bool stop_ = false;
  std::atomic<std::uint32_t> generation_{0};
  // Workers that have not yet finished the current generation. Every worker counts down,
  // including those without a task, so none can still read fn_ when Run returns.
  std::atomic<std::uint32_t> pending_{0};
  std::vector<std::thread> workers_;
};

}  // namespace frugal::internal
