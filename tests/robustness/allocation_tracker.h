// Records the largest single operator new request while tracking is on, so a test can
// show that a loader rejected a file before allocating what the file claims.
#pragma once

#include <cstddef>

namespace frugal::testing {

void StartTrackingAllocations();
// Stops tracking and returns the largest request, in bytes, since the start.
std::size_t StopTrackingAllocations();

}  // namespace frugal::testing
