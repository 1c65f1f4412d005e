// The mini-batch training loop.
#include "frugal/trainer/train.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <span>

namespace frugal::trainer {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string NumberText(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

void CheckLabelRange(const DataView& view, std::size_t class_count, const char* set_name) {
  for (std::size_t i = 0; i < view.count; ++i) {
    if (view.labels[i] >= class_count) {
      throw TrainerError(std::string(set_name) + " data: label[" + std::to_string(i) + "] = " +
                         std::to_string(view.labels[i]) + " is out of range [0, " +
                         std::to_string(class_count) + ")");
    }
  }
}

std::optional<LossAndError> EvaluateIfPresent(const Mlp& model, const DataView& view) {
  if (view.count == 0) return std::nullopt;
  return Evaluate(model, view);
}

}  // namespace

void ValidateConfig(const TrainConfig& config) {
  const auto fail = [](const std::string& what) { throw TrainerError(what); };

  if (config.batch_size == 0) fail("batch size is 0; it must be at least 1");
  if (config.class_count < 2 || config.class_count > 256) {
    fail("class count " + std::to_string(config.class_count) + " is out of range [2, 256]");
  }
  for (std::size_t i = 0; i < config.hidden.size(); ++i) {
    if (config.hidden[i] == 0) fail("hidden layer " + std::to_string(i + 1) + " has 0 units");
  }

  const OptimizerConfig& optimizer = config.optimizer;
  if (!(optimizer.learning_rate > 0.0f) || !std::isfinite(optimizer.learning_rate)) {
    fail("learning rate " + NumberText(optimizer.learning_rate) + " must be positive and finite");
  }
  if (!(optimizer.l1 >= 0.0f) || !std::isfinite(optimizer.l1)) {
    fail("l1 " + NumberText(optimizer.l1) + " must be non-negative and finite");
  }
  if (!(optimizer.l2 >= 0.0f) || !std::isfinite(optimizer.l2)) {
    fail("l2 " + NumberText(optimizer.l2) + " must be non-negative and finite");
  }
  if (optimizer.kind == OptimizerKind::kProximalAdagrad &&
      (!(optimizer.initial_accumulator > 0.0f) || !std::isfinite(optimizer.initial_accumulator))) {
    fail("initial accumulator " + NumberText(optimizer.initial_accumulator) +
         " must be positive and finite");
  }
  if (optimizer.kind == OptimizerKind::kSgd && (optimizer.l1 != 0.0f || optimizer.l2 != 0.0f)) {
    fail("l1 and l2 apply only to proximal-adagrad; use --l1-penalty with sgd");
  }

  if (!(config.l1_penalty >= 0.0f) || !std::isfinite(config.l1_penalty)) {
    fail("l1 penalty " + NumberText(config.l1_penalty) + " must be non-negative and finite");
  }
  if (!(config.input_scale > 0.0) || !std::isfinite(config.input_scale)) {
    fail("input scale " + NumberText(config.input_scale) + " must be positive and finite");
  }
}

std::string DescribeRun(const TrainConfig& config) {
  std::string text = MakeOptimizer(config.optimizer)->Describe();
  if (config.l1_penalty > 0.0f) text += " l1_penalty=" + NumberText(config.l1_penalty);
  text += ", " + std::to_string(config.epochs) + " epochs, batch " +
          std::to_string(config.batch_size) + ", seed " + std::to_string(config.seed);
  if (config.input_scale == 1.0) text += ", raw pixels";
  return text;
}

Mlp Train(const TrainConfig& config, const TrainData& data,
          const std::function<void(const EpochMetrics&)>& on_epoch) {
  ValidateConfig(config);
  if (data.train.count == 0) throw TrainerError("training data is empty");
  if (data.train.count > UINT32_MAX) throw TrainerError("training data has more than 2^32 - 1 examples");
  CheckLabelRange(data.train, config.class_count, "training");
  CheckLabelRange(data.validation, config.class_count, "validation");
  CheckLabelRange(data.test, config.class_count, "test");
  for (const DataView* view : {&data.validation, &data.test}) {
    if (view->count > 0 && view->features != data.train.features) {
      throw TrainerError("evaluation data has " + std::to_string(view->features) +
                         " features per example, but training data has " +
                         std::to_string(data.train.features));
    }
  }

  // One generator drives initialisation, then every epoch's shuffle, in that order.
  Rng rng(config.seed);
  Mlp model = CreateMlp(data.train.features, config.hidden, config.class_count,
                        config.input_scale, rng);
  std::unique_ptr<Optimizer> optimizer = MakeOptimizer(config.optimizer);

  std::vector<std::uint32_t> order(data.train.count);
  Eigen::MatrixXf inputs;
  std::vector<std::uint8_t> labels(config.batch_size);
  Backprop backprop;
  Gradients gradients;

  for (std::size_t epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    std::iota(order.begin(), order.end(), 0u);
    rng.Shuffle(order);

    double loss_sum = 0.0;
    std::size_t steps = 0;
    // The last batch of an epoch may be smaller, as with tf.data's batch() by default.
    for (std::size_t first = 0; first < order.size(); first += config.batch_size) {
      const std::size_t count = std::min(config.batch_size, order.size() - first);
      GatherInputs(model, data.train.pixels, order, first, count, inputs);
      for (std::size_t j = 0; j < count; ++j) labels[j] = data.train.labels[order[first + j]];

      double loss = backprop.ComputeGradients(model, inputs, std::span(labels.data(), count), gradients);
      for (std::size_t i = 0; i < model.layers.size(); ++i) {
        DenseLayer& layer = model.layers[i];
        std::span<float> kernel(layer.kernel.data(), static_cast<std::size_t>(layer.kernel.size()));
        std::span<float> kernel_gradient(gradients.kernels[i].data(), kernel.size());
        if (config.l1_penalty > 0.0f) {
          AddL1PenaltyGradient(config.l1_penalty, kernel, kernel_gradient);
          loss += static_cast<double>(config.l1_penalty) *
                  static_cast<double>(layer.kernel.cwiseAbs().sum());
        }
        optimizer->Step(2 * i, kernel, kernel_gradient);
        optimizer->Step(2 * i + 1, std::span(layer.bias.data(), static_cast<std::size_t>(layer.bias.size())),
                        std::span<const float>(gradients.biases[i].data(), gradients.biases[i].size()));
      }
      if (!std::isfinite(loss)) {
        throw TrainerError("epoch " + std::to_string(epoch) + ", step " + std::to_string(steps + 1) +
                           ": loss is " + NumberText(loss) +
                           "; training diverged, try a lower learning rate");
      }
      loss_sum += loss;
      ++steps;
    }

    EpochMetrics metrics;
    metrics.epoch = epoch;
    metrics.mean_batch_loss = loss_sum / static_cast<double>(steps);
    metrics.train_seconds = SecondsSince(epoch_start);
    const auto evaluate_start = std::chrono::steady_clock::now();
    metrics.train = Evaluate(model, data.train);
    metrics.validation = EvaluateIfPresent(model, data.validation);
    metrics.test = EvaluateIfPresent(model, data.test);
    metrics.nonzero = CountNonzero(model);
    metrics.evaluate_seconds = SecondsSince(evaluate_start);
    if (!std::isfinite(metrics.train.cross_entropy)) {
      throw TrainerError("epoch " + std::to_string(epoch) + ": training loss is " +
                         NumberText(metrics.train.cross_entropy) +
                         "; training diverged, try a lower learning rate");
    }
    if (on_epoch) on_epoch(metrics);
  }
  return model;
}

}  // namespace frugal::trainer
