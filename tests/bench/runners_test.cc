// Every runner of a random MLP computes the same outputs as the stored model, at batch 1
// and at a batch larger than 1, and the dense weights match the stored CSR values.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_options.h"
#include "dense_weights.h"
#include "frugal/runtime.h"
#include "random_model.h"
#include "runners.h"

namespace frugal::bench {
namespace {

// Float sums over up to 784 products differ between kernels by rounding only.
constexpr double kTolerance = 1e-4;

struct Fixture {
  std::vector<std::uint8_t> bytes;
  std::unique_ptr<Model> model;
  std::vector<DenseLayer> layers;
};

Fixture MakeFixture(double sparsity, bool csr) {
  Fixture fixture;
  fixture.bytes = BuildRandomMlp({37, 19, 5, 3}, sparsity, csr, 9);
  const Status status = Model::FromBuffer(fixture.bytes.data(), fixture.bytes.size(), &fixture.model);
  REQUIRE_MESSAGE(status.ok(), status.message());
  fixture.layers = ExtractDenseLayers(fixture.bytes.data(), fixture.bytes.size());
  return fixture;
}

std::vector<float> RunWith(Runner& runner, const std::vector<float>& input) {
  REQUIRE(runner.input().size() == input.size());
  std::copy(input.begin(), input.end(), runner.input().begin());
  runner.Run();
  return {runner.output().begin(), runner.output().end()};
}

void CheckSame(const std::vector<float>& expected, const std::vector<float>& actual, const std::string& method) {
  REQUIRE(expected.size() == actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(method << ": output " << i << " of " << expected.size() << ": expected " << expected[i] << ", got "
                << actual[i]);
    CHECK(std::fabs(expected[i] - actual[i]) <= kTolerance);
  }
}

TEST_CASE("ExtractDenseLayers matches CSR") {
  const Fixture fixture = MakeFixture(0.7, true);
  REQUIRE(fixture.layers.size() == 3);
  CHECK(fixture.layers[0].rows == 19);
  CHECK(fixture.layers[0].cols == 37);
  CHECK(fixture.layers[0].relu);
  CHECK_FALSE(fixture.layers[2].relu);
  std::uint64_t nonzeros = 0;
  for (float w : fixture.layers[0].weights) nonzeros += w != 0.0f ? 1 : 0;
  CHECK(nonzeros == fixture.model->layer(0).nonzeros);
}

TEST_CASE("runners agree with the stored model") {
  for (const bool csr : {true, false}) {
    for (const std::size_t batch : {std::size_t{1}, std::size_t{3}}) {
      CAPTURE(csr);
      CAPTURE(batch);
      const Fixture fixture = MakeFixture(0.6, csr);
      std::mt19937 rng(3);
      std::uniform_real_distribution<float> value(-1.0f, 1.0f);
      std::vector<float> input(batch * fixture.model->input_size());
      for (float& v : input) v = value(rng);

      FrugalRunner stored(*fixture.model, ExecutionMode::kAsStored, "stored", batch);
      const std::vector<float> expected = RunWith(stored, input);
      REQUIRE(expected.size() == batch * 3);

      // Sample 1 of a batch must equal a batch-1 run on sample 1 alone.
      if (batch > 1) {
        FrugalRunner single(*fixture.model, ExecutionMode::kAsStored, "stored", 1);
        const std::vector<float> sample(input.begin() + 37, input.begin() + 74);
        const std::vector<float> alone = RunWith(single, sample);
        CheckSame(std::vector<float>(expected.begin() + 3, expected.begin() + 6), alone, "stored batch 1");
      }

      FrugalRunner dense(*fixture.model, ExecutionMode::kDense, "frugal_dense", batch);
      CheckSame(expected, RunWith(dense, input), "frugal_dense");
#if FRUGAL_BENCH_WITH_EIGEN
      CheckSame(expected, RunWith(*MakeEigenDenseRunner(fixture.layers, batch), input), "eigen_dense");
      CheckSame(expected, RunWith(*MakeEigenSparseRunner(fixture.layers, batch), input), "eigen_sparse");
#endif
#if FRUGAL_BENCH_WITH_XNNPACK
      for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
        std::string error;
        std::unique_ptr<Runner> xnnpack = MakeXnnpackRunner(fixture.layers, batch, threads, &error);
        REQUIRE_MESSAGE(xnnpack != nullptr, error);
        CheckSame(expected, RunWith(*xnnpack, input), "xnnpack_dense");
      }
#endif
    }
  }
}

TEST_CASE("ParseArguments values") {
  const char* argv[] = {"frugal-bench", "m.frugal", "--threads", "4", "--batch", "8", "--format", "csv", "--runs",
                        "5", "--input", "zeros"};
  Options options;
  std::string error;
  REQUIRE(ParseArguments(12, argv, &options, &error) == ParseOutcome::kRun);
  CHECK(options.model_path == "m.frugal");
  CHECK(options.threads == 4);
  CHECK(options.batch == 8);
  CHECK(options.runs == 5);
  CHECK(options.format == OutputFormat::kCsv);
  CHECK(options.input == InputKind::kZeros);
  CHECK_FALSE(options.profile);
}

TEST_CASE("ParseArguments rejections") {
  const std::vector<std::vector<const char*>> cases = {
      {"frugal-bench", "m.frugal", "--threads", "0"},   {"frugal-bench", "m.frugal", "--threads", "-2"},
      {"frugal-bench", "m.frugal", "--batch", "2x"},    {"frugal-bench", "m.frugal", "--runs", ""},
      {"frugal-bench", "m.frugal", "--min-seconds", "-1"}, {"frugal-bench", "m.frugal", "--format", "xml"},
      {"frugal-bench", "m.frugal", "--runs"},           {"frugal-bench", "--runs", "3"},
      {"frugal-bench", "a.frugal", "b.frugal"},         {"frugal-bench", "m.frugal", "--speed", "1"},
  };
  for (const std::vector<const char*>& argv : cases) {
    Options options;
    std::string error;
    const ParseOutcome outcome = ParseArguments(static_cast<int>(argv.size()), argv.data(), &options, &error);
    INFO("arguments ending in " << argv.back() << ": " << error);
    CHECK(outcome == ParseOutcome::kError);
    CHECK_FALSE(error.empty());
    CHECK(error.find('\n') == std::string::npos);
  }
}

}  // namespace
}  // namespace frugal::bench
