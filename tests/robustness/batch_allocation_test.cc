// Interpreter::InvokeBatch allocates nothing: every buffer and worker thread is made when
// the interpreter is constructed. The tracker counts operator new calls from all threads.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "allocation_tracker.h"
#include "frugal/runtime.h"
#include "test_model.h"

namespace frugal {
namespace {

TEST_CASE("InvokeBatch allocates nothing") {
  // CSR and dense layers in kAuto (batch kernels) and kAsStored with a CSC layer (its
  // per-sample path), on 1 and 3 threads.
  testing::TestModel model = testing::RandomModel(31, {80, 40, 24, 10}, {true, false, true}, 0.85);
  model.format_version = 3;
  std::mt19937 rng(32);
  const std::vector<float> weights = testing::RandomWeights(rng, 40 * 24, 0.7);
  model.layers[1] = testing::CscLayer("fc2", 40, 24, weights, testing::RandomWeights(rng, 24, 0.0), true);
  const std::vector<std::uint8_t> bytes = testing::Serialize(model);
  std::unique_ptr<Model> loaded;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &loaded).ok());

  const std::size_t max_batch = 48;
  const std::vector<float> inputs = testing::RandomWeights(rng, max_batch * 80, 0.5);
  std::vector<float> outputs(max_batch * 10);
  for (ExecutionMode mode : {ExecutionMode::kAuto, ExecutionMode::kAsStored}) {
    for (std::size_t threads : {1, 3}) {
      CAPTURE(threads);
      InterpreterOptions options;
      options.mode = mode;
      options.max_batch = max_batch;
      options.threads = threads;
      Interpreter interpreter(*loaded, options);
      for (std::size_t batch : {std::size_t{1}, std::size_t{17}, max_batch}) {
        CAPTURE(batch);
        testing::StartTrackingAllocations();
        const Status status = interpreter.InvokeBatch(std::span<const float>(inputs.data(), batch * 80), batch,
                                                      std::span<float>(outputs.data(), batch * 10));
        testing::StopTrackingAllocations();
        CHECK(status.ok());
        CHECK(testing::TrackedAllocationCount() == 0);
      }
    }
  }
}

}  // namespace
}  // namespace frugal
