// Summary statistics of latency samples for frugal-bench.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

namespace frugal::bench {

// Statistics of one set of samples, in the samples' unit (microseconds in frugal-bench).
struct Summary {
  std::size_t count = 0;
  double median = 0.0;
  double min = 0.0;
  double mean = 0.0;
  double p90 = 0.0;     // nearest-rank 90th percentile
  double stddev = 0.0;  // sample standard deviation (n - 1); 0 for one sample
};

inline Summary Summarize(std::vector<double> samples) {
  Summary summary;
  summary.count = samples.size();
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  summary.min = samples.front();
  summary.median = n % 2 == 1 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  // Nearest rank: the smallest sample with at least 90% of the samples at or below it.
  const std::size_t rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(n)));
  summary.p90 = samples[std::max<std::size_t>(rank, 1) - 1];
  summary.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(n);
  if (n > 1) {
    double squares = 0.0;
    for (double s : samples) squares += (s - summary.mean) * (s - summary.mean);
    summary.stddev = std::sqrt(squares / static_cast<double>(n - 1));
  }
  return summary;
}

}  // namespace frugal::bench
