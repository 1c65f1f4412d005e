// frugal-count: runs exactly N inferences of one method on one model, for counting
// executed instructions under an emulator (bench/count-instructions.sh). Everything
// except the N inferences (loading, input preparation, buffers, one warm-up inference)
// runs whatever N is, so the difference between two runs counts only inferences.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dense_weights.h"
#include "frugal/idx.h"
#include "frugal/runtime.h"
#include "runners.h"

namespace {

using frugal::bench::Runner;

constexpr char kUsage[] = R"usage(Usage: frugal-count MODEL.frugal --method METHOD --inferences N [options]

Runs N inferences of MODEL with one METHOD and exits, printing nothing that depends
on N or on the outputs, so that an emulator can count the instructions they execute.
Loading, input preparation, buffers and one warm-up inference happen whatever N is
(also for N = 0): the instruction count of an N run minus that of a 0 run is N
inferences. Each inference copies one prepared input (already scaled by the model's
input_scale) into the method's input buffer, then runs the model at batch 1.

Methods:
  auto         frugal's interpreter in ExecutionMode::kAuto (its default): each CSR
               layer runs CSR or dense, depending on its density.
  as-stored    frugal in kAsStored: each layer runs the kernel of its stored encoding.
  dense        frugal in kDense: every layer widened to dense, frugal's dense kernel.
  eigen        Eigen 3 dense row-major matrix times vector, on the widened weights
               (only in builds with the Eigen baseline; see --help's last line).
  input-copy   only the input copy of each inference, to show that overhead.

Options:
  --method METHOD  One of the methods above. Required.
  --inferences N   Inferences after setup, N >= 0. Required.
  --input KIND     "random": raw values uniform in [0, 255) from --seed, times the
                   model's input_scale (dense inputs, no zeros). "zeros": all zeros.
                   Default: random.
  --images FILE    Use the images of an IDX file (plain or gzip) instead, each scaled
                   by the model's input_scale. Overrides --input.
  --seed N         Seed of the random inputs. Default: 1.
  --distinct-inputs M
                   Inputs prepared in setup, 1 <= M <= 65536 (fewer when the image file has
                   fewer images). Inference i uses input i modulo M. Default: 16.
  -h, --help       Print this help and exit.

The kernel that ran each layer in the warm-up inference goes to stderr (a CSC layer in
auto chooses per call, so later inferences may differ). Counts depend a little on the length of the
command line, so compare runs whose arguments have the same length (--inferences 0
against --inferences 5, or 00 against 20).
)usage";

constexpr std::uint64_t kMaxCount = std::numeric_limits<std::uint32_t>::max();
// 65536 MNIST-sized inputs are 205 MB of floats; more would only exhaust memory.
constexpr std::uint64_t kMaxDistinctInputs = 65536;

enum class Method { kAuto, kAsStored, kDense, kEigen, kInputCopy };

struct Options {
  std::string model_path;
  Method method = Method::kAuto;
  bool method_set = false;
  std::uint64_t inferences = 0;
  bool inferences_set = false;
  bool random_input = true;
  std::string images_path;
  std::uint64_t seed = 1;
  // Inputs prepared in setup, whatever N is, so that setup does not depend on N.
  std::uint64_t distinct_inputs = 16;
};

void PrintError(const std::string& message) { std::fprintf(stderr, "frugal-count: %s\n", message.c_str()); }

bool ParseCount(std::string_view flag, const std::string& text, std::uint64_t min, std::uint64_t max,
                std::uint64_t* value, std::string* error) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long parsed = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text.front() == '-' || text.front() == '+' || text.front() == ' ' || *end != '\0' ||
      errno != 0 || parsed < min || parsed > max) {
    *error = std::string(flag) + ": \"" + text + "\" is not an integer in [" + std::to_string(min) + ", " +
             std::to_string(max) + "]";
    return false;
  }
  *value = parsed;
  return true;
}

bool ParseMethod(const std::string& text, Method* method, std::string* error) {
  static constexpr std::pair<std::string_view, Method> kMethods[] = {
      {"auto", Method::kAuto},   {"as-stored", Method::kAsStored},    {"dense", Method::kDense},
      {"eigen", Method::kEigen}, {"input-copy", Method::kInputCopy},
  };
  for (const auto& [name, value] : kMethods) {
    if (text == name) {
      *method = value;
      return true;
    }
  }
  *error = "--method: \"" + text + "\" is not one of auto, as-stored, dense, eigen, input-copy";
  return false;
}

enum class ParseOutcome { kRun, kHelp, kError };

ParseOutcome ParseArguments(int argc, char** argv, Options* options, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") return ParseOutcome::kHelp;
    if (!arg.starts_with("-")) {
      if (!options->model_path.empty()) {
        *error = "more than one model given: " + options->model_path + " and " + arg + "; see --help";
        return ParseOutcome::kError;
      }
      options->model_path = arg;
      continue;
    }
    if (arg != "--method" && arg != "--inferences" && arg != "--input" && arg != "--images" && arg != "--seed" &&
        arg != "--distinct-inputs") {
      *error = "unknown option " + arg + "; see --help";
      return ParseOutcome::kError;
    }
    if (i + 1 >= argc) {
      *error = arg + " needs a value; see --help";
      return ParseOutcome::kError;
    }
    const std::string value = argv[++i];
    if (arg == "--method") {
      if (!ParseMethod(value, &options->method, error)) return ParseOutcome::kError;
      options->method_set = true;
    } else if (arg == "--inferences") {
      if (!ParseCount(arg, value, 0, kMaxCount, &options->inferences, error)) return ParseOutcome::kError;
      options->inferences_set = true;
    } else if (arg == "--input") {
      if (value != "random" && value != "zeros") {
        *error = "--input: \"" + value + "\" is not one of random, zeros";
        return ParseOutcome::kError;
      }
      options->random_input = value == "random";
    } else if (arg == "--images") {
      options->images_path = value;
    } else if (arg == "--seed") {
      if (!ParseCount(arg, value, 0, kMaxCount, &options->seed, error)) return ParseOutcome::kError;
    } else {
      if (!ParseCount(arg, value, 1, kMaxDistinctInputs, &options->distinct_inputs, error)) return ParseOutcome::kError;
    }
  }
  if (options->model_path.empty()) {
    *error = "missing MODEL.frugal; see --help";
    return ParseOutcome::kError;
  }
  if (!options->method_set) {
    *error = "missing --method; see --help";
    return ParseOutcome::kError;
  }
  if (!options->inferences_set) {
    *error = "missing --inferences; see --help";
    return ParseOutcome::kError;
  }
  if (options->method == Method::kEigen && !FRUGAL_BENCH_WITH_EIGEN) {
    *error = "--method eigen: this frugal-count was built without Eigen; configure with "
             "-DFRUGAL_COUNT_WITH_EIGEN=ON and Eigen 3 headers installed (Debian: libeigen3-dev)";
    return ParseOutcome::kError;
  }
  return ParseOutcome::kRun;
}

// Writes options.distinct_inputs scaled inputs of input_size floats (for images, at most
// one per image) into *inputs. Returns false after printing an error.
bool PrepareInputs(const Options& options, const frugal::Model& model, std::vector<float>* inputs) {
  const std::size_t size = model.input_size();
  const float scale = model.input_scale();
  const std::size_t distinct = static_cast<std::size_t>(options.distinct_inputs);
  if (options.images_path.empty()) {
    inputs->assign(distinct * size, 0.0f);
    if (options.random_input) {
      std::mt19937_64 rng(options.seed);
      std::uniform_real_distribution<float> value(0.0f, 255.0f);
      for (float& v : *inputs) v = value(rng) * scale;
    }
    return true;
  }
  const frugal::idx::Images images = frugal::idx::ReadImages(options.images_path);
  if (images.pixels_per_image() != size) {
    PrintError(options.images_path + ": " + std::to_string(images.rows) + " x " + std::to_string(images.cols) +
               " = " + std::to_string(images.pixels_per_image()) + " pixels per image does not match " +
               options.model_path + "'s input_size = " + std::to_string(size));
    return false;
  }
  if (images.count == 0) {
    PrintError(options.images_path + ": contains 0 images; need at least 1");
    return false;
  }
  const std::size_t count = std::min(images.count, distinct);
  inputs->resize(count * size);
  for (std::size_t i = 0; i < count * size; ++i) (*inputs)[i] = static_cast<float>(images.pixels[i]) * scale;
  return true;
}

// A runner that computes nothing, so that a count of it is the input copy alone. The
// empty asm statement makes the compiler assume that the copied input is read.
class InputCopyRunner final : public Runner {
 public:
  explicit InputCopyRunner(std::size_t input_size) : input_(input_size, 0.0f) {}
  std::string_view name() const override { return "input_copy"; }
  std::size_t batch() const override { return 1; }
  std::span<float> input() override { return input_; }
  void Run() override { asm volatile("" : : "r"(input_.data()) : "memory"); }
  std::span<const float> output() const override { return input_; }
  std::size_t buffer_bytes() const override { return input_.size() * sizeof(float); }

 private:
  std::vector<float> input_;
};

#if FRUGAL_BENCH_WITH_EIGEN
// Checks that the widened layers hold as many non-zero weights as the model reports, so
// that a weight encoding that ExtractDenseLayers does not know (it leaves such a layer
// all zero) cannot pass for a cheap dense baseline. Returns false after printing an error.
bool SameNonzeros(const frugal::Model& model, const std::vector<frugal::bench::DenseLayer>& layers) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::uint64_t widened = static_cast<std::uint64_t>(
        std::count_if(layers[i].weights.begin(), layers[i].weights.end(), [](float w) { return w != 0.0f; }));
    if (widened != model.layer(i).nonzeros) {
      PrintError("--method eigen: layer " + std::to_string(i) + " (" + model.layer(i).name + "): the dense copy has " +
                 std::to_string(widened) + " non-zero weights but the model has " +
                 std::to_string(model.layer(i).nonzeros) + "; bench/dense_weights.cc does not read its encoding");
      return false;
    }
  }
  return true;
}
#endif

// Returns nullptr after printing an error.
std::unique_ptr<Runner> MakeRunner(Method method, const frugal::Model& model,
                                   [[maybe_unused]] const std::vector<std::uint8_t>& bytes) {
  switch (method) {
    case Method::kAuto:
      return std::make_unique<frugal::bench::FrugalRunner>(model, frugal::ExecutionMode::kAuto, "auto", 1);
    case Method::kAsStored:
      return std::make_unique<frugal::bench::FrugalRunner>(model, frugal::ExecutionMode::kAsStored, "as-stored", 1);
    case Method::kDense:
      return std::make_unique<frugal::bench::FrugalRunner>(model, frugal::ExecutionMode::kDense, "dense", 1);
    case Method::kEigen:
#if FRUGAL_BENCH_WITH_EIGEN
    {
      const std::vector<frugal::bench::DenseLayer> layers =
          frugal::bench::ExtractDenseLayers(bytes.data(), bytes.size());
      if (!SameNonzeros(model, layers)) return nullptr;
      return frugal::bench::MakeEigenDenseRunner(layers, 1);
    }
#else
      PrintError("--method eigen: this frugal-count was built without Eigen");
      return nullptr;  // not reached: ParseArguments rejects the method first
#endif
    case Method::kInputCopy: return std::make_unique<InputCopyRunner>(model.input_size());
  }
  return nullptr;
}

// Prints the kernels (or library) that ran each layer in the warm-up inference, to stderr,
// identically for every N. A CSC layer in kAuto chooses its kernel per call, so later
// inferences may run the layer's other form.
void DescribeRunner(Method method, const frugal::Model& model, Runner& runner) {
  std::string kernels;
  if (method == Method::kAuto || method == Method::kAsStored || method == Method::kDense) {
    const frugal::Interpreter& interpreter = static_cast<frugal::bench::FrugalRunner&>(runner).interpreter();
    for (std::size_t i = 0; i < model.layer_count(); ++i) {
      if (i > 0) kernels += ",";
      kernels += interpreter.kernel_name(i);
    }
  } else if (method == Method::kEigen) {
#if FRUGAL_BENCH_WITH_EIGEN
    kernels = std::string("Eigen ") + frugal::bench::EigenVersion() + ", SIMD: " +
              frugal::bench::EigenSimdInstructionSets();
#endif
  } else {
    kernels = "none";
  }
  std::fprintf(stderr, "frugal-count: %s kernels: %s\n", std::string(runner.name()).c_str(), kernels.c_str());
}

int Run(const Options& options) {
  std::ifstream file(options.model_path, std::ios::binary);
  if (!file) {
    PrintError(options.model_path + ": file not found or not readable");
    return 1;
  }
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  std::unique_ptr<frugal::Model> model;
  if (frugal::Status status = frugal::Model::FromBuffer(bytes.data(), bytes.size(), &model, {}, options.model_path);
      !status.ok()) {
    PrintError(status.message());
    return 1;
  }

  std::vector<float> inputs;
  if (!PrepareInputs(options, *model, &inputs)) return 1;
  const std::size_t input_size = model->input_size();
  const std::size_t input_count = inputs.size() / input_size;

  const std::unique_ptr<Runner> runner = MakeRunner(options.method, *model, bytes);
  if (runner == nullptr) return 1;

  // One warm-up inference in every run, so that one-time costs of the first call (lazy
  // symbol binding, first touch of buffers) are part of setup and not of the count.
  std::copy_n(inputs.begin(), input_size, runner->input().begin());
  runner->Run();
  DescribeRunner(options.method, *model, *runner);

  for (std::uint64_t i = 0; i < options.inferences; ++i) {
    const auto first = inputs.begin() + static_cast<std::ptrdiff_t>((i % input_count) * input_size);
    std::copy_n(first, input_size, runner->input().begin());
    runner->Run();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string error;
  switch (ParseArguments(argc, argv, &options, &error)) {
    case ParseOutcome::kHelp:
      std::fputs(kUsage, stdout);
      std::printf("This build %s the eigen method.\n", FRUGAL_BENCH_WITH_EIGEN ? "has" : "does not have");
      return 0;
    case ParseOutcome::kError: PrintError(error); return 1;
    case ParseOutcome::kRun: break;
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
