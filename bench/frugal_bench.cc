// frugal-bench: batch-1 latency of a .frugal model as stored and of the same weights run
// dense by frugal's own dense kernel, timed in alternating rounds in one process.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench_stats.h"
#include "frugal/idx.h"
#include "frugal/runtime.h"

namespace {

constexpr char kUsage[] = R"usage(Usage: frugal-bench MODEL.frugal [options]

Measures the batch-1 latency of MODEL as stored (sparse layers run by the CSR kernel)
and of the same weights expanded to dense and run by frugal's dense kernel. The two
alternate in rounds of 10 runs so that clock or thermal drift affects both alike. Only
the inference is timed (std::chrono::steady_clock); writing the input is not.
Results go to stdout, progress and errors to stderr.

Options:
  --warmup N       Untimed runs of each mode before timing. Default: 200.
  --runs N         Timed runs of each mode, at least 1. Default: 2000.
  --min-seconds S  Keep timing until each mode has at least S seconds of timed runs,
                   even after --runs is reached. Default: 0.
  --input KIND     "random": raw values uniform in [0, 255] times input_scale, from
                   --seed (64 different inputs, cycled). "zeros": an all-zero input.
                   Default: random.
  --images FILE    Cycle through the images of an IDX file instead, each scaled by the
                   model's input_scale. Overrides --input.
  --seed N         Seed of the random input. Default: 1.
  --format FORMAT  "text" for a table, "json" for one JSON object. Default: text.
  -h, --help       Print this help and exit.
)usage";

constexpr std::size_t kRunsPerRound = 10;
constexpr std::size_t kRandomInputs = 64;

struct Options {
  std::string model_path;
  std::uint64_t warmup = 200;
  std::uint64_t runs = 2000;
  double min_seconds = 0.0;
  std::string input_kind = "random";
  std::string images_path;
  std::uint64_t seed = 1;
  bool json = false;
};

void PrintError(const std::string& message) { std::fprintf(stderr, "frugal-bench: %s\n", message.c_str()); }

bool ParseCount(std::string_view flag, const char* text, std::uint64_t min, std::uint64_t* value) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long parsed = std::strtoull(text, &end, 10);
  if (*text == '\0' || *text == '-' || *end != '\0' || errno != 0 || parsed < min) {
    PrintError(std::string(flag) + ": \"" + text + "\" is not an integer in [" + std::to_string(min) + ", " +
               std::to_string(std::numeric_limits<std::uint64_t>::max()) + "]");
    return false;
  }
  *value = parsed;
  return true;
}

bool ParseSeconds(std::string_view flag, const char* text, double* value) {
  char* end = nullptr;
  const double parsed = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || !std::isfinite(parsed) || parsed < 0.0) {
    PrintError(std::string(flag) + ": \"" + text + "\" is not a number of seconds >= 0");
    return false;
  }
  *value = parsed;
  return true;
}

// Returns 0 to run, 1 on a usage error, 2 after --help.
int ParseArguments(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 2;
    }
    if (arg.starts_with("-")) {
      if (i + 1 >= argc) {
        PrintError(std::string(arg) + " needs a value; see --help");
        return 1;
      }
      const char* value = argv[++i];
      const std::string_view text = value;
      bool ok = true;
      if (arg == "--warmup") {
        ok = ParseCount(arg, value, 0, &options->warmup);
      } else if (arg == "--runs") {
        ok = ParseCount(arg, value, 1, &options->runs);
      } else if (arg == "--min-seconds") {
        ok = ParseSeconds(arg, value, &options->min_seconds);
      } else if (arg == "--seed") {
        ok = ParseCount(arg, value, 0, &options->seed);
      } else if (arg == "--images") {
        options->images_path = value;
      } else if (arg == "--input") {
        options->input_kind = value;
        if (text != "random" && text != "zeros") {
          PrintError("--input: \"" + std::string(text) + "\" is not one of random, zeros");
          return 1;
        }
      } else if (arg == "--format") {
        if (text != "text" && text != "json") {
          PrintError("--format: \"" + std::string(text) + "\" is not one of text, json");
          return 1;
        }
        options->json = text == "json";
      } else {
        PrintError("unknown option " + std::string(arg) + "; see --help");
        return 1;
      }
      if (!ok) return 1;
    } else if (options->model_path.empty()) {
      options->model_path = arg;
    } else {
      PrintError("unexpected argument \"" + std::string(arg) + "\"; only one model file is accepted");
      return 1;
    }
  }
  if (options->model_path.empty()) {
    PrintError("missing MODEL.frugal; see --help");
    return 1;
  }
  return 0;
}

// Raw inputs (pixels, or random values in the pixel range) that are scaled into a
// runner's input buffer before each run.
class InputSource {
 public:
  static InputSource Random(std::size_t size, std::uint64_t seed) {
    InputSource source(size, kRandomInputs);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> value(0.0f, 255.0f);
    for (float& v : source.raw_) v = value(rng);
    return source;
  }
  static InputSource Zeros(std::size_t size) { return InputSource(size, 1); }
  static InputSource Images(const frugal::idx::Images& images) {
    InputSource source(images.pixels_per_image(), images.count);
    for (std::size_t i = 0; i < source.raw_.size(); ++i) source.raw_[i] = images.pixels[i];
    return source;
  }

  std::size_t count() const { return count_; }

  // Writes input `index` (modulo count) times `scale` into `input`.
  void Fill(std::size_t index, float scale, std::span<float> input) const {
    const float* raw = raw_.data() + (index % count_) * size_;
    for (std::size_t i = 0; i < size_; ++i) input[i] = raw[i] * scale;
  }

 private:
  InputSource(std::size_t size, std::size_t count) : size_(size), count_(count), raw_(size * count, 0.0f) {}

  std::size_t size_;
  std::size_t count_;
  std::vector<float> raw_;
};

// One way of running the model. The Eigen and XNNPACK baselines will be further
// implementations, timed by the same loop.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::string_view name() const = 0;
  virtual std::span<float> input() = 0;
  virtual void Run() = 0;
  virtual std::span<const float> output() const = 0;
};

class FrugalRunner final : public Runner {
 public:
  FrugalRunner(const frugal::Model& model, frugal::ExecutionMode mode, std::string name)
      : interpreter_(model, {mode}), name_(std::move(name)) {}

  std::string_view name() const override { return name_; }
  std::span<float> input() override { return interpreter_.input(); }
  // The in-place Invoke() returns OK for every verified model; only the copying overload
  // checks an input length.
  void Run() override { (void)interpreter_.Invoke(); }
  std::span<const float> output() const override { return interpreter_.output(); }

 private:
  frugal::Interpreter interpreter_;
  std::string name_;
};

struct Measurement {
  Runner* runner = nullptr;
  std::size_t next_input = 0;
  std::vector<double> samples_us;
  double seconds = 0.0;
  double checksum = 0.0;  // sum of all outputs, so the compiler cannot drop a run
};

// Runs `measurement.runner` on its next input, returns the latency in microseconds.
double TimeOneRun(Measurement& measurement, const InputSource& inputs, float scale) {
  Runner& runner = *measurement.runner;
  inputs.Fill(measurement.next_input++, scale, runner.input());
  const auto start = std::chrono::steady_clock::now();
  runner.Run();
  const auto stop = std::chrono::steady_clock::now();
  for (float v : runner.output()) measurement.checksum += v;
  return std::chrono::duration<double, std::micro>(stop - start).count();
}

void Measure(std::vector<Measurement>& measurements, const InputSource& inputs, float scale,
             const Options& options) {
  for (std::uint64_t i = 0; i < options.warmup; ++i) {
    for (Measurement& m : measurements) TimeOneRun(m, inputs, scale);
  }
  for (Measurement& m : measurements) {
    m.next_input = 0;
    m.checksum = 0.0;
    m.samples_us.reserve(options.runs);
  }

  auto done = [&](const Measurement& m) {
    return m.samples_us.size() >= options.runs && m.seconds >= options.min_seconds;
  };
  for (std::size_t round = 0;; ++round) {
    bool all_done = true;
    for (const Measurement& m : measurements) all_done = all_done && done(m);
    if (all_done) break;
    // Alternate the order each round so that neither mode always runs right after the other.
    for (std::size_t k = 0; k < measurements.size(); ++k) {
      const std::size_t index = round % 2 == 0 ? k : measurements.size() - 1 - k;
      Measurement& m = measurements[index];
      for (std::size_t j = 0; j < kRunsPerRound; ++j) {
        const double us = TimeOneRun(m, inputs, scale);
        m.samples_us.push_back(us);
        m.seconds += us * 1e-6;
      }
    }
  }
}

// Largest |a - b| between the two runners' outputs on input 0.
double MaxOutputDifference(Runner& a, Runner& b, const InputSource& inputs, float scale) {
  inputs.Fill(0, scale, a.input());
  inputs.Fill(0, scale, b.input());
  a.Run();
  b.Run();
  double max_diff = 0.0;
  for (std::size_t i = 0; i < a.output().size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a.output()[i]) - b.output()[i]));
  }
  return max_diff;
}

struct ModelTotals {
  std::uint64_t weights = 0;        // sum of input_size x output_size
  std::uint64_t stored_values = 0;  // values in the file (nnz for CSR layers)
  std::uint64_t nonzeros = 0;
};

ModelTotals CountWeights(const frugal::Model& model) {
  ModelTotals totals;
  for (std::size_t i = 0; i < model.layer_count(); ++i) {
    const frugal::LayerInfo& layer = model.layer(i);
    totals.weights += std::uint64_t{layer.input_size} * layer.output_size;
    totals.stored_values += layer.stored_values;
    totals.nonzeros += layer.nonzeros;
  }
  return totals;
}

std::string JsonString(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

struct Report {
  const frugal::Model* model = nullptr;
  ModelTotals totals;
  std::string input_description;
  double max_output_difference = 0.0;
  std::vector<std::string> names;
  std::vector<frugal::bench::Summary> summaries;
  std::vector<double> checksums;
  double speedup = 0.0;  // median dense / median stored
};

void PrintText(const Report& report, const Options& options) {
  const frugal::Model& model = *report.model;
  std::printf("model: %s, %zu bytes, %zu layers, %zu inputs, %zu outputs\n", model.source_name().c_str(),
              model.file_bytes(), model.layer_count(), model.input_size(), model.output_size());
  std::printf("weights: %llu, stored values: %llu, non-zeros: %llu (%.2f%%)\n",
              static_cast<unsigned long long>(report.totals.weights),
              static_cast<unsigned long long>(report.totals.stored_values),
              static_cast<unsigned long long>(report.totals.nonzeros),
              100.0 * static_cast<double>(report.totals.nonzeros) / static_cast<double>(report.totals.weights));
  std::printf("input: %s; warmup %llu, at least %llu timed runs per mode\n", report.input_description.c_str(),
              static_cast<unsigned long long>(options.warmup), static_cast<unsigned long long>(options.runs));
  std::printf("%-8s %8s %10s %10s %10s %10s %10s\n", "mode", "runs", "median_us", "min_us", "mean_us", "p90_us",
              "stddev_us");
  for (std::size_t i = 0; i < report.names.size(); ++i) {
    const frugal::bench::Summary& s = report.summaries[i];
    std::printf("%-8s %8zu %10.3f %10.3f %10.3f %10.3f %10.3f\n", report.names[i].c_str(), s.count, s.median, s.min,
                s.mean, s.p90, s.stddev);
  }
  std::printf("speed-up dense/stored (median): %.2fx\n", report.speedup);
  std::printf("max |stored - dense| output difference: %.3g\n", report.max_output_difference);
}

void PrintJson(const Report& report, const Options& options) {
  const frugal::Model& model = *report.model;
  std::string json = "{";
  json += "\"model\": " + JsonString(model.source_name());
  json += ", \"file_bytes\": " + std::to_string(model.file_bytes());
  json += ", \"layers\": " + std::to_string(model.layer_count());
  json += ", \"input_size\": " + std::to_string(model.input_size());
  json += ", \"output_size\": " + std::to_string(model.output_size());
  json += ", \"weights\": " + std::to_string(report.totals.weights);
  json += ", \"stored_values\": " + std::to_string(report.totals.stored_values);
  json += ", \"nonzeros\": " + std::to_string(report.totals.nonzeros);
  json += ", \"input\": " + JsonString(report.input_description);
  json += ", \"warmup\": " + std::to_string(options.warmup);
  json += ", \"min_runs\": " + std::to_string(options.runs);
  json += ", \"results\": [";
  for (std::size_t i = 0; i < report.names.size(); ++i) {
    const frugal::bench::Summary& s = report.summaries[i];
    if (i > 0) json += ", ";
    json += "{\"mode\": " + JsonString(report.names[i]);
    json += ", \"runs\": " + std::to_string(s.count);
    json += ", \"median_us\": " + JsonNumber(s.median);
    json += ", \"min_us\": " + JsonNumber(s.min);
    json += ", \"mean_us\": " + JsonNumber(s.mean);
    json += ", \"p90_us\": " + JsonNumber(s.p90);
    json += ", \"stddev_us\": " + JsonNumber(s.stddev);
    json += ", \"checksum\": " + JsonNumber(report.checksums[i]) + "}";
  }
  json += "]";
  json += ", \"speedup_dense_over_stored\": " + JsonNumber(report.speedup);
  json += ", \"max_output_difference\": " + JsonNumber(report.max_output_difference);
  json += "}\n";
  std::fputs(json.c_str(), stdout);
}

int Run(const Options& options) {
  std::unique_ptr<frugal::Model> model;
  if (frugal::Status status = frugal::Model::FromFile(options.model_path, &model); !status.ok()) {
    PrintError(status.message());
    return 1;
  }

  Report report;
  report.model = model.get();
  report.totals = CountWeights(*model);
  InputSource inputs = InputSource::Zeros(model->input_size());
  if (!options.images_path.empty()) {
    const frugal::idx::Images images = frugal::idx::ReadImages(options.images_path);
    if (images.pixels_per_image() != model->input_size()) {
      PrintError(options.images_path + ": " + std::to_string(images.rows) + " x " + std::to_string(images.cols) +
                 " = " + std::to_string(images.pixels_per_image()) + " pixels per image does not match " +
                 options.model_path + "'s input_size = " + std::to_string(model->input_size()));
      return 1;
    }
    if (images.count == 0) {
      PrintError(options.images_path + ": contains 0 images; need at least 1");
      return 1;
    }
    inputs = InputSource::Images(images);
    report.input_description = "images from " + options.images_path + " (" + std::to_string(images.count) + ")";
  } else if (options.input_kind == "random") {
    inputs = InputSource::Random(model->input_size(), options.seed);
    report.input_description = "random, seed " + std::to_string(options.seed);
  } else {
    report.input_description = "zeros";
  }

  FrugalRunner stored(*model, frugal::ExecutionMode::kAsStored, "stored");
  FrugalRunner dense(*model, frugal::ExecutionMode::kDense, "dense");
  const float scale = model->input_scale();
  report.max_output_difference = MaxOutputDifference(stored, dense, inputs, scale);

  std::vector<Measurement> measurements(2);
  measurements[0].runner = &stored;
  measurements[1].runner = &dense;
  std::fprintf(stderr, "frugal-bench: timing %s: %llu warm-up and at least %llu timed runs per mode\n",
               model->source_name().c_str(), static_cast<unsigned long long>(options.warmup),
               static_cast<unsigned long long>(options.runs));
  Measure(measurements, inputs, scale, options);

  for (const Measurement& m : measurements) {
    report.names.emplace_back(m.runner->name());
    report.summaries.push_back(frugal::bench::Summarize(m.samples_us));
    report.checksums.push_back(m.checksum);
  }
  report.speedup = report.summaries[0].median > 0.0 ? report.summaries[1].median / report.summaries[0].median
                                                    : std::numeric_limits<double>::infinity();
  if (options.json) {
    PrintJson(report, options);
  } else {
    PrintText(report, options);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int parsed = ParseArguments(argc, argv, &options); parsed != 0) return parsed == 2 ? 0 : 1;
  try {
    return Run(options);
  } catch (const frugal::idx::IdxError& error) {
    PrintError(error.what());
  } catch (const std::exception& error) {
    PrintError(std::string("unexpected error: ") + error.what());
  }
  return 1;
}
