// One Model shared by several threads, each with its own Interpreter, and one Interpreter
// whose InvokeBatch runs on its worker threads: outputs must be bit-identical to a
// single-threaded run. scripts/sanitize.sh runs this under ThreadSanitizer, which reports
// any data race on the shared model or between the batch workers.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "frugal/runtime.h"
#include "test_model.h"

namespace frugal {
namespace {

constexpr int kThreads = 4;
constexpr int kInputs = 16;
constexpr int kRounds = 25;

std::vector<float> MakeInput(std::size_t size, int k) {
  std::vector<float> input(size);
  for (std::size_t i = 0; i < size; ++i) input[i] = static_cast<float>((i * 31 + static_cast<std::size_t>(k) * 7) % 17) / 16.0f;
  return input;
}

TEST_CASE("concurrent interpreters match single-threaded") {
  const std::vector<std::uint8_t> bytes =
      testing::Serialize(testing::RandomModel(11, {48, 32, 24, 10}, {true, false, true}, 0.7));
  std::unique_ptr<Model> model;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &model).ok());

  // Expected outputs per execution mode, from one thread. The dense kernels sum in
  // another order than the CSR kernels, so each mode is compared with itself.
  const ExecutionMode modes[2] = {ExecutionMode::kAsStored, ExecutionMode::kDense};
  std::vector<std::vector<float>> expected[2];
  for (int m = 0; m < 2; ++m) {
    InterpreterOptions options;
    options.mode = modes[m];
    Interpreter interpreter(*model, options);
    for (int k = 0; k < kInputs; ++k) {
      std::span<const float> output;
      REQUIRE(interpreter.Invoke(MakeInput(model->input_size(), k), &output).ok());
      expected[m].emplace_back(output.begin(), output.end());
    }
  }

  // Each thread counts its mismatches, because doctest's CHECK is not thread-safe.
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const int m = t % 2;
      InterpreterOptions options;
      options.mode = modes[m];
      Interpreter interpreter(*model, options);
      std::vector<std::vector<float>> inputs;
      for (int k = 0; k < kInputs; ++k) inputs.push_back(MakeInput(model->input_size(), k));
      for (int round = 0; round < kRounds; ++round) {
        for (int k = 0; k < kInputs; ++k) {
          std::span<const float> output;
          const bool ok = interpreter.Invoke(inputs[k], &output).ok();
          const std::vector<float>& want = expected[m][k];
          const bool same = ok && output.size() == want.size() &&
                            std::memcmp(output.data(), want.data(), want.size() * sizeof(float)) == 0;
          mismatches[t] += same ? 0 : 1;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK_MESSAGE(mismatches[t] == 0, "thread " << t);
}

TEST_CASE("batch worker threads match one thread") {
  const std::vector<std::uint8_t> bytes =
      testing::Serialize(testing::RandomModel(12, {48, 32, 24, 10}, {true, false, true}, 0.7));
  std::unique_ptr<Model> model;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &model).ok());
  constexpr std::size_t kMaxBatch = 64;
  std::vector<float> inputs;
  for (int k = 0; k < static_cast<int>(kMaxBatch); ++k) {
    const std::vector<float> input = MakeInput(model->input_size(), k);
    inputs.insert(inputs.end(), input.begin(), input.end());
  }

  InterpreterOptions options;
  options.max_batch = kMaxBatch;
  Interpreter one_thread(*model, options);
  options.threads = 4;
  Interpreter pooled(*model, options);
  REQUIRE(pooled.threads() == 4);
  // Batches of 1 to 4 units of 16 samples and a partial unit, repeated so that workers go
  // back and forth between spinning and sleeping.
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t batch : {kMaxBatch, std::size_t{33}, std::size_t{16}, std::size_t{50}}) {
      const std::size_t out = batch * model->output_size();
      std::vector<float> expected(out);
      std::vector<float> actual(out);
      const std::span<const float> in(inputs.data(), batch * model->input_size());
      REQUIRE(one_thread.InvokeBatch(in, batch, expected).ok());
      REQUIRE(pooled.InvokeBatch(in, batch, actual).ok());
      REQUIRE_MESSAGE(std::memcmp(expected.data(), actual.data(), out * sizeof(float)) == 0,
                      "batch " << batch << ", round " << round);
    }
  }
}

}  // namespace
}  // namespace frugal
