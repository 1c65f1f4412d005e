// Tests of the training loop on a small synthetic data set: it learns, it is
// deterministic for a seed, proximal Adagrad produces exact zeros, and bad input fails.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "frugal/trainer/train.h"
#include "synthetic_data.h"

using frugal::trainer::Mlp;
using frugal::trainer::TrainConfig;

namespace {

TrainConfig SmallConfig() {
  TrainConfig config;
  config.hidden = {12};
  config.class_count = 3;
  config.epochs = 4;
  config.batch_size = 16;
  config.seed = 7;
  config.optimizer.kind = frugal::trainer::OptimizerKind::kProximalAdagrad;
  config.optimizer.learning_rate = 0.1f;
  config.optimizer.l1 = 1e-3f;
  return config;
}

bool SameBits(const Mlp& a, const Mlp& b) {
  if (a.layers.size() != b.layers.size()) return false;
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const auto& x = a.layers[i];
    const auto& y = b.layers[i];
    if (x.kernel.size() != y.kernel.size() || x.bias.size() != y.bias.size()) return false;
    if (std::memcmp(x.kernel.data(), y.kernel.data(), sizeof(float) * x.kernel.size()) != 0) return false;
    if (std::memcmp(x.bias.data(), y.bias.data(), sizeof(float) * x.bias.size()) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("train: learns a separable synthetic set") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 1);
  const frugal::trainer::Dataset test = frugal::testing::SyntheticDataset(90, 3, 2);
  frugal::trainer::TrainData data;
  data.train = train.All();
  data.test = test.All();

  std::vector<frugal::trainer::EpochMetrics> epochs;
  const Mlp model = frugal::trainer::Train(SmallConfig(), data,
                                           [&](const auto& metrics) { epochs.push_back(metrics); });
  REQUIRE(epochs.size() == 4);
  for (std::size_t i = 0; i < epochs.size(); ++i) CHECK(epochs[i].epoch == i + 1);
  CHECK(epochs.back().train.cross_entropy < epochs.front().train.cross_entropy);
  REQUIRE(epochs.back().test.has_value());
  CHECK(epochs.back().test->error_rate < 0.1);
  CHECK_FALSE(epochs.back().validation.has_value());
  CHECK(model.input_size() == frugal::testing::kSyntheticFeatures);
  CHECK(model.class_count() == 3);

  // The JSON line of a real epoch parses and carries the epoch's numbers.
  const nlohmann::json json = nlohmann::json::parse(frugal::trainer::MeasureTestJson(epochs.back()));
  CHECK(json["epochAfter"] == 4);
  CHECK(json["inacc_test"].get<double>() == epochs.back().test->error_rate);
  CHECK(json["num_nonzero"]["dense_1/kernel"]["num"] == frugal::testing::kSyntheticFeatures * 12);
}

TEST_CASE("train: same seed gives bit-identical weights") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(200, 3, 5);
  frugal::trainer::TrainData data;
  data.train = train.All();

  const Mlp first = frugal::trainer::Train(SmallConfig(), data, nullptr);
  const Mlp second = frugal::trainer::Train(SmallConfig(), data, nullptr);
  CHECK(SameBits(first, second));

  TrainConfig other_seed = SmallConfig();
  other_seed.seed = 8;
  CHECK_FALSE(SameBits(first, frugal::trainer::Train(other_seed, data, nullptr)));

  TrainConfig sgd = SmallConfig();
  sgd.optimizer.kind = frugal::trainer::OptimizerKind::kSgd;
  sgd.optimizer.l1 = 0.0f;
  sgd.l1_penalty = 1e-3f;
  CHECK(SameBits(frugal::trainer::Train(sgd, data, nullptr), frugal::trainer::Train(sgd, data, nullptr)));
}

TEST_CASE("train: proximal adagrad gives exact zeros, the l1 penalty does not") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 9);
  frugal::trainer::TrainData data;
  data.train = train.All();

  TrainConfig proximal = SmallConfig();
  proximal.optimizer.l1 = 3e-2f;
  const Mlp sparse = frugal::trainer::Train(proximal, data, nullptr);
  const Eigen::Index zeros = (sparse.layers[0].kernel.array() == 0.0f).count();
  CHECK(zeros > sparse.layers[0].kernel.size() / 4);

  TrainConfig penalty = SmallConfig();
  penalty.optimizer.kind = frugal::trainer::OptimizerKind::kSgd;
  penalty.optimizer.l1 = 0.0f;
  penalty.optimizer.learning_rate = 0.05f;
  penalty.l1_penalty = 3e-2f;
  const Mlp dense = frugal::trainer::Train(penalty, data, nullptr);
  CHECK((dense.layers[0].kernel.array() == 0.0f).count() == 0);
}

TEST_CASE("train: rejects invalid settings and data") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(50, 3, 1);
  frugal::trainer::TrainData data;
  data.train = train.All();

  TrainConfig zero_batch = SmallConfig();
  zero_batch.batch_size = 0;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(zero_batch, data, nullptr),
                       doctest::Contains("batch size is 0"), frugal::trainer::TrainerError);

  TrainConfig negative_rate = SmallConfig();
  negative_rate.optimizer.learning_rate = -0.1f;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(negative_rate, data, nullptr),
                       doctest::Contains("learning rate -0.1"), frugal::trainer::TrainerError);

  TrainConfig two_classes = SmallConfig();
  two_classes.class_count = 2;  // the data has labels 0..2
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(two_classes, data, nullptr),
                       doctest::Contains("is out of range [0, 2)"), frugal::trainer::TrainerError);

  TrainConfig diverging = SmallConfig();
  diverging.optimizer.kind = frugal::trainer::OptimizerKind::kSgd;
  diverging.optimizer.l1 = 0.0f;
  diverging.optimizer.learning_rate = 1e30f;
  diverging.input_scale = 1.0;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(diverging, data, nullptr),
                       doctest::Contains("training diverged"), frugal::trainer::TrainerError);
}
