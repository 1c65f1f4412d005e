// The training loop: shuffled mini-batches, an optimizer step per variable, and an
// evaluation after every epoch.
#pragma once

#include <array>
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
  // Group lasso strengths (see group_lasso.h), scaled by the L1 warm-up like the L1
  // strengths and off in the retrain phase. Units: the incoming weights of each hidden
  // unit, with a default for every hidden layer and per-layer overrides ("dense_1").
  // Inputs: the outgoing weights of each input, the rows of dense_1/kernel. 0 = off.
  float group_l1_units = 0.0f;
  std::vector<NamedStrength> group_l1_units_overrides;
  float group_l1_inputs = 0.0f;
  // The L1 strengths grow linearly from 1/N of their value in epoch 1 to their full
  // value in epoch N. 0 = full strength from the start.
  std::size_t l1_warmup_epochs = 0;
  // Epochs after `epochs` that train only the weights with |w| > kNonzeroThreshold: the
  // others are set to 0 and their gradients masked, with a fresh optimizer of the same
  // kind without L1 and without the L1 penalty.
  std::size_t retrain_epochs = 0;
  float retrain_learning_rate = 0.0f;  // 0 = optimizer.learning_rate
  // Threads that share each batch's backpropagation (see ParallelBackprop), which needs
  // a build with OpenMP (see ThreadsSupported). A seed gives bit-identical weights for
  // the same thread count. Other counts may differ in the last bits.
  std::size_t threads = 1;
};

// Whether this build can train on several threads (it was built with OpenMP).
bool ThreadsSupported();

// Everything a checkpoint needs to continue a run exactly where it stopped.
struct TrainState {
  Mlp model;
  std::size_t epochs_done = 0;
  std::array<std::uint64_t, 4> rng_state{};  // the shuffle generator after epochs_done
  std::string optimizer_name;                // OptimizerName of the optimizer below
  std::vector<std::string> optimizer_slots;  // its slot_names()
  std::vector<VariableState> optimizer_state;
  // Per variable (kernel of layer i at 2i, bias at 2i + 1, in the variable's memory
  // order): 1 where the retrain phase may change the weight, 0 where it stays 0. Empty
  // before the retrain phase.
  std::vector<std::vector<float>> mask;
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

// Trains a new model from `config.seed`, or continues `resume` if it is not null, for
// epochs + retrain_epochs epochs in all. Calls `on_epoch` and then `on_state` (if set)
// after every epoch. The seed fixes the initial weights and every epoch's shuffle, so
// equal inputs give bit-identical weights, also across a checkpoint and resume. Throws
// TrainerError on invalid settings, on data whose labels reach class_count, on a resume
// state that does not fit the config, and when the loss stops being finite.
Mlp Train(const TrainConfig& config, const TrainData& data,
          const std::function<void(const EpochMetrics&)>& on_epoch,
          const std::function<void(const TrainState&)>& on_state = {},
          const TrainState* resume = nullptr);

// Checks `config` and throws TrainerError naming the first invalid field.
void ValidateConfig(const TrainConfig& config);

}  // namespace frugal::trainer
