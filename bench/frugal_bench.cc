// frugal-bench: the latency of a .frugal model as stored, side by side with the same
// weights run dense by frugal, Eigen and XNNPACK, timed in alternating rounds in one
// process, with a per-layer profile, memory figures and timing-condition warnings.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench_options.h"
#include "bench_report.h"
#include "bench_stats.h"
#include "dense_weights.h"
#include "frugal/idx.h"
#include "frugal/runtime.h"
#include "runners.h"
#include "timing_conditions.h"

namespace {

using frugal::bench::MethodResult;
using frugal::bench::Options;
using frugal::bench::Report;
using frugal::bench::Runner;

constexpr std::size_t kRunsPerRound = 10;
constexpr std::size_t kRandomInputs = 64;

void PrintError(const std::string& message) { std::fprintf(stderr, "frugal-bench: %s\n", message.c_str()); }

double MicrosecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
}

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or -1 when it cannot be read.
long ReadProcStatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field + ":")) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

long PeakRssKib() {
  if (const long hwm = ReadProcStatusKib("VmHWM"); hwm >= 0) return hwm;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
  return usage.ru_maxrss;  // KiB on Linux
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
    std::copy(images.pixels.begin(), images.pixels.end(), source.raw_.begin());
    return source;
  }

  // Writes inputs first, first + 1, ... (modulo the count) times `scale` into the
  // consecutive samples of `batch`.
  void Fill(std::size_t first, float scale, std::span<float> batch) const {
    for (std::size_t b = 0; b * size_ < batch.size(); ++b) {
      const float* raw = raw_.data() + ((first + b) % count_) * size_;
      float* sample = batch.data() + b * size_;
      for (std::size_t i = 0; i < size_; ++i) sample[i] = raw[i] * scale;
    }
  }

 private:
  InputSource(std::size_t size, std::size_t count) : size_(size), count_(count), raw_(size * count, 0.0f) {}

  std::size_t size_;
  std::size_t count_;
  std::vector<float> raw_;
};

struct Measurement {
  Runner* runner = nullptr;
  std::size_t next_input = 0;
  std::vector<double> samples_us;
  double seconds = 0.0;
  double checksum = 0.0;
};

// Runs `m.runner` on its next batch of inputs; returns the latency in microseconds.
double TimeOneRun(Measurement& m, const InputSource& inputs, float scale) {
  Runner& runner = *m.runner;
  inputs.Fill(m.next_input, scale, runner.input());
  m.next_input += runner.batch();
  const auto start = std::chrono::steady_clock::now();
  runner.Run();
  const double us = MicrosecondsSince(start);
  for (float v : runner.output()) m.checksum += v;
  return us;
}

// Warms every runner up, then times them in rounds of kRunsPerRound runs, alternating
// the order each round so that no method always runs right after the same other one.
void Measure(std::vector<Measurement>& measurements, std::vector<MethodResult>& results, const InputSource& inputs,
             float scale, const Options& options) {
  for (std::uint64_t i = 0; i < options.warmup; ++i) {
    for (std::size_t k = 0; k < measurements.size(); ++k) {
      results[k].warmup_mean_us += TimeOneRun(measurements[k], inputs, scale) / static_cast<double>(options.warmup);
    }
  }
  for (Measurement& m : measurements) {
    m.next_input = 0;
    m.checksum = 0.0;
    m.samples_us.reserve(static_cast<std::size_t>(options.runs));
  }

  auto done = [&](const Measurement& m) {
    return m.samples_us.size() >= options.runs && m.seconds >= options.min_seconds;
  };
  for (std::size_t round = 0;; ++round) {
    if (std::all_of(measurements.begin(), measurements.end(), done)) break;
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

// Largest |a - b| over two output batches of the same length.
double MaxAbsDifference(std::span<const float> a, std::span<const float> b) {
  double max_diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return max_diff;
}

// The kernels one layer ran, with how many runs each, in order of first use.
using KernelCounts = std::vector<std::pair<std::string, std::size_t>>;

void CountKernel(std::string_view name, KernelCounts* counts) {
  for (auto& [kernel, count] : *counts) {
    if (kernel == name) {
      ++count;
      return;
    }
  }
  counts->emplace_back(std::string(name), 1);
}

// One kernel's name, or for a layer that kAuto ran with several (a CSC layer chooses per
// input), each name with its share of the runs, such as
// "f32_cscmv__scalar:97%+f32_gemv_4x__avx2:3%". No spaces, so the text table keeps its columns.
std::string DescribeKernels(const KernelCounts& counts, std::size_t runs) {
  if (counts.size() == 1) return counts.front().first;
  std::string text;
  for (const auto& [kernel, count] : counts) {
    if (!text.empty()) text += "+";
    const double percent = 100.0 * static_cast<double>(count) / static_cast<double>(runs);
    text += kernel + ":" + std::to_string(static_cast<int>(std::lround(percent))) + "%";
  }
  return text;
}

// Times every layer of the stored model on its own, one input after another, and returns
// each layer's median and the kernels it ran.
std::vector<frugal::bench::LayerProfile> ProfileLayers(const frugal::Model& model, frugal::Interpreter& interpreter,
                                                       const InputSource& inputs, float scale, std::size_t runs) {
  const std::size_t layers = model.layer_count();
  std::vector<std::vector<double>> samples(layers);
  std::vector<KernelCounts> kernels(layers);
  for (std::size_t run = 0; run < runs; ++run) {
    inputs.Fill(run, scale, interpreter.input());
    for (std::size_t i = 0; i < layers; ++i) {
      const auto start = std::chrono::steady_clock::now();
      interpreter.InvokeLayer(i);
      samples[i].push_back(MicrosecondsSince(start));
      CountKernel(interpreter.kernel_name(i), &kernels[i]);
    }
  }
  std::vector<frugal::bench::LayerProfile> profile(layers);
  double total = 0.0;
  for (std::size_t i = 0; i < layers; ++i) {
    const frugal::LayerInfo& info = model.layer(i);
    profile[i].name = info.name;
    profile[i].kernel = DescribeKernels(kernels[i], runs);
    profile[i].rows = info.output_size;
    profile[i].cols = info.input_size;
    profile[i].nonzeros = info.nonzeros;
    profile[i].median_us = frugal::bench::Summarize(samples[i]).median;
    total += profile[i].median_us;
  }
  for (frugal::bench::LayerProfile& layer : profile) layer.share = total > 0.0 ? layer.median_us / total : 0.0;
  return profile;
}

#if FRUGAL_BENCH_WITH_EIGEN || FRUGAL_BENCH_WITH_XNNPACK
// Reads and re-verifies the model file for the Eigen and XNNPACK baselines, which take
// their weights from the FlatBuffer rather than from the runtime. Returns false after
// printing an error.
bool ReadDenseLayers(const std::string& path, std::vector<frugal::bench::DenseLayer>* layers) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  std::unique_ptr<frugal::Model> check;
  if (frugal::Status status = frugal::Model::FromBuffer(bytes.data(), bytes.size(), &check, {}, path); !status.ok()) {
    PrintError("re-reading for the baselines: " + status.message());
    return false;
  }
  *layers = frugal::bench::ExtractDenseLayers(bytes.data(), bytes.size());
  return true;
}
#endif

// Loads --dense-model and checks that its input size, output size and input_scale match
// the model's; returns false after printing an error.
bool LoadDenseModel(const Options& options, const frugal::Model& model, std::unique_ptr<frugal::Model>* dense) {
  if (frugal::Status status = frugal::Model::FromFile(options.dense_model_path, dense); !status.ok()) {
    PrintError("--dense-model: " + status.message());
    return false;
  }
  const frugal::Model& other = **dense;
  const auto mismatch = [&](const char* field, const std::string& dense_value, const std::string& model_value) {
    PrintError("--dense-model " + options.dense_model_path + ": " + field + " = " + dense_value + " differs from " +
               options.model_path + "'s " + model_value + "; it must be the same network");
    return false;
  };
  if (other.input_size() != model.input_size()) {
    return mismatch("input_size", std::to_string(other.input_size()), std::to_string(model.input_size()));
  }
  if (other.output_size() != model.output_size()) {
    return mismatch("output_size", std::to_string(other.output_size()), std::to_string(model.output_size()));
  }
  if (other.input_scale() != model.input_scale()) {
    return mismatch("input_scale", std::to_string(other.input_scale()), std::to_string(model.input_scale()));
  }
  return true;
}

// Checks that every method's first output is within 1e-4 * max(1, largest |output|) of
// the stored model's, so that --dense-model cannot time a different network; returns
// false after printing an error.
bool SameFunction(const Options& options, const std::vector<MethodResult>& methods,
                  const std::vector<float>& stored_output) {
  float largest = 0.0f;
  for (const float value : stored_output) largest = std::max(largest, std::fabs(value));
  const double limit = 1e-4 * std::max(largest, 1.0f);
  for (const MethodResult& method : methods) {
    if (method.max_abs_difference <= limit) continue;
    PrintError("--dense-model " + options.dense_model_path + ": " + method.name + "'s output differs from " +
               options.model_path + "'s by " + std::to_string(method.max_abs_difference) + ", more than " +
               std::to_string(limit) + "; it must be the same network");
    return false;
  }
  return true;
}

// Builds the inputs described by the options; returns false after printing an error.
bool MakeInputs(const Options& options, const frugal::Model& model, InputSource* inputs, std::string* description) {
  if (!options.images_path.empty()) {
    const frugal::idx::Images images = frugal::idx::ReadImages(options.images_path);
    if (images.pixels_per_image() != model.input_size()) {
      PrintError(options.images_path + ": " + std::to_string(images.rows) + " x " + std::to_string(images.cols) +
                 " = " + std::to_string(images.pixels_per_image()) + " pixels per image does not match " +
                 options.model_path + "'s input_size = " + std::to_string(model.input_size()));
      return false;
    }
    if (images.count == 0) {
      PrintError(options.images_path + ": contains 0 images; need at least 1");
      return false;
    }
    *inputs = InputSource::Images(images);
    *description = "images from " + options.images_path + " (" + std::to_string(images.count) + ")";
  } else if (options.input == frugal::bench::InputKind::kRandom) {
    *inputs = InputSource::Random(model.input_size(), options.seed);
    *description = "random, seed " + std::to_string(options.seed);
  } else {
    *inputs = InputSource::Zeros(model.input_size());
    *description = "zeros";
  }
  return true;
}

void FillModelFacts(const frugal::Model& model, Report* report) {
  report->model_path = model.source_name();
  report->file_bytes = model.file_bytes();
  report->layer_count = model.layer_count();
  report->input_size = model.input_size();
  report->output_size = model.output_size();
  for (std::size_t i = 0; i < model.layer_count(); ++i) {
    const frugal::LayerInfo& layer = model.layer(i);
    report->weights += std::uint64_t{layer.input_size} * layer.output_size;
    report->stored_values += layer.stored_values;
    report->nonzeros += layer.nonzeros;
  }
}

// Adds one note per option (--threads, --batch) that the methods apply differently.
void AddNotes(const Options& options, Report* report) {
  if (!options.dense_model_path.empty()) {
    report->notes.push_back("--dense-model: frugal_dense, Eigen and XNNPACK run the weights of " +
                            options.dense_model_path + ", not the stored model's");
  }
  if (options.threads > 1) {
    report->notes.push_back("--threads " + std::to_string(options.threads) +
                            ": stored and frugal_dense run InvokeBatch on up to that many threads (one per 16 "
                            "samples), XNNPACK on a pthreadpool of that size; Eigen runs on 1 thread");
  }
  if (options.batch > 1) {
    report->notes.push_back("--batch " + std::to_string(options.batch) +
                            ": stored and frugal_dense run one InvokeBatch, Eigen and XNNPACK one batch product; "
                            "times are per batch, and inferences per second are batch / median");
  }
  if (!FRUGAL_BENCH_WITH_EIGEN) report->notes.emplace_back("this build has no Eigen baseline");
  if (!FRUGAL_BENCH_WITH_XNNPACK) report->notes.emplace_back("this build has no XNNPACK baseline");
}

int Run(const Options& options) {
  Report report;
  report.rss_before_load_kib = ReadProcStatusKib("VmRSS");
  const auto load_start = std::chrono::steady_clock::now();
  std::unique_ptr<frugal::Model> model;
  if (frugal::Status status = frugal::Model::FromFile(options.model_path, &model); !status.ok()) {
    PrintError(status.message());
    return 1;
  }
  report.load_ms = MicrosecondsSince(load_start) / 1000.0;
  FillModelFacts(*model, &report);
  // Option parsing caps counts at 2^32 - 1, so they fit size_t on 32-bit boards too.
  const std::size_t batch = static_cast<std::size_t>(options.batch);

  // The stored model comes first: its memory is what the model adds, and its first run
  // is the first inference of a fresh process. It runs in kAuto, the interpreter's default,
  // so CSR layers above their kernel's crossover density run dense, as in deployment.
  std::vector<std::unique_ptr<Runner>> runners;
  const auto threads = static_cast<std::size_t>(options.threads);
  runners.push_back(std::make_unique<frugal::bench::FrugalRunner>(*model, frugal::ExecutionMode::kAuto, "stored",
                                                                  batch, threads));
  report.rss_after_load_kib = ReadProcStatusKib("VmRSS");
  report.interpreter_bytes = static_cast<frugal::bench::FrugalRunner&>(*runners.front()).interpreter().buffer_bytes();
  // Inputs are built after the memory reading so that images do not count as the model's.
  InputSource inputs = InputSource::Zeros(model->input_size());
  if (!MakeInputs(options, *model, &inputs, &report.input_description)) return 1;
  const float scale = model->input_scale();

  std::unique_ptr<frugal::Model> dense_model;
  if (!options.dense_model_path.empty() && !LoadDenseModel(options, *model, &dense_model)) return 1;
  const frugal::Model& dense_source = dense_model ? *dense_model : *model;
  runners.push_back(std::make_unique<frugal::bench::FrugalRunner>(dense_source, frugal::ExecutionMode::kDense,
                                                                  "frugal_dense", batch, threads));
#if FRUGAL_BENCH_WITH_EIGEN || FRUGAL_BENCH_WITH_XNNPACK
  const std::string& dense_path = dense_model ? options.dense_model_path : options.model_path;
  std::vector<frugal::bench::DenseLayer> dense_layers;
  if (!ReadDenseLayers(dense_path, &dense_layers)) return 1;
#endif
#if FRUGAL_BENCH_WITH_EIGEN
  runners.push_back(frugal::bench::MakeEigenDenseRunner(dense_layers, batch));
#endif
#if FRUGAL_BENCH_WITH_XNNPACK
  std::string xnnpack_error;
  if (std::unique_ptr<Runner> xnnpack = frugal::bench::MakeXnnpackRunner(dense_layers, batch, options.threads,
                                                                        &xnnpack_error)) {
    runners.push_back(std::move(xnnpack));
  } else {
    report.warnings.push_back("XNNPACK baseline skipped: " + xnnpack_error);
  }
#endif
  AddNotes(options, &report);
  if (batch > 1) {
    const frugal::Interpreter& stored = static_cast<frugal::bench::FrugalRunner&>(*runners.front()).interpreter();
    std::string kernels;
    for (std::size_t i = 0; i < model->layer_count(); ++i) {
      kernels += (i > 0 ? ", " : "") + std::string(stored.batch_kernel_name(i));
    }
    report.notes.push_back("stored runs InvokeBatch on " + std::to_string(stored.threads()) +
                           " thread(s) with, layer by layer: " + kernels);
  }

  // First runs, all on the first batch of inputs, compared with the stored model.
  std::vector<float> stored_output;
  for (std::size_t k = 0; k < runners.size(); ++k) {
    Runner& runner = *runners[k];
    MethodResult result;
    result.name = runner.name();
    result.buffer_bytes = runner.buffer_bytes();
    inputs.Fill(0, scale, runner.input());
    const auto start = std::chrono::steady_clock::now();
    runner.Run();
    result.first_us = MicrosecondsSince(start);
    if (k == 0) stored_output.assign(runner.output().begin(), runner.output().end());
    result.max_abs_difference = MaxAbsDifference(runner.output(), stored_output);
    report.methods.push_back(result);
  }
  if (dense_model && !SameFunction(options, report.methods, stored_output)) return 1;

  report.conditions = frugal::bench::ReadTimingConditions();
  for (std::string& warning : frugal::bench::TimingWarnings(report.conditions)) report.warnings.push_back(warning);
  for (const std::string& warning : report.warnings) PrintError("warning: " + warning);
  report.machine = frugal::bench::DescribeMachine();

  std::vector<Measurement> measurements(runners.size());
  for (std::size_t k = 0; k < runners.size(); ++k) measurements[k].runner = runners[k].get();
  std::fprintf(stderr, "frugal-bench: timing %zu methods on %s: %llu warm-up and at least %llu timed runs each\n",
               runners.size(), model->source_name().c_str(), static_cast<unsigned long long>(options.warmup),
               static_cast<unsigned long long>(options.runs));
  Measure(measurements, report.methods, inputs, scale, options);

  for (std::size_t k = 0; k < runners.size(); ++k) {
    MethodResult& result = report.methods[k];
    result.timed = frugal::bench::Summarize(measurements[k].samples_us);
    result.checksum = measurements[k].checksum;
  }
  const double stored_median = report.methods.front().timed.median;
  for (MethodResult& result : report.methods) {
    result.stored_speedup = stored_median > 0.0 ? result.timed.median / stored_median
                                                : std::numeric_limits<double>::infinity();
  }

  if (options.profile) {
    auto& stored = static_cast<frugal::bench::FrugalRunner&>(*runners.front());
    report.profile_runs = static_cast<std::size_t>(options.runs);
    report.profile = ProfileLayers(*model, stored.interpreter(), inputs, scale, static_cast<std::size_t>(options.runs));
  }
  report.peak_rss_kib = PeakRssKib();

  switch (options.format) {
    case frugal::bench::OutputFormat::kText: frugal::bench::PrintText(report, options); break;
    case frugal::bench::OutputFormat::kJson: frugal::bench::PrintJson(report, options); break;
    case frugal::bench::OutputFormat::kCsv: frugal::bench::PrintCsv(report, options); break;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string error;
  switch (frugal::bench::ParseArguments(argc, argv, &options, &error)) {
    case frugal::bench::ParseOutcome::kHelp: std::fputs(frugal::bench::kUsage, stdout); return 0;
    case frugal::bench::ParseOutcome::kError: PrintError(error); return 1;
    case frugal::bench::ParseOutcome::kRun: break;
  }
  try {
    return Run(options);
  } catch (const frugal::idx::IdxError& failure) {
    PrintError(failure.what());
  } catch (const std::exception& failure) {
    PrintError(std::string("unexpected error: ") + failure.what());
  }
  return 1;
}
