// SGD and proximal Adagrad updates, and the L1-penalty subgradient.
#include "frugal/trainer/optimizer.h"

#include <cmath>
#include <cstdio>

namespace frugal::trainer {
namespace {

std::string FormatSetting(const char* name, float value) {
  char text[64];
  std::snprintf(text, sizeof text, " %s=%g", name, static_cast<double>(value));
  return text;
}

}  // namespace

void SgdOptimizer::Step(std::size_t /*variable*/, std::span<float> values,
                        std::span<const float> gradients) {
  for (std::size_t i = 0; i < values.size(); ++i) values[i] -= learning_rate_ * gradients[i];
}

std::string SgdOptimizer::Describe() const { return "sgd" + FormatSetting("lr", learning_rate_); }

ProximalAdagradOptimizer::ProximalAdagradOptimizer(float learning_rate, float l1, float l2,
                                                   float initial_accumulator)
    : learning_rate_(learning_rate), l1_(l1), l2_(l2), initial_accumulator_(initial_accumulator) {}

void ProximalAdagradOptimizer::Step(std::size_t variable, std::span<float> values,
                                    std::span<const float> gradients) {
  if (variable >= accumulators_.size()) accumulators_.resize(variable + 1);
  std::vector<float>& accumulator = accumulators_[variable];
  if (accumulator.empty()) accumulator.assign(values.size(), initial_accumulator_);

  for (std::size_t i = 0; i < values.size(); ++i) {
    const float g = gradients[i];
    accumulator[i] += g * g;
    const float rate = learning_rate_ / std::sqrt(accumulator[i]);
    const float prox = values[i] - rate * g;
    const float shrink = 1.0f + rate * l2_;
    if (l1_ > 0.0f) {
      const float magnitude = std::fmax(std::fabs(prox) - rate * l1_, 0.0f);
      values[i] = std::copysign(magnitude, prox) / shrink;
    } else {
      values[i] = prox / shrink;
    }
  }
}

std::string ProximalAdagradOptimizer::Describe() const {
  return "proximal-adagrad" + FormatSetting("lr", learning_rate_) + FormatSetting("l1", l1_) +
         FormatSetting("l2", l2_) + FormatSetting("initial_accumulator", initial_accumulator_);
}

std::span<const float> ProximalAdagradOptimizer::accumulator(std::size_t variable) const {
  if (variable >= accumulators_.size()) return {};
  return accumulators_[variable];
}

std::unique_ptr<Optimizer> MakeOptimizer(const OptimizerConfig& config) {
  switch (config.kind) {
    case OptimizerKind::kSgd:
      return std::make_unique<SgdOptimizer>(config.learning_rate);
    case OptimizerKind::kProximalAdagrad:
      return std::make_unique<ProximalAdagradOptimizer>(config.learning_rate, config.l1, config.l2,
                                                        config.initial_accumulator);
  }
  return nullptr;
}

void AddL1PenaltyGradient(float penalty, std::span<const float> values, std::span<float> gradients) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float w = values[i];
    const float sign = static_cast<float>((w > 0.0f) - (w < 0.0f));
    gradients[i] += penalty * sign;
  }
}

}  // namespace frugal::trainer
