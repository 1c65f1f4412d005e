// frugal's interpreter as a batched runner.
#include <algorithm>

#include "runners.h"

namespace frugal::bench {

FrugalRunner::FrugalRunner(const Model& model, ExecutionMode mode, std::string name, std::size_t batch)
    : interpreter_(model, {mode}), name_(std::move(name)), batch_(batch) {
  if (batch_ > 1) {
    inputs_.assign(batch_ * model.input_size(), 0.0f);
    outputs_.assign(batch_ * model.output_size(), 0.0f);
  }
}

std::span<float> FrugalRunner::input() { return batch_ == 1 ? interpreter_.input() : std::span<float>(inputs_); }

std::span<const float> FrugalRunner::output() const {
  return batch_ == 1 ? interpreter_.output() : std::span<const float>(outputs_);
}

// The in-place Invoke() returns OK for every verified model; only the copying overload
// checks an input length, so its status is not inspected here.
void FrugalRunner::Run() {
  if (batch_ == 1) {
    (void)interpreter_.Invoke();
    return;
  }
  const std::span<float> in = interpreter_.input();
  const std::span<const float> out = interpreter_.output();
  for (std::size_t b = 0; b < batch_; ++b) {
    std::copy_n(inputs_.begin() + static_cast<std::ptrdiff_t>(b * in.size()), in.size(), in.begin());
    (void)interpreter_.Invoke();
    std::copy(out.begin(), out.end(), outputs_.begin() + static_cast<std::ptrdiff_t>(b * out.size()));
  }
}

std::size_t FrugalRunner::buffer_bytes() const {
  return interpreter_.buffer_bytes() + (inputs_.size() + outputs_.size()) * sizeof(float);
}

}  // namespace frugal::bench
