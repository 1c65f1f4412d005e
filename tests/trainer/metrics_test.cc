// Tests of the per-epoch JSON line and the non-zero counts behind it.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "frugal/trainer/metrics.h"
#include "frugal/trainer/model.h"

using frugal::trainer::EpochMetrics;
using frugal::trainer::Mlp;

namespace {

// The reference 784-64-64-10 model with all kernels and biases set to 0 except for the
// weights each test sets.
Mlp ZeroReferenceModel() {
  frugal::trainer::Rng rng(1);
  const std::vector<std::size_t> hidden{64, 64};
  Mlp model = frugal::trainer::CreateMlp(784, hidden, 10, 1.0 / 255.0, rng);
  for (auto& layer : model.layers) layer.kernel.setZero();
  return model;
}

}  // namespace

TEST_CASE("nonzero counts use |w| > 1e-5") {
  Mlp model = ZeroReferenceModel();
  model.layers[0].kernel(0, 0) = 1e-5f;     // not counted: equal to the threshold
  model.layers[0].kernel(1, 0) = -1e-5f;    // not counted
  model.layers[0].kernel(2, 0) = 1.1e-5f;   // counted
  model.layers[0].kernel(3, 5) = -2e-5f;    // counted
  model.layers[0].kernel(4, 5) = 9e-6f;     // not counted
  model.layers[1].bias(7) = 0.5f;           // counted
  model.layers[2].kernel(63, 9) = -3.0f;    // counted

  const auto counts = frugal::trainer::CountNonzero(model);
  REQUIRE(counts.size() == 6);
  CHECK(counts[0].name == "dense_1/kernel");
  CHECK(counts[0].num == 784 * 64);
  CHECK(counts[0].nonzero == 2);
  CHECK(counts[1].name == "dense_1/bias");
  CHECK(counts[1].num == 64);
  CHECK(counts[1].nonzero == 0);
  CHECK(counts[2].name == "dense_2/kernel");
  CHECK(counts[2].num == 64 * 64);
  CHECK(counts[3].name == "dense_2/bias");
  CHECK(counts[3].nonzero == 1);
  CHECK(counts[4].name == "dense_3/kernel");
  CHECK(counts[4].num == 640);
  CHECK(counts[4].nonzero == 1);
  CHECK(counts[5].name == "dense_3/bias");
  CHECK(counts[5].num == 10);
}

TEST_CASE("measure_test JSON line") {
  Mlp model = ZeroReferenceModel();
  model.layers[0].kernel(2, 0) = 1.1e-5f;
  model.layers[0].kernel(0, 0) = 1e-5f;
  model.layers[2].bias(3) = 0.25f;

  EpochMetrics metrics;
  metrics.epoch = 3;
  metrics.train = {0.123456789012345, 0.0321};
  metrics.validation = frugal::trainer::LossAndError{0.2, 0.04};
  metrics.test = frugal::trainer::LossAndError{0.1 / 3.0, 0.0417};
  metrics.nonzero = frugal::trainer::CountNonzero(model);
  metrics.train_seconds = 1.5;

  const std::string line = frugal::trainer::MeasureTestJson(metrics);
  CHECK(line.find('\n') == std::string::npos);
  const nlohmann::json json = nlohmann::json::parse(line);

  CHECK(json["event"] == "measure_test");
  CHECK(json["epochAfter"] == 3);
  // Doubles must survive the round trip through text exactly.
  CHECK(json["ent_train"].get<double>() == 0.123456789012345);
  CHECK(json["inacc_train"].get<double>() == 0.0321);
  CHECK(json["ent_test"].get<double>() == 0.1 / 3.0);
  CHECK(json["inacc_test"].get<double>() == 0.0417);
  CHECK(json["ent_val"].get<double>() == 0.2);
  CHECK(json["inacc_val"].get<double>() == 0.04);
  CHECK(json["seconds"].get<double>() == 1.5);

  const nlohmann::json& nonzero = json["num_nonzero"];
  const char* names[] = {"dense_1/kernel", "dense_1/bias", "dense_2/kernel",
                         "dense_2/bias",   "dense_3/kernel", "dense_3/bias"};
  const std::size_t expected_num[] = {50176, 64, 4096, 64, 640, 10};
  const std::size_t expected_nonzero[] = {1, 0, 0, 0, 0, 1};
  std::size_t sum_num = 0;
  std::size_t sum_nonzero = 0;
  for (int i = 0; i < 6; ++i) {
    INFO(names[i]);
    REQUIRE(nonzero.contains(names[i]));
    CHECK(nonzero[names[i]]["num"] == expected_num[i]);
    CHECK(nonzero[names[i]]["numNz"] == expected_nonzero[i]);
    sum_num += nonzero[names[i]]["num"].get<std::size_t>();
    sum_nonzero += nonzero[names[i]]["numNz"].get<std::size_t>();
  }
  CHECK(nonzero["total"]["num"] == 55050);
  CHECK(nonzero["total"]["num"] == sum_num);
  CHECK(nonzero["total"]["numNz"] == sum_nonzero);
  CHECK(nonzero.size() == 7);
  // event, epochAfter, ent/inacc for train, test and val, num_nonzero, removed_units,
  // removed_inputs, seconds.
  CHECK(json.size() == 12);
}

TEST_CASE("removed units and inputs need exact zeros") {
  Mlp model = ZeroReferenceModel();
  // dense_1: units 0 and 5 keep one incoming weight each, so 62 of 64 are removed, and
  // inputs 2 and 3 keep one outgoing weight each, so 782 of 784 are removed. A weight of
  // 1e-30 is below the non-zero threshold but still keeps its unit and input.
  model.layers[0].kernel(2, 0) = 0.5f;
  model.layers[0].kernel(3, 5) = 1e-30f;
  // dense_2: every unit but 7 gets an incoming weight; dense_3's units are not counted.
  model.layers[1].kernel.setConstant(-0.25f);
  model.layers[1].kernel.col(7).setZero();
  model.layers[1].bias(7) = 1.0f;  // a bias does not keep a unit
  model.layers[2].kernel.setZero();

  const auto units = frugal::trainer::CountRemovedUnits(model);
  REQUIRE(units.size() == 2);
  CHECK(units[0].name == "dense_1");
  CHECK(units[0].num == 64);
  CHECK(units[0].removed == 62);
  CHECK(units[1].name == "dense_2");
  CHECK(units[1].num == 64);
  CHECK(units[1].removed == 1);

  const auto inputs = frugal::trainer::CountRemovedInputs(model);
  CHECK(inputs.name == "inputs");
  CHECK(inputs.num == 784);
  CHECK(inputs.removed == 782);

  EpochMetrics metrics;
  metrics.epoch = 1;
  metrics.removed_units = units;
  metrics.removed_inputs = inputs;
  const nlohmann::json json = nlohmann::json::parse(frugal::trainer::MeasureTestJson(metrics));
  CHECK(json["removed_units"]["dense_1"]["num"] == 64);
  CHECK(json["removed_units"]["dense_1"]["removed"] == 62);
  CHECK(json["removed_units"]["dense_2"]["removed"] == 1);
  CHECK(json["removed_units"].size() == 2);
  CHECK(json["removed_inputs"]["num"] == 784);
  CHECK(json["removed_inputs"]["removed"] == 782);

  const std::string line = frugal::trainer::ProgressLine(metrics);
  CHECK(line.find("removed units 62/64 + 1/64") != std::string::npos);
  CHECK(line.find("removed inputs 782/784") != std::string::npos);
}

TEST_CASE("measure_test JSON line without optional sets") {
  EpochMetrics metrics;
  metrics.epoch = 1;
  metrics.train = {0.5, 0.25};
  const nlohmann::json json = nlohmann::json::parse(frugal::trainer::MeasureTestJson(metrics));
  CHECK_FALSE(json.contains("ent_val"));
  CHECK_FALSE(json.contains("ent_test"));
  CHECK(json["num_nonzero"]["total"]["num"] == 0);
}

TEST_CASE("measure_test JSON line in target mode") {
  EpochMetrics metrics;
  metrics.epoch = 3;
  metrics.train = {0.5, 0.25};
  metrics.nonzero = {{"dense_1/kernel", 40, 6}, {"dense_1/bias", 10, 4}};
  metrics.target_sparsity = 0.9;
  metrics.l1_scale = 1.5625;
  metrics.pruned = 7;
  const nlohmann::json json = nlohmann::json::parse(frugal::trainer::MeasureTestJson(metrics));
  CHECK(json["target_sparsity"] == 0.9);
  CHECK(json["sparsity"] == 0.8);  // 40 of 50 weights are zero
  CHECK(json["l1_scale"] == 1.5625);
  CHECK(json["pruned"] == 7);

  const std::string line = frugal::trainer::ProgressLine(metrics);
  CHECK(line.find("target 90.00% zeros, reached 80.00%, L1 scale 1.562") != std::string::npos);
  CHECK(line.find("pruned the 7 smallest weights") != std::string::npos);

  metrics.target_sparsity.reset();
  CHECK_FALSE(nlohmann::json::parse(frugal::trainer::MeasureTestJson(metrics)).contains("sparsity"));
}

TEST_CASE("progress line names the epoch and errors") {
  EpochMetrics metrics;
  metrics.epoch = 2;
  metrics.train = {0.5, 0.25};
  metrics.test = frugal::trainer::LossAndError{0.6, 0.125};
  metrics.nonzero = {{"dense_1/kernel", 10, 4}};
  const std::string line = frugal::trainer::ProgressLine(metrics);
  CHECK(line.find("epoch 2") != std::string::npos);
  CHECK(line.find("test error 12.50%") != std::string::npos);
  CHECK(line.find("non-zero 4/10") != std::string::npos);
}
