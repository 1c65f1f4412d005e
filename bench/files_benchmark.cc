// Google Benchmark of whole .frugal files side by side, for example the same network
// converted with float32 and with int8 weights:
//   frugal_files_benchmark --images=t10k-images-idx3-ubyte a.frugal b.frugal [benchmark flags]
// Each file runs in ExecutionMode kAuto and kAsStored. Every timed run copies the next of
// kImageCount images (scaled by the file's input_scale) into the interpreter's input and
// invokes it. The copy alone is timed as "input_copy", so that it can be subtracted.
// Benchmark names are file:<name>/mode:<mode>.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/idx.h"
#include "frugal/runtime.h"

namespace {

// Images cycled through: enough that branch predictors do not learn one input.
constexpr std::size_t kImageCount = 100;

// The first kImageCount images of `images` as raw pixel values, 0 to 255.
std::vector<std::vector<float>> RawImages(const frugal::idx::Images& images) {
  std::vector<std::vector<float>> raw;
  for (std::size_t i = 0; i < std::min(images.count, kImageCount); ++i) {
    const std::uint8_t* pixels = images.image(i);
    raw.emplace_back(pixels, pixels + images.pixels_per_image());
  }
  return raw;
}

struct LoadedFile {
  std::string name;
  std::unique_ptr<frugal::Model> model;
  std::vector<std::vector<float>> inputs;  // scaled by the model's input_scale
};

void RunFile(benchmark::State& state, const LoadedFile* file, frugal::ExecutionMode mode) {
  frugal::InterpreterOptions options;
  options.mode = mode;
  frugal::Interpreter interpreter(*file->model, options);
  std::size_t next = 0;
  for (auto _ : state) {
    const std::vector<float>& input = file->inputs[next];
    std::copy(input.begin(), input.end(), interpreter.input().begin());
    interpreter.Invoke();
    benchmark::DoNotOptimize(interpreter.output().data());
    benchmark::ClobberMemory();
    next = next + 1 == file->inputs.size() ? 0 : next + 1;
  }
  state.SetLabel(std::string(interpreter.kernel_name(0)));
}

void RunInputCopy(benchmark::State& state, const LoadedFile* file) {
  std::vector<float> target(file->inputs.front().size());
  std::size_t next = 0;
  for (auto _ : state) {
    const std::vector<float>& input = file->inputs[next];
    std::copy(input.begin(), input.end(), target.begin());
    benchmark::DoNotOptimize(target.data());
    benchmark::ClobberMemory();
    next = next + 1 == file->inputs.size() ? 0 : next + 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Takes --images=FILE and the .frugal paths; the other arguments go to Google Benchmark.
  std::string images_path;
  std::vector<std::string> paths;
  std::vector<char*> benchmark_args = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--images=")) {
      images_path = std::string(arg.substr(9));
    } else if (arg.starts_with("--")) {
      benchmark_args.push_back(argv[i]);
    } else {
      paths.emplace_back(arg);
    }
  }
  if (images_path.empty() || paths.empty()) {
    std::fprintf(stderr, "usage: frugal_files_benchmark --images=IDX_FILE MODEL.frugal... [benchmark flags]\n");
    return 2;
  }

  std::vector<std::vector<float>> raw;
  try {
    raw = RawImages(frugal::idx::ReadImages(images_path));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "frugal_files_benchmark: %s\n", error.what());
    return 1;
  }
  std::vector<std::unique_ptr<LoadedFile>> files;
  for (const std::string& path : paths) {
    auto file = std::make_unique<LoadedFile>();
    file->name = path.substr(path.find_last_of('/') + 1);
    if (frugal::Status status = frugal::Model::FromFile(path, &file->model); !status.ok()) {
      std::fprintf(stderr, "frugal_files_benchmark: %s\n", status.message().c_str());
      return 1;
    }
    if (file->model->input_size() != raw.front().size()) {
      std::fprintf(stderr, "frugal_files_benchmark: %s reads %zu inputs, but the images have %zu pixels\n",
                   path.c_str(), file->model->input_size(), raw.front().size());
      return 1;
    }
    for (const std::vector<float>& image : raw) {
      std::vector<float> scaled(image);
      for (float& value : scaled) value *= file->model->input_scale();
      file->inputs.push_back(std::move(scaled));
    }
    files.push_back(std::move(file));
  }

  benchmark::RegisterBenchmark("input_copy", RunInputCopy, files.front().get())->Unit(benchmark::kMicrosecond);
  for (const auto& file : files) {
    for (const auto& [mode, mode_name] : {std::pair{frugal::ExecutionMode::kAuto, "auto"},
                                          std::pair{frugal::ExecutionMode::kAsStored, "stored"}}) {
      const std::string name = "file:" + file->name + "/mode:" + mode_name;
      benchmark::RegisterBenchmark(name.c_str(), RunFile, file.get(), mode)->Unit(benchmark::kMicrosecond);
    }
  }
  int benchmark_argc = static_cast<int>(benchmark_args.size());
  benchmark::Initialize(&benchmark_argc, benchmark_args.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, benchmark_args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
