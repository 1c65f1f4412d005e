// frugal's interpreter as a batched runner.
#include "runners.h"

namespace frugal::bench {

namespace {

InterpreterOptions BatchOptions(ExecutionMode mode, std::size_t batch, std::size_t threads) {
  InterpreterOptions options;
  options.mode = mode;
  options.max_batch = batch;
  options.threads = threads;
  return options;
}

}  // namespace

FrugalRunner::FrugalRunner(const Model& model, ExecutionMode mode, std::string name, std::size_t batch,
                           std::size_t threads)
    : interpreter_(model, BatchOptions(mode, batch, threads)), name_(std::move(name)), batch_(batch) {
  if (batch_ > 1) {
    inputs_.assign(batch_ * model.input_size(), 0.0f);
    outputs_.assign(batch_ * model.output_size(), 0.0f);
  }
}

std::span<float> FrugalRunner::input() { return batch_ == 1 ? interpreter_.input() : std::span<float>(inputs_); }

std::span<const float> FrugalRunner::output() const {
  return batch_ == 1 ? interpreter_.output() : std::span<const float>(outputs_);
}

// The in-place Invoke() returns OK for every verified model. InvokeBatch fails only on
// sizes, and the constructor sized inputs_ and outputs_ for batch_ samples of this model,
// so statuses are not inspected here.
void FrugalRunner::Run() {
  if (batch_ == 1) {
    (void)interpreter_.Invoke();
    return;
  }
  (void)interpreter_.InvokeBatch(inputs_, batch_, outputs_);
}

std::size_t FrugalRunner::buffer_bytes() const {
  return interpreter_.buffer_bytes() + (inputs_.size() + outputs_.size()) * sizeof(float);
}

}  // namespace frugal::bench
