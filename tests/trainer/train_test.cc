// Tests of the training loop on a small synthetic data set: it learns, it is
// deterministic for a seed and across a resume, proximal Adagrad produces exact zeros,
// the retrain phase keeps them, and bad input fails.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "frugal/trainer/checkpoint.h"
#include "frugal/trainer/train.h"
#include "synthetic_data.h"
#include "test_paths.h"

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

TEST_CASE("train: retrain phase keeps every zero at zero") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 9);
  frugal::trainer::TrainData data;
  data.train = train.All();

  for (const auto kind : {frugal::trainer::OptimizerKind::kProximalSgd,
                          frugal::trainer::OptimizerKind::kProximalAdagrad,
                          frugal::trainer::OptimizerKind::kProximalAdam, frugal::trainer::OptimizerKind::kFtrl}) {
    INFO(frugal::trainer::OptimizerName(kind));
    TrainConfig config = SmallConfig();
    config.optimizer.kind = kind;
    config.optimizer.l1 = 3e-2f;
    config.optimizer.learning_rate = kind == frugal::trainer::OptimizerKind::kProximalAdam ? 0.01f : 0.1f;
    config.epochs = 3;
    config.retrain_epochs = 3;

    std::vector<frugal::trainer::TrainState> states;
    const Mlp final_model = frugal::trainer::Train(config, data, nullptr,
                                                   [&](const auto& state) { states.push_back(state); });
    REQUIRE(states.size() == 6);
    CHECK(states[2].mask.empty());

    // The mask is the set of weights above the threshold at the end of the sparse phase.
    const Mlp& sparse = states[2].model;
    const std::vector<std::vector<float>>& mask = states[3].mask;
    REQUIRE(mask.size() == 2 * sparse.layers.size());
    std::size_t masked = 0;
    for (std::size_t i = 0; i < sparse.layers.size(); ++i) {
      const Eigen::MatrixXf& kernel = sparse.layers[i].kernel;
      for (Eigen::Index k = 0; k < kernel.size(); ++k) {
        const bool keep = std::fabs(kernel.data()[k]) > frugal::trainer::kNonzeroThreshold;
        CHECK(mask[2 * i][static_cast<std::size_t>(k)] == (keep ? 1.0f : 0.0f));
        masked += keep ? 0 : 1;
      }
    }
    CHECK(masked > 0);

    // Every masked weight is exactly 0 after each retrain epoch, and some others moved.
    bool survivors_moved = false;
    for (std::size_t epoch = 3; epoch < 6; ++epoch) {
      CHECK(states[epoch].mask == mask);
      for (std::size_t i = 0; i < final_model.layers.size(); ++i) {
        const Eigen::MatrixXf& kernel = states[epoch].model.layers[i].kernel;
        const Eigen::VectorXf& bias = states[epoch].model.layers[i].bias;
        for (Eigen::Index k = 0; k < kernel.size(); ++k) {
          if (mask[2 * i][static_cast<std::size_t>(k)] == 0.0f) {
            INFO("epoch " << epoch + 1 << ", " << sparse.layers[i].name << "/kernel[" << k << "]");
            CHECK(kernel.data()[k] == 0.0f);
          } else if (kernel.data()[k] != sparse.layers[i].kernel.data()[k]) {
            survivors_moved = true;
          }
        }
        for (Eigen::Index k = 0; k < bias.size(); ++k) {
          if (mask[2 * i + 1][static_cast<std::size_t>(k)] == 0.0f) CHECK(bias[k] == 0.0f);
        }
      }
    }
    CHECK(survivors_moved);
  }
}

TEST_CASE("train: resume gives bit-identical weights") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(200, 3, 5);
  frugal::trainer::TrainData data;
  data.train = train.All();

  for (const auto kind : {frugal::trainer::OptimizerKind::kSgd, frugal::trainer::OptimizerKind::kProximalSgd,
                          frugal::trainer::OptimizerKind::kProximalAdagrad,
                          frugal::trainer::OptimizerKind::kProximalAdam, frugal::trainer::OptimizerKind::kFtrl}) {
    INFO(frugal::trainer::OptimizerName(kind));
    TrainConfig config = SmallConfig();
    config.optimizer.kind = kind;
    if (kind == frugal::trainer::OptimizerKind::kSgd) config.optimizer.l1 = 0.0f;
    if (kind == frugal::trainer::OptimizerKind::kProximalAdam) config.optimizer.learning_rate = 0.01f;
    config.epochs = 3;
    config.retrain_epochs = 2;
    config.l1_warmup_epochs = 2;
    // The group lasso keeps no state of its own, but its rates come from the optimizer's.
    const bool proximal = kind != frugal::trainer::OptimizerKind::kSgd && kind != frugal::trainer::OptimizerKind::kFtrl;
    if (proximal) {
      config.group_l1_units = 1e-3f;
      config.group_l1_inputs = 1e-3f;
    }

    std::vector<frugal::trainer::TrainState> states;
    const Mlp uninterrupted = frugal::trainer::Train(config, data, nullptr,
                                                     [&](const auto& state) { states.push_back(state); });
    REQUIRE(states.size() == 5);

    // Resume in the sparse phase, at the switch to retraining, and inside retraining,
    // each through a checkpoint file.
    for (const std::size_t after : {1u, 3u, 4u}) {
      INFO("resumed after epoch " << after);
      const std::string path = (frugal::testing::ScratchDir() / "resume.npz").string();
      frugal::trainer::SaveTrainState(path, states[after - 1], "unit test");
      const frugal::trainer::TrainState loaded = frugal::trainer::LoadTrainState(path);
      CHECK(loaded.epochs_done == after);
      std::size_t epochs_run = 0;
      const Mlp resumed = frugal::trainer::Train(
          config, data, [&](const auto&) { ++epochs_run; }, nullptr, &loaded);
      CHECK(epochs_run == 5 - after);
      CHECK(SameBits(uninterrupted, resumed));
    }
  }
}

TEST_CASE("train: rejects a resume state that does not fit") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(60, 3, 5);
  frugal::trainer::TrainData data;
  data.train = train.All();
  TrainConfig config = SmallConfig();
  config.epochs = 2;
  std::vector<frugal::trainer::TrainState> states;
  frugal::trainer::Train(config, data, nullptr, [&](const auto& state) { states.push_back(state); });
  REQUIRE(states.size() == 2);

  TrainConfig wider = config;
  wider.hidden = {13};
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(wider, data, nullptr, nullptr, &states[0]),
                       doctest::Contains("layer widths differ"), frugal::trainer::TrainerError);

  TrainConfig adam = config;
  adam.optimizer.kind = frugal::trainer::OptimizerKind::kProximalAdam;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(adam, data, nullptr, nullptr, &states[0]),
                       doctest::Contains("used optimizer proximal-adagrad, but this run is configured for proximal-adam"),
                       frugal::trainer::TrainerError);

  TrainConfig shorter = config;
  shorter.epochs = 1;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(shorter, data, nullptr, nullptr, &states[1]),
                       doctest::Contains("has done 2 epochs, more than the 1 configured"),
                       frugal::trainer::TrainerError);

  TrainConfig unknown_layer = config;
  unknown_layer.optimizer.l1_overrides = {{"dense_9", 1e-3f}};
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(unknown_layer, data, nullptr),
                       doctest::Contains("no layer or variable named \"dense_9\""),
                       frugal::trainer::TrainerError);
}

TEST_CASE("train: per-layer l1 sparsifies only its layer") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 9);
  frugal::trainer::TrainData data;
  data.train = train.All();
  TrainConfig config = SmallConfig();
  config.optimizer.l1 = 0.0f;
  config.optimizer.l1_overrides = {{"dense_1", 3e-2f}};
  const Mlp model = frugal::trainer::Train(config, data, nullptr);
  CHECK((model.layers[0].kernel.array() == 0.0f).count() > model.layers[0].kernel.size() / 4);
  CHECK((model.layers[1].kernel.array() == 0.0f).count() == 0);
}

TEST_CASE("train: group lasso removes whole units and inputs") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 9);
  frugal::trainer::TrainData data;
  data.train = train.All();

  for (const auto kind : {frugal::trainer::OptimizerKind::kProximalSgd,
                          frugal::trainer::OptimizerKind::kProximalAdagrad,
                          frugal::trainer::OptimizerKind::kProximalAdam}) {
    INFO(frugal::trainer::OptimizerName(kind));
    TrainConfig config = SmallConfig();
    config.hidden = {12, 8};
    config.optimizer.kind = kind;
    config.optimizer.l1 = 0.0f;
    config.optimizer.learning_rate = kind == frugal::trainer::OptimizerKind::kProximalAdam ? 0.01f : 0.1f;
    config.group_l1_units = 2e-2f;
    config.group_l1_inputs = 2e-2f;

    std::vector<frugal::trainer::EpochMetrics> epochs;
    const Mlp model = frugal::trainer::Train(config, data, [&](const auto& metrics) { epochs.push_back(metrics); });
    REQUIRE(epochs.size() == 4);
    const frugal::trainer::EpochMetrics& last = epochs.back();

    // The reported counts match the model, and something was removed.
    REQUIRE(last.removed_units.size() == 2);
    std::size_t removed = last.removed_inputs.removed;
    for (std::size_t i = 0; i < 2; ++i) {
      const Eigen::MatrixXf& kernel = model.layers[i].kernel;
      std::size_t zero_columns = 0;
      for (Eigen::Index c = 0; c < kernel.cols(); ++c) zero_columns += (kernel.col(c).array() == 0.0f).all();
      CHECK(last.removed_units[i].num == static_cast<std::size_t>(kernel.cols()));
      CHECK(last.removed_units[i].removed == zero_columns);
      removed += zero_columns;
    }
    std::size_t zero_rows = 0;
    for (Eigen::Index r = 0; r < model.layers[0].kernel.rows(); ++r) {
      zero_rows += (model.layers[0].kernel.row(r).array() == 0.0f).all();
    }
    CHECK(last.removed_inputs.num == frugal::testing::kSyntheticFeatures);
    CHECK(last.removed_inputs.removed == zero_rows);
    CHECK(removed > 0);

    // Without any L1 the same run keeps every unit and input, and no weight is exactly 0.
    TrainConfig plain = config;
    plain.group_l1_units = 0.0f;
    plain.group_l1_inputs = 0.0f;
    const Mlp dense = frugal::trainer::Train(plain, data, nullptr);
    CHECK((dense.layers[0].kernel.array() == 0.0f).count() == 0);
  }
}

TEST_CASE("train: group lasso options are checked") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(50, 3, 1);
  frugal::trainer::TrainData data;
  data.train = train.All();

  TrainConfig output_layer = SmallConfig();
  output_layer.group_l1_units_overrides = {{"dense_2", 1e-3f}};
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(output_layer, data, nullptr),
                       doctest::Contains("no hidden layer named \"dense_2\"; the hidden layers are dense_1 to dense_1"),
                       frugal::trainer::TrainerError);

  TrainConfig sgd = SmallConfig();
  sgd.optimizer.kind = frugal::trainer::OptimizerKind::kSgd;
  sgd.optimizer.l1 = 0.0f;
  sgd.group_l1_inputs = 1e-3f;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(sgd, data, nullptr), doctest::Contains("needs a proximal optimizer"),
                       frugal::trainer::TrainerError);

  TrainConfig ftrl = SmallConfig();
  ftrl.optimizer.kind = frugal::trainer::OptimizerKind::kFtrl;
  ftrl.group_l1_units = 1e-3f;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(ftrl, data, nullptr),
                       doctest::Contains("the group lasso needs proximal-sgd, proximal-adagrad or proximal-adam"),
                       frugal::trainer::TrainerError);

  TrainConfig negative = SmallConfig();
  negative.group_l1_units = -1.0f;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(negative, data, nullptr),
                       doctest::Contains("group l1 strength -1 must be non-negative"),
                       frugal::trainer::TrainerError);
}

TEST_CASE("train: ftrl learns and gives exact zeros") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 9);
  const frugal::trainer::Dataset test = frugal::testing::SyntheticDataset(90, 3, 2);
  frugal::trainer::TrainData data;
  data.train = train.All();
  data.test = test.All();
  TrainConfig config = SmallConfig();
  config.optimizer.kind = frugal::trainer::OptimizerKind::kFtrl;
  // FTRL compares l1 with z, a sum of gradients, not with a weight, so it needs a larger
  // strength than the proximal optimizers for the same sparsity.
  config.optimizer.l1 = 0.3f;
  std::vector<frugal::trainer::EpochMetrics> epochs;
  const Mlp model = frugal::trainer::Train(config, data, [&](const auto& metrics) { epochs.push_back(metrics); });
  REQUIRE(epochs.size() == 4);
  REQUIRE(epochs.back().test.has_value());
  CHECK(epochs.back().test->error_rate < 0.1);
  INFO("test error " << epochs.back().test->error_rate);
  CHECK((model.layers[0].kernel.array() == 0.0f).count() > model.layers[0].kernel.size() / 4);

  TrainConfig zero_beta = config;
  zero_beta.optimizer.ftrl_beta = 0.0f;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(zero_beta, data, nullptr),
                       doctest::Contains("ftrl beta 0 must be positive"), frugal::trainer::TrainerError);
}

TEST_CASE("train: two threads give bit-identical weights") {
  // A larger model than SmallConfig's, so that each thread's half batch does real work.
  constexpr std::size_t kFeatures = 256;
  constexpr std::size_t kCount = 640;
  frugal::trainer::Rng rng(3);
  frugal::trainer::Dataset train;
  train.count = kCount;
  train.features = kFeatures;
  train.pixels.resize(kCount * kFeatures);
  train.labels.resize(kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    train.labels[i] = static_cast<std::uint8_t>(i % 3);
    for (std::size_t p = 0; p < kFeatures; ++p) {
      const bool lit = p % 3 == i % 3;
      train.pixels[i * kFeatures + p] = static_cast<std::uint8_t>(rng.UniformBelow(lit ? 256 : 64));
    }
  }
  frugal::trainer::TrainData data;
  data.train = train.All();

  TrainConfig config = SmallConfig();
  config.hidden = {128};
  config.batch_size = 64;
  config.epochs = 2;
  if (!frugal::trainer::ThreadsSupported()) {
    config.threads = 2;
    CHECK_THROWS_WITH_AS(frugal::trainer::Train(config, data, nullptr), doctest::Contains("needs a build with OpenMP"),
                         frugal::trainer::TrainerError);
    return;
  }

  config.threads = 2;
  std::vector<frugal::trainer::EpochMetrics> epochs;
  const Mlp first = frugal::trainer::Train(config, data, [&](const auto& metrics) { epochs.push_back(metrics); });
  // Threads split the batch; Eigen's own splitting of products is compiled out.
  CHECK(Eigen::nbThreads() == 1);
  const Mlp second = frugal::trainer::Train(config, data, nullptr);
  CHECK(SameBits(first, second));

  // The two-thread run learns as the one-thread run does.
  config.threads = 1;
  std::vector<frugal::trainer::EpochMetrics> single_epochs;
  const Mlp single = frugal::trainer::Train(config, data, [&](const auto& metrics) { single_epochs.push_back(metrics); });
  REQUIRE(epochs.size() == 2);
  REQUIRE(single_epochs.size() == 2);
  CHECK(epochs.back().train.cross_entropy == doctest::Approx(single_epochs.back().train.cross_entropy).epsilon(1e-3));
  CHECK(SameBits(single, frugal::trainer::Train(config, data, nullptr)));
}

TEST_CASE("learning rate scale: constant and cosine") {
  TrainConfig config = SmallConfig();
  config.epochs = 4;
  config.retrain_epochs = 2;
  const std::size_t steps = 10;
  for (std::size_t epoch = 1; epoch <= 6; ++epoch) {
    CHECK(frugal::trainer::LearningRateScale(config, epoch, 3, steps) == 1.0f);
  }

  config.lr_schedule = frugal::trainer::LearningRateSchedule::kCosine;
  config.lr_floor = 0.1f;
  using frugal::trainer::LearningRateScale;
  // Each phase starts at the full rate, passes (1 + floor) / 2 halfway and decreases at
  // every step towards the floor.
  CHECK(LearningRateScale(config, 1, 0, steps) == 1.0f);
  CHECK(LearningRateScale(config, 5, 0, steps) == 1.0f);
  CHECK(LearningRateScale(config, 3, 0, steps) == doctest::Approx(0.55));
  CHECK(LearningRateScale(config, 6, 0, steps) == doctest::Approx(0.55));
  for (const auto& [first, last] : {std::pair<std::size_t, std::size_t>{1, 4}, {5, 6}}) {
    INFO("phase of epochs " << first << " to " << last);
    float previous = 2.0f;
    for (std::size_t epoch = first; epoch <= last; ++epoch) {
      for (std::size_t step = 0; step < steps; ++step) {
        const float scale = LearningRateScale(config, epoch, step, steps);
        INFO("epoch " << epoch << ", step " << step << ": " << scale << " after " << previous);
        CHECK(scale < previous);
        CHECK(scale > config.lr_floor);
        previous = scale;
      }
    }
    CHECK(previous == doctest::Approx(0.1).epsilon(0.02));
  }
}

TEST_CASE("train: cosine schedule changes the weights") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(200, 3, 5);
  frugal::trainer::TrainData data;
  data.train = train.All();
  TrainConfig cosine = SmallConfig();
  cosine.lr_schedule = frugal::trainer::LearningRateSchedule::kCosine;
  const Mlp constant_model = frugal::trainer::Train(SmallConfig(), data, nullptr);
  const Mlp cosine_model = frugal::trainer::Train(cosine, data, nullptr);
  CHECK_FALSE(SameBits(constant_model, cosine_model));
  CHECK(SameBits(cosine_model, frugal::trainer::Train(cosine, data, nullptr)));
}

TEST_CASE("zeros for sparsity: smallest count that reaches the fraction") {
  using frugal::trainer::ZerosForSparsity;
  CHECK(ZerosForSparsity(0.9, 55050) == 49545);
  CHECK(ZerosForSparsity(0.9, 10) == 9);
  CHECK(ZerosForSparsity(0.5, 3) == 2);
  CHECK(ZerosForSparsity(0.25, 4) == 1);
  CHECK(ZerosForSparsity(0.999, 10) == 10);
}

TEST_CASE("prune to sparsity: keeps exactly the largest weights") {
  Mlp model;
  frugal::trainer::DenseLayer first;
  first.name = "dense_1";
  first.kernel.resize(2, 3);
  // Column-major: kernel.data() is {0.5, -0.1, 0, 0.3, -0.2, 0.05}.
  first.kernel << 0.5f, 0.0f, -0.2f,
                  -0.1f, 0.3f, 0.05f;
  first.bias.resize(3);
  first.bias << 0.01f, -0.02f, 0.0f;  // not prunable below
  frugal::trainer::DenseLayer second;
  second.name = "dense_2";
  second.kernel.resize(3, 1);
  second.kernel << -0.04f, 0.6f, 0.04f;
  second.bias.resize(1);
  second.bias << 0.7f;
  model.layers = {first, second};

  // 13 weights, 2 of them zero. 0.6 needs 8 zeros, so the 6 smallest prunable non-zero
  // weights go: 0.04 and -0.04 (dense_2/kernel), 0.05, -0.1, -0.2 and 0.3 (dense_1/kernel).
  // The biases of dense_1, smaller still, are not prunable.
  const std::vector<bool> prunable = {true, false, true, true};
  Mlp pruned = model;
  CHECK(frugal::trainer::PruneToSparsity(pruned, 0.6, prunable) == 6);
  Eigen::MatrixXf expected_first(2, 3);
  expected_first << 0.5f, 0.0f, 0.0f,
                    0.0f, 0.0f, 0.0f;
  CHECK(pruned.layers[0].kernel == expected_first);
  CHECK(pruned.layers[0].bias == model.layers[0].bias);
  Eigen::MatrixXf expected_second(3, 1);
  expected_second << 0.0f, 0.6f, 0.0f;
  CHECK(pruned.layers[1].kernel == expected_second);
  CHECK(pruned.layers[1].bias == model.layers[1].bias);

  // Of two equal magnitudes the one in the earlier position goes first: 0.23 needs 3
  // zeros, one more than there are.
  Mlp tie = model;
  CHECK(frugal::trainer::PruneToSparsity(tie, 0.23, prunable) == 1);
  CHECK(tie.layers[1].kernel(0, 0) == 0.0f);
  CHECK(tie.layers[1].kernel(2, 0) == 0.04f);

  // A target already met prunes nothing, and one out of reach prunes every candidate.
  Mlp unchanged = model;
  CHECK(frugal::trainer::PruneToSparsity(unchanged, 0.1, prunable) == 0);
  CHECK(SameBits(unchanged, model));
  Mlp everything = model;
  CHECK(frugal::trainer::PruneToSparsity(everything, 0.99, prunable) == 9);
  CHECK(everything.layers[0].kernel.isZero());
  CHECK(everything.layers[0].bias == model.layers[0].bias);
  CHECK(everything.layers[1].kernel.isZero());
  CHECK(everything.layers[1].bias(0) == 0.0f);
}

TEST_CASE("train: target sparsity raises l1 until reached") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 9);
  frugal::trainer::TrainData data;
  data.train = train.All();
  TrainConfig config = SmallConfig();
  config.optimizer.kind = frugal::trainer::OptimizerKind::kProximalAdam;
  config.optimizer.learning_rate = 0.01f;
  config.optimizer.l1 = 1e-4f;
  config.epochs = 12;
  config.l1_warmup_epochs = 2;

  // Without the target mode this strength leaves most weights non-zero.
  std::vector<frugal::trainer::EpochMetrics> plain;
  frugal::trainer::Train(config, data, [&](const auto& metrics) { plain.push_back(metrics); });
  const auto zero_fraction = [](const frugal::trainer::EpochMetrics& metrics) {
    std::size_t total = 0;
    std::size_t nonzero = 0;
    for (const auto& count : metrics.nonzero) {
      total += count.num;
      nonzero += count.nonzero;
    }
    return static_cast<double>(total - nonzero) / static_cast<double>(total);
  };
  REQUIRE(zero_fraction(plain.back()) < 0.5);
  CHECK_FALSE(plain.back().target_sparsity.has_value());

  config.target_sparsity = 0.7;
  config.target_l1_growth = 2.0;
  std::vector<frugal::trainer::EpochMetrics> epochs;
  frugal::trainer::Train(config, data, [&](const auto& metrics) { epochs.push_back(metrics); });
  REQUIRE(epochs.size() == 12);
  CHECK(epochs[0].l1_scale == 0.5);
  CHECK(epochs[1].l1_scale == 1.0);
  // Growth alone reaches the target before the last epoch, so the prune has nothing to do.
  CHECK(zero_fraction(epochs.back()) >= 0.7);
  CHECK(epochs.back().pruned == 0);
  CHECK(epochs.back().l1_scale > 1.0);
  for (std::size_t i = 2; i < epochs.size(); ++i) {
    INFO("epoch " << i + 1);
    REQUIRE(epochs[i].target_sparsity.has_value());
    CHECK(*epochs[i].target_sparsity == 0.7);
    // The scale grows by exactly the factor after every epoch below the target.
    const double factor = zero_fraction(epochs[i - 1]) < 0.7 ? 2.0 : 1.0;
    CHECK(epochs[i].l1_scale == epochs[i - 1].l1_scale * factor);
  }
}

TEST_CASE("train: target sparsity prunes to the exact count") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(300, 3, 9);
  frugal::trainer::TrainData data;
  data.train = train.All();
  TrainConfig config = SmallConfig();
  config.optimizer.l1 = 1e-4f;
  config.optimizer.l1_overrides = {{"dense_2/bias", 0.0f}};
  config.epochs = 1;  // no epoch to grow in
  config.retrain_epochs = 2;
  config.target_sparsity = 0.8;

  std::vector<frugal::trainer::EpochMetrics> epochs;
  std::vector<frugal::trainer::TrainState> states;
  frugal::trainer::Train(config, data, [&](const auto& metrics) { epochs.push_back(metrics); },
                         [&](const auto& state) { states.push_back(state); });
  REQUIRE(epochs.size() == 3);
  const std::size_t total = frugal::testing::kSyntheticFeatures * 12 + 12 + 12 * 3 + 3;
  const std::size_t required = frugal::trainer::ZerosForSparsity(0.8, total);
  std::size_t nonzero = 0;
  for (const auto& count : epochs[0].nonzero) nonzero += count.nonzero;
  CHECK(epochs[0].pruned > 0);
  CHECK(total - nonzero == required);
  // The variable without L1 is left alone, and the retrain keeps the pruned weights at 0.
  CHECK((states[0].model.layers[1].bias.array() != 0.0f).all());
  std::size_t masked = 0;
  for (const std::vector<float>& variable : states[1].mask) {
    for (const float keep : variable) masked += keep == 0.0f;
  }
  CHECK(masked == required);
  CHECK(epochs[2].l1_scale == 0.0);
}

TEST_CASE("train: resume with cosine and target mode is bit-identical") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(200, 3, 5);
  frugal::trainer::TrainData data;
  data.train = train.All();
  TrainConfig config = SmallConfig();
  config.optimizer.kind = frugal::trainer::OptimizerKind::kProximalAdam;
  config.optimizer.learning_rate = 0.01f;
  config.optimizer.l1 = 1e-4f;
  config.epochs = 4;
  config.retrain_epochs = 2;
  config.l1_warmup_epochs = 1;
  config.lr_schedule = frugal::trainer::LearningRateSchedule::kCosine;
  config.target_sparsity = 0.9;

  std::vector<frugal::trainer::TrainState> states;
  const Mlp uninterrupted = frugal::trainer::Train(config, data, nullptr,
                                                   [&](const auto& state) { states.push_back(state); });
  REQUIRE(states.size() == 6);
  // The scale grew, so a resume that lost it would train differently.
  CHECK(states[1].l1_target_scale > 1.0);

  for (const std::size_t after : {2u, 4u, 5u}) {
    INFO("resumed after epoch " << after);
    const std::string path = (frugal::testing::ScratchDir() / "resume-target.npz").string();
    frugal::trainer::SaveTrainState(path, states[after - 1], "unit test");
    const frugal::trainer::TrainState loaded = frugal::trainer::LoadTrainState(path);
    CHECK(loaded.l1_target_scale == states[after - 1].l1_target_scale);
    const Mlp resumed = frugal::trainer::Train(config, data, nullptr, nullptr, &loaded);
    CHECK(SameBits(uninterrupted, resumed));
  }
}

TEST_CASE("train: rejects invalid target and schedule settings") {
  const frugal::trainer::Dataset train = frugal::testing::SyntheticDataset(50, 3, 1);
  frugal::trainer::TrainData data;
  data.train = train.All();

  TrainConfig full = SmallConfig();
  full.target_sparsity = 1.0;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(full, data, nullptr),
                       doctest::Contains("target sparsity 1 is out of range (0, 1)"),
                       frugal::trainer::TrainerError);

  TrainConfig shrinking = SmallConfig();
  shrinking.target_sparsity = 0.5;
  shrinking.target_l1_growth = 0.5;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(shrinking, data, nullptr),
                       doctest::Contains("target L1 growth 0.5 must be at least 1"),
                       frugal::trainer::TrainerError);

  TrainConfig no_l1 = SmallConfig();
  no_l1.optimizer.l1 = 0.0f;
  no_l1.target_sparsity = 0.5;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(no_l1, data, nullptr),
                       doctest::Contains("every L1 strength is 0"), frugal::trainer::TrainerError);

  TrainConfig sgd = SmallConfig();
  sgd.optimizer.kind = frugal::trainer::OptimizerKind::kSgd;
  sgd.optimizer.l1 = 0.0f;
  sgd.target_sparsity = 0.5;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(sgd, data, nullptr),
                       doctest::Contains("the target sparsity needs a proximal optimizer"),
                       frugal::trainer::TrainerError);

  TrainConfig floor = SmallConfig();
  floor.lr_floor = 1.0f;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(floor, data, nullptr),
                       doctest::Contains("learning rate floor 1 is out of range [0, 1)"),
                       frugal::trainer::TrainerError);

  TrainConfig ftrl = SmallConfig();
  ftrl.optimizer.kind = frugal::trainer::OptimizerKind::kFtrl;
  ftrl.lr_schedule = frugal::trainer::LearningRateSchedule::kCosine;
  CHECK_THROWS_WITH_AS(frugal::trainer::Train(ftrl, data, nullptr),
                       doctest::Contains("the cosine learning-rate schedule does not apply to ftrl"),
                       frugal::trainer::TrainerError);
}
