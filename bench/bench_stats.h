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
  double min = 0.0;
  double median = 0.0;
  double mean = 0.0;
  double p90 = 0.0;     // nearest-rank 90th percentile
  double p99 = 0.0;     // nearest-rank 99th percentile
  double max = 0.0;
  double stddev = 0.0;  // sample standard deviation (n - 1); 0 for one sample
};

// Nearest-rank percentile of ascending `sorted` samples: the smallest sample with at
// least `percent`% of the samples at or below it. `sorted` must not be empty.
inline double NearestRankPercentile(const std::vector<double>& sorted, double percent) {
  const double rank = std::ceil(percent / 100.0 * static_cast<double>(sorted.size()));
  const std::size_t index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

inline Summary Summarize(std::vector<double> samples) {
  Summary summary;
  summary.count = samples.size();
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  summary.min = samples.front();
  summary.max = samples.back();
  summary.median = n % 2 == 1 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  summary.p90 = NearestRankPercentile(samples, 90.0);
  summary.p99 = NearestRankPercentile(samples, 99.0);
  summary.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(n);
  if (n > 1) {
    double squares = 0.0;
    for (double s : samples) squares += (s - summary.mean) * (s - summary.mean);
    summary.stddev = std::sqrt(squares / static_cast<double>(n - 1));
  }
  return summary;
}

}  // namespace frugal::bench
