// Records the largest single operator new request and the number of requests while
// tracking is on, so a test can show that a loader rejected a file before allocating what
// the file claims, or that an inference allocates nothing.
#pragma once

#include <cstddef>

namespace frugal::testing {

void StartTrackingAllocations();
// Stops tracking and returns the largest request, in bytes, since the start.
std::size_t StopTrackingAllocations();
// The number of operator new requests, from any thread, between the last start and stop.
std::size_t TrackedAllocationCount();

}  // namespace frugal::testing
