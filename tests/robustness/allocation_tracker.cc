// Replaces the global operator new of the test executable (only the plain and array
// forms, which std::vector and std::string use) to record the largest request and count
// the requests.
#include "allocation_tracker.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> tracking{false};
std::atomic<std::size_t> largest{0};
std::atomic<std::size_t> count{0};

void* Allocate(std::size_t size) {
  if (tracking.load(std::memory_order_relaxed)) {
    count.fetch_add(1, std::memory_order_relaxed);
    std::size_t seen = largest.load(std::memory_order_relaxed);
    while (size > seen && !largest.compare_exchange_weak(seen, size)) {
    }
  }
  void* memory = std::malloc(size == 0 ? 1 : size);
  if (memory == nullptr) throw std::bad_alloc();
  return memory;
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }

namespace frugal::testing {

void StartTrackingAllocations() {
  largest = 0;
  count = 0;
  tracking = true;
}

std::size_t StopTrackingAllocations() {
  tracking = false;
  return largest.load();
}

std::size_t TrackedAllocationCount() { return count.load(); }

}  // namespace frugal::testing
