// The training loop: shuffled mini-batches, an optimizer step per variable, and an
// evaluation after every epoch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frugal/trainer/data.h"
#include "frugal/trainer/metrics.h"
#include "frugal/trainer/model.h"
#include "frugal/trainer/optimizer.h"

namespace frugal::trainer {

struct TrainConfig {
  std::vector<std::size_t> hidden{64, 64};
  std::size_t class_count = 10;
  std::size_t epochs = 5;
  std::size_t batch_size = 64;
  std::uint64_t seed = 1;
  double input_scale = 1.0 / 255.0;
  OptimizerConfig optimizer;
  // Keras kernel_regularizer=l1(C): adds C * sum|w| over kernels to the loss. 0 = off.
  float l1_penalty = 0.0f;
};

// Training examples and the sets evaluated after each epoch. Empty views are skipped.
struct TrainData {
  DataView train;
  DataView validation;
  DataView test;
};

// One line summarising the run for the checkpoint, such as
// "proximal-adagrad lr=0.05 l1=5e-05 l2=0 initial_accumulator=0.0001, 5 epochs, batch 64, seed 1".
std::string DescribeRun(const TrainConfig& config);

// Trains a new model from `config.seed` and calls `on_epoch` after every epoch. The
// seed fixes the initial weights and every epoch's shuffle, so equal inputs give
// bit-identical weights. Throws TrainerError on invalid settings, on data whose labels
// reach class_count, and when the loss stops being finite.
Mlp Train(const TrainConfig& config, const TrainData& data,
          const std::function<void(const EpochMetrics&)>& on_epoch);

// Checks `config` and throws TrainerError naming the first invalid field.
void ValidateConfig(const TrainConfig& config);

}  // namespace frugal::trainer
