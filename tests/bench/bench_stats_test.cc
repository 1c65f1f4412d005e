// Summary statistics of latency samples, on samples small enough to check by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "bench_stats.h"

namespace frugal::bench {
namespace {

TEST_CASE("Summarize odd count") {
  // Sorted: 1 2 3 4 5. Mean 3; squared deviations 4 1 0 1 4 sum to 10, so the sample
  // standard deviation is sqrt(10 / 4). Nearest rank: ceil(0.9 * 5) = 5, ceil(0.99 * 5) = 5.
  const Summary s = Summarize({4.0, 1.0, 3.0, 5.0, 2.0});
  CHECK(s.count == 5);
  CHECK(s.min == 1.0);
  CHECK(s.max == 5.0);
  CHECK(s.median == 3.0);
  CHECK(s.mean == 3.0);
  CHECK(s.p90 == 5.0);
  CHECK(s.p99 == 5.0);
  CHECK(s.stddev == doctest::Approx(std::sqrt(10.0 / 4.0)));
}

TEST_CASE("Summarize even count") {
  // 1..10: the median is the mean of 5 and 6. Nearest rank ceil(0.9 * 10) = 9 picks 9 and
  // ceil(0.99 * 10) = 10 picks 10. Squared deviations from 5.5 sum to 82.5.
  std::vector<double> samples;
  for (int i = 10; i >= 1; --i) samples.push_back(i);
  const Summary s = Summarize(samples);
  CHECK(s.median == 5.5);
  CHECK(s.mean == 5.5);
  CHECK(s.p90 == 9.0);
  CHECK(s.p99 == 10.0);
  CHECK(s.stddev == doctest::Approx(std::sqrt(82.5 / 9.0)));
}

TEST_CASE("Summarize percentiles of 1..100") {
  std::vector<double> samples;
  for (int i = 1; i <= 100; ++i) samples.push_back(i);
  const Summary s = Summarize(samples);
  CHECK(s.p90 == 90.0);
  CHECK(s.p99 == 99.0);
  CHECK(s.median == 50.5);
}

TEST_CASE("Summarize one sample") {
  const Summary s = Summarize({7.0});
  CHECK(s.count == 1);
  CHECK(s.min == 7.0);
  CHECK(s.max == 7.0);
  CHECK(s.median == 7.0);
  CHECK(s.p90 == 7.0);
  CHECK(s.p99 == 7.0);
  CHECK(s.stddev == 0.0);
}

TEST_CASE("Summarize no samples") {
  const Summary s = Summarize({});
  CHECK(s.count == 0);
  CHECK(s.median == 0.0);
  CHECK(s.max == 0.0);
}

}  // namespace
}  // namespace frugal::bench
