// The results of one frugal-bench run and their text, JSON and CSV forms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_options.h"
#include "bench_stats.h"
#include "timing_conditions.h"

namespace frugal::bench {

struct MethodResult {
  std::string name;  // stored, frugal_dense, eigen_dense, xnnpack_dense
  double first_us = 0.0;        // the first run after construction, batch 0
  double warmup_mean_us = 0.0;  // 0 when --warmup is 0
  Summary timed;                // per run (one batch), microseconds
  double stored_speedup = 0.0;  // this method's median / the stored model's median
  double max_abs_difference = 0.0;  // largest |output - stored output| on the first batch
  std::size_t buffer_bytes = 0;     // weights and activations this method allocated
  double checksum = 0.0;            // sum of all timed outputs, so no run can be optimized out
};

struct LayerProfile {
  std::string name;
  std::string kernel;
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::uint64_t nonzeros = 0;
  double median_us = 0.0;
  double share = 0.0;  // of the sum of the layers' medians, in [0, 1]
};

struct Report {
  std::string model_path;
  std::size_t file_bytes = 0;
  std::size_t layer_count = 0;
  std::size_t input_size = 0;
  std::size_t output_size = 0;
  std::uint64_t weights = 0;        // sum of rows x cols
  std::uint64_t stored_values = 0;  // values in the file (non-zeros kept by CSR layers)
  std::uint64_t nonzeros = 0;
  double load_ms = 0.0;  // reading the file and verifying it

  std::string machine;
  std::string input_description;
  std::vector<std::string> notes;  // how --threads and --batch apply to each method

  // Resident memory, KiB, from /proc/self/status (VmRSS, VmHWM) or getrusage.
  long rss_before_load_kib = -1;
  long rss_after_load_kib = -1;  // after loading and constructing the stored interpreter
  long peak_rss_kib = -1;        // at the end, with every baseline built
  std::size_t interpreter_bytes = 0;  // buffers of the stored model's interpreter

  TimingConditions conditions;
  std::vector<std::string> warnings;

  std::vector<MethodResult> methods;  // methods[0] is the stored model
  std::vector<LayerProfile> profile;  // empty unless profiled
  std::size_t profile_runs = 0;
};

void PrintText(const Report& report, const Options& options);
void PrintJson(const Report& report, const Options& options);
void PrintCsv(const Report& report, const Options& options);

}  // namespace frugal::bench
