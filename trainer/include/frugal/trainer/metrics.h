// Evaluation after each epoch: loss and error rate on a data set, non-zero counts per
// variable, and the JSON line and progress line that report them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "frugal/trainer/data.h"
#include "frugal/trainer/model.h"

namespace frugal::trainer {

// A weight counts as non-zero when |w| > 1e-5, the threshold of the TensorFlow
// experiments whose logs the JSON line reproduces.
inline constexpr float kNonzeroThreshold = 1e-5f;

struct LossAndError {
  double cross_entropy = 0.0;  // mean softmax cross-entropy in nats, without any penalty
  double error_rate = 0.0;     // fraction of examples misclassified, in [0, 1]
};

// Evaluates the whole view in chunks of `chunk_size` examples.
LossAndError Evaluate(const Mlp& model, const DataView& data, std::size_t chunk_size = 2048);

struct NonzeroCount {
  std::string name;  // "dense_1/kernel", "dense_1/bias", ...
  std::size_t num = 0;
  std::size_t nonzero = 0;
};

// Counts per variable, kernels before biases within a layer, in layer order.
std::vector<NonzeroCount> CountNonzero(const Mlp& model, float threshold = kNonzeroThreshold);

// Units of a hidden layer, or inputs of the first layer, that the model no longer uses.
struct RemovedCount {
  std::string name;  // the layer ("dense_1") for units, "inputs" for the inputs
  std::size_t num = 0;
  std::size_t removed = 0;
};

// Per hidden layer, in layer order: the units whose incoming weights (kernel column) are
// all exactly 0. The bias is not looked at, so a removed unit with a positive bias still
// outputs a constant.
std::vector<RemovedCount> CountRemovedUnits(const Mlp& model);

// The inputs whose outgoing weights (row of the first kernel) are all exactly 0.
RemovedCount CountRemovedInputs(const Mlp& model);

struct EpochMetrics {
  std::size_t epoch = 0;  // 1 for the first epoch
  LossAndError train;     // on the training part, after the epoch's last step
  std::optional<LossAndError> validation;
  std::optional<LossAndError> test;
  std::vector<NonzeroCount> nonzero;
  std::vector<RemovedCount> removed_units;  // per hidden layer
  RemovedCount removed_inputs;
  double mean_batch_loss = 0.0;  // mean over the epoch's steps, including any L1 penalty
  double train_seconds = 0.0;    // wall time of the epoch's steps, without evaluation
  double evaluate_seconds = 0.0;
  // Target mode only (TrainConfig::target_sparsity > 0): the requested fraction of zero
  // weights, the factor on the configured L1 strengths during the epoch (warm-up
  // included; 0 in the retrain phase, which has no L1), and the weights that the
  // epoch's end-of-phase prune set to 0.
  std::optional<double> target_sparsity;
  double l1_scale = 0.0;
  std::size_t pruned = 0;
};

// The "measure_test" JSON line of the TensorFlow experiments: ent_* and inacc_* for
// train and test, num_nonzero per variable with a "total", plus ent_val, inacc_val,
// removed_units per hidden layer, removed_inputs and seconds. Target mode adds
// target_sparsity, sparsity (the zero fraction reached), l1_scale and pruned. The line
// has no trailing newline.
std::string MeasureTestJson(const EpochMetrics& metrics);

// A human-readable summary for stderr. No trailing newline.
std::string ProgressLine(const EpochMetrics& metrics);

}  // namespace frugal::trainer
