// Fuzzes Model::FromBuffer with arbitrary bytes and runs one inference on every model
// that loads, in every execution mode. A crash, sanitizer report, leak or exception is a
// bug: the loader must reject bad bytes with a Status, and a loaded model must run.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "frugal/runtime.h"

namespace {

// Bounds the buffers an accepted model can make the interpreter allocate. The input
// buffer is bounded by max_file_bytes (see the loader), and kDense copies are skipped
// above this many floats, so that an execution stays fast.
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;
constexpr std::uint64_t kMaxDenseCopyFloats = std::uint64_t{1} << 20;

void RunOnce(const frugal::Model& model, frugal::ExecutionMode mode) {
  frugal::InterpreterOptions options;
  options.mode = mode;
  frugal::Interpreter interpreter(model, options);
  std::span<float> input = interpreter.input();
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 7) - 3.0f;
  const frugal::Status status = interpreter.Invoke();
  if (!status.ok()) std::abort();  // Invoke() without arguments has no failure case.
  const std::span<const float> output = interpreter.output();
  if (output.size() != model.output_size()) std::abort();
  const bool relu = model.layer(model.layer_count() - 1).activation == frugal::Activation::kRelu;
  for (float value : output) {
    if (relu && value < 0.0f) std::abort();  // ReLU never returns a negative value.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exact-size copy, so the address sanitizer sees any read past the end. operator new
  // returns memory aligned for float, as FromBuffer requires.
  std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(copy.get(), data, size);

  frugal::LoadOptions options;
  options.max_file_bytes = kMaxFileBytes;
  std::unique_ptr<frugal::Model> model;
  const frugal::Status status = frugal::Model::FromBuffer(copy.get(), size, &model, options, "fuzz-input");
  if (!status.ok()) {
    if (status.message().rfind("fuzz-input: ", 0) != 0) std::abort();  // Messages name the buffer.
    return 0;
  }

  RunOnce(*model, frugal::ExecutionMode::kAsStored);
  RunOnce(*model, frugal::ExecutionMode::kAuto);
  std::uint64_t dense_copy_floats = 0;
  for (std::size_t i = 0; i < model->layer_count(); ++i) {
    const frugal::LayerInfo& layer = model->layer(i);
    if (layer.encoding != frugal::WeightEncoding::kDense) {
      dense_copy_floats += std::uint64_t{layer.input_size} * layer.output_size;
    }
  }
  if (dense_copy_floats <= kMaxDenseCopyFloats) RunOnce(*model, frugal::ExecutionMode::kDense);
  return 0;
}
