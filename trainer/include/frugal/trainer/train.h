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

enum class LearningRateSchedule { kConstant, kCosine };

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
  // kCosine decays the learning rate of each phase (the sparse epochs, then the retrain
  // epochs) at every step along half a cosine, from the phase's rate at its first step
  // towards lr_floor times that rate after its last step.
  LearningRateSchedule lr_schedule = LearningRateSchedule::kConstant;
  float lr_floor = 0.0f;  // fraction of the phase's learning rate, in [0, 1)
  // Target mode, off at 0. Otherwise the fraction of all weights (biases included) that
  // should end at |w| <= kNonzeroThreshold, in (0, 1). After every sparse epoch from the
  // end of the warm-up on, while the measured fraction is below it, every L1 strength
  // grows by the factor target_l1_growth. If the fraction is still below target after
  // the last sparse epoch, PruneToSparsity zeroes the smallest weights of the variables
  // with L1 > 0 until it is reached. NOTE: the zero fraction lags the strength and rises
  // further as a cosine schedule decays the rate, so a growth above 1 can overshoot the
  // target, and nothing lowers the strengths again.
  double target_sparsity = 0.0;
  double target_l1_growth = 1.25;  // >= 1; 1 leaves the strengths alone and only prunes
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
  // Target mode: the factor on every L1 strength for the next sparse epoch, on top of
  // the warm-up. 1 when the mode is off.
  double l1_target_scale = 1.0;
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

// The factor on the learning rate at step `step` (0-based) of epoch `epoch` (1-based),
// with `steps_per_epoch` steps in every epoch: 1 for kConstant, the cosine decay of
// TrainConfig::lr_schedule otherwise.
float LearningRateScale(const TrainConfig& config, std::size_t epoch, std::size_t step,
                        std::size_t steps_per_epoch);

// The number of zero weights that makes a fraction `sparsity` of `total`: the smallest n
// with n / total >= sparsity.
std::size_t ZerosForSparsity(double sparsity, std::size_t total);

// Sets the smallest-magnitude non-zero weights (|w| > kNonzeroThreshold) of the variables
// with prunable[v] true to exactly 0 until at least ZerosForSparsity(sparsity, all weights)
// weights are at |w| <= kNonzeroThreshold, or no prunable non-zero weight is left.
// Variables are numbered as in TrainState::mask. Equal magnitudes go in variable, then
// index order, so the result is deterministic. Returns the number of weights set to 0.
std::size_t PruneToSparsity(Mlp& model, double sparsity, const std::vector<bool>& prunable);

// Checks `config` and throws TrainerError naming the first invalid field.
void ValidateConfig(const TrainConfig& config);

}  // namespace frugal::trainer
