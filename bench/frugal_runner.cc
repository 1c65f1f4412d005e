// frugal's interpreter as a batched runner.
#include "runners.h"

#include <cstdio>
#include <cstdlib>

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

// Invoke and InvokeBatch fail only on wrong sizes, and the constructor sized inputs_ and
// outputs_ for batch_ samples of this model. A failure is therefore a bug, and it stops
// the benchmark instead of timing a run that did nothing.
void FrugalRunner::Run() {
  const Status status = batch_ == 1 ? interpreter_.Invoke() : interpreter_.InvokeBatch(inputs_, batch_, outputs_);
  if (!status.ok()) {
    std::fprintf(stderr, "frugal-bench: %s\n", status.message().c_str());
    std::abort();
  }
}

std::size_t FrugalRunner::buffer_bytes() const {
  return interpreter_.buffer_bytes() + (inputs_.size() + outputs_.size()) * sizeof(float);
}

}  // namespace frugal::bench
