// Parses and validates frugal-bench's command line.
#include "bench_options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

namespace frugal::bench {

const char kUsage[] = R"usage(Usage: frugal-bench MODEL.frugal [options]

Measures the latency of MODEL as frugal runs it by default (each sparse layer with its
CSR, block CSR or int8 CSR kernel, or expanded to dense when it is too dense for that
kernel to pay, each CSC layer with the CSC kernel on the inputs where skipping zeros
pays, and dense-columns layers as stored) side by side with
the same weights run dense: by frugal's dense kernel and, when this build has
them, by Eigen and by XNNPACK. The methods alternate in rounds of 10 runs in one process,
so clock or thermal drift affects all alike. Only the inference is timed
(std::chrono::steady_clock); writing the inputs is not. All outputs are compared with the
stored model's. Results go to stdout, progress and warnings to stderr.

Options:
  --warmup N       Untimed runs of each method before timing, N >= 0. Default: 200.
  --runs N         Timed runs of each method, N >= 1. Default: 2000.
  --min-seconds S  Keep timing until each method has at least S seconds of timed runs,
                   even after --runs is reached. Default: 0.
  --threads N      Threads of each batch, 1 <= N <= 256: the frugal runtime's InvokeBatch
                   (at most one thread per 16 samples, so batches of 16 or fewer use
                   one) and the XNNPACK baseline's pthreadpool. Eigen runs on 1
                   thread whatever N is. Default: 1.
  --batch N        Samples per timed run, 1 <= N <= 65536. The frugal runtime runs one
                   Interpreter::InvokeBatch, Eigen and XNNPACK one batch-N product. Times
                   are per run, that is per batch; the text report adds inferences per
                   second (N / median). Default: 1.
  --input KIND     "random": raw values uniform in [0, 255] times the model's input_scale,
                   from --seed (64 different inputs, cycled). "zeros": all-zero inputs.
                   Default: random.
  --images FILE    Cycle through the images of an IDX file (plain or gzip) instead, each
                   scaled by the model's input_scale. Overrides --input.
  --seed N         Seed of the random input. Default: 1.
  --format FORMAT  "text": a report with tables. "json": one JSON object. "csv": a header
                   row and one row per method. Default: text.
  --dense-model FILE
                   Run the dense baselines (frugal_dense, Eigen, XNNPACK) on the weights
                   of FILE instead of MODEL's, for example the same network converted
                   with --encoding dense --no-eliminate-dead-units, as it was trained.
                   FILE must compute the same function: the same input size, output
                   size and input_scale, and outputs within 1e-4 * max(1, largest
                   |output|) of MODEL's on the first input. Default: MODEL.
  --profile        Time each layer of the stored model (always done in text output).
                   JSON lists the layers under "profile"; CSV has no profile rows.
                   A layer that ran several kernels lists each with its share of runs.
  -h, --help       Print this help and exit.

Times are in microseconds (us), sizes in bytes, resident memory in KiB.
)usage";

namespace {

constexpr std::uint64_t kMaxCount = std::numeric_limits<std::uint32_t>::max();
// InterpreterOptions::kMaxBatch and kMaxThreads.
constexpr std::uint64_t kMaxBatch = 65536;
constexpr std::uint64_t kMaxThreads = 256;

bool ParseCount(std::string_view flag, std::string_view text, std::uint64_t min, std::uint64_t* value,
                std::string* error, std::uint64_t max = kMaxCount) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const unsigned long long parsed = std::strtoull(copy.c_str(), &end, 10);
  if (copy.empty() || copy.front() == '-' || copy.front() == '+' || copy.front() == ' ' || *end != '\0' ||
      errno != 0 || parsed < min || parsed > max) {
    *error = std::string(flag) + ": \"" + copy + "\" is not an integer in [" + std::to_string(min) + ", " +
             std::to_string(max) + "]";
    return false;
  }
  *value = parsed;
  return true;
}

bool ParseSeconds(std::string_view flag, std::string_view text, double* value, std::string* error) {
  const std::string copy(text);
  char* end = nullptr;
  const double parsed = std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0' || !std::isfinite(parsed) || parsed < 0.0) {
    *error = std::string(flag) + ": \"" + copy + "\" is not a number of seconds >= 0";
    return false;
  }
  *value = parsed;
  return true;
}

}  // namespace

ParseOutcome ParseArguments(int argc, const char* const* argv, Options* options, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    if (i > 1) options->command_line += ' ';
    options->command_line += argv[i];
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return ParseOutcome::kHelp;
    if (arg == "--profile") {
      options->profile = true;
      continue;
    }
    if (!arg.starts_with("-")) {
      if (!options->model_path.empty()) {
        *error = "unexpected argument \"" + std::string(arg) + "\"; only one model file is accepted";
        return ParseOutcome::kError;
      }
      options->model_path = arg;
      continue;
    }
    const bool known = arg == "--warmup" || arg == "--runs" || arg == "--min-seconds" || arg == "--threads" ||
                       arg == "--batch" || arg == "--input" || arg == "--images" || arg == "--seed" ||
                       arg == "--format" || arg == "--dense-model";
    if (!known) {
      *error = "unknown option " + std::string(arg) + "; see --help";
      return ParseOutcome::kError;
    }
    if (i + 1 >= argc) {
      *error = std::string(arg) + " needs a value; see --help";
      return ParseOutcome::kError;
    }
    const std::string_view value = argv[++i];
    bool ok = true;
    if (arg == "--warmup") {
      ok = ParseCount(arg, value, 0, &options->warmup, error);
    } else if (arg == "--runs") {
      ok = ParseCount(arg, value, 1, &options->runs, error);
    } else if (arg == "--min-seconds") {
      ok = ParseSeconds(arg, value, &options->min_seconds, error);
    } else if (arg == "--threads") {
      ok = ParseCount(arg, value, 1, &options->threads, error, kMaxThreads);
    } else if (arg == "--batch") {
      ok = ParseCount(arg, value, 1, &options->batch, error, kMaxBatch);
    } else if (arg == "--seed") {
      ok = ParseCount(arg, value, 0, &options->seed, error);
    } else if (arg == "--images") {
      options->images_path = value;
    } else if (arg == "--dense-model") {
      options->dense_model_path = value;
    } else if (arg == "--input") {
      if (value == "random") {
        options->input = InputKind::kRandom;
      } else if (value == "zeros") {
        options->input = InputKind::kZeros;
      } else {
        *error = "--input: \"" + std::string(value) + "\" is not one of random, zeros";
        ok = false;
      }
    } else if (arg == "--format") {
      if (value == "text") {
        options->format = OutputFormat::kText;
      } else if (value == "json") {
        options->format = OutputFormat::kJson;
      } else if (value == "csv") {
        options->format = OutputFormat::kCsv;
      } else {
        *error = "--format: \"" + std::string(value) + "\" is not one of text, json, csv";
        ok = false;
      }
    }
    if (!ok) return ParseOutcome::kError;
  }
  if (options->model_path.empty()) {
    *error = "missing MODEL.frugal; see --help";
    return ParseOutcome::kError;
  }
  if (options->format == OutputFormat::kText) options->profile = true;
  return ParseOutcome::kRun;
}

}  // namespace frugal::bench
