// SGD, proximal SGD, proximal Adagrad, proximal Adam and FTRL-proximal updates, their
// checkpointable state, and the L1-penalty subgradient.
#include "frugal/trainer/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "frugal/trainer/data.h"

namespace frugal::trainer {
namespace {

std::string FormatSetting(const char* name, float value) {
  char text[64];
  std::snprintf(text, sizeof text, " %s=%g", name, static_cast<double>(value));
  return text;
}

}  // namespace

Optimizer::Optimizer(std::vector<std::string> slot_names, std::vector<float> slot_initial_values,
                     Regularization default_regularization)
    : slot_names_(std::move(slot_names)),
      slot_initial_values_(std::move(slot_initial_values)),
      default_regularization_(default_regularization) {}

void Optimizer::RestoreState(std::vector<VariableState> state) {
  for (std::size_t variable = 0; variable < state.size(); ++variable) {
    const VariableState& entry = state[variable];
    if (entry.slots.empty()) continue;
    if (entry.slots.size() != slot_names_.size()) {
      throw TrainerError("optimizer state of variable " + std::to_string(variable) + " has " +
                         std::to_string(entry.slots.size()) + " slots, but " + Describe() +
                         " has " + std::to_string(slot_names_.size()));
    }
    for (const std::vector<float>& slot : entry.slots) {
      if (slot.size() != entry.slots.front().size()) {
        throw TrainerError("optimizer state of variable " + std::to_string(variable) +
                           " has slots of unequal sizes");
      }
    }
  }
  state_ = std::move(state);
}

void Optimizer::SetRegularization(std::size_t variable, Regularization regularization) {
  if (variable >= regularization_.size()) regularization_.resize(variable + 1);
  regularization_[variable] = {true, regularization};
}

Regularization Optimizer::regularization(std::size_t variable) const {
  if (variable < regularization_.size() && regularization_[variable].first) {
    return regularization_[variable].second;
  }
  return default_regularization_;
}

Regularization Optimizer::EffectiveRegularization(std::size_t variable) const {
  Regularization result = regularization(variable);
  result.l1 *= l1_scale_;
  return result;
}

VariableState& Optimizer::BeginStep(std::size_t variable, std::size_t size) {
  if (variable >= state_.size()) state_.resize(variable + 1);
  VariableState& entry = state_[variable];
  if (entry.slots.empty() && !slot_names_.empty()) {
    for (const float initial : slot_initial_values_) entry.slots.emplace_back(size, initial);
  }
  ++entry.steps;
  return entry;
}

float ProximalUpdate(float prox, float rate, Regularization regularization) {
  const float shrink = 1.0f + rate * regularization.l2;
  if (regularization.l1 > 0.0f) {
    const float magnitude = std::fmax(std::fabs(prox) - rate * regularization.l1, 0.0f);
    return std::copysign(magnitude, prox) / shrink;
  }
  return prox / shrink;
}

SgdOptimizer::SgdOptimizer(float learning_rate)
    : Optimizer({}, {}, {}), learning_rate_(learning_rate) {}

void SgdOptimizer::Step(std::size_t variable, std::span<float> values,
                        std::span<const float> gradients) {
  BeginStep(variable, values.size());
  const float learning_rate = ScaledLearningRate(learning_rate_);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] -= learning_rate * gradients[i];
}

void SgdOptimizer::StepRates(std::size_t, std::span<float> rates) const {
  std::fill(rates.begin(), rates.end(), ScaledLearningRate(learning_rate_));
}

std::string SgdOptimizer::Describe() const { return "sgd" + FormatSetting("lr", learning_rate_); }

ProximalSgdOptimizer::ProximalSgdOptimizer(float learning_rate, Regularization regularization)
    : Optimizer({}, {}, regularization), learning_rate_(learning_rate) {}

void ProximalSgdOptimizer::Step(std::size_t variable, std::span<float> values,
                                std::span<const float> gradients) {
  BeginStep(variable, values.size());
  const Regularization regularization = EffectiveRegularization(variable);
  const float learning_rate = ScaledLearningRate(learning_rate_);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = ProximalUpdate(values[i] - learning_rate * gradients[i], learning_rate, regularization);
  }
}

void ProximalSgdOptimizer::StepRates(std::size_t, std::span<float> rates) const {
  std::fill(rates.begin(), rates.end(), ScaledLearningRate(learning_rate_));
}

std::string ProximalSgdOptimizer::Describe() const {
  const Regularization defaults = default_regularization();
  return "proximal-sgd" + FormatSetting("lr", learning_rate_) + FormatSetting("l1", defaults.l1) +
         FormatSetting("l2", defaults.l2);
}

ProximalAdagradOptimizer::ProximalAdagradOptimizer(float learning_rate, float l1, float l2,
                                                   float initial_accumulator)
    : Optimizer({"accumulator"}, {initial_accumulator}, {l1, l2}),
      learning_rate_(learning_rate),
      initial_accumulator_(initial_accumulator) {}

void ProximalAdagradOptimizer::Step(std::size_t variable, std::span<float> values,
                                    std::span<const float> gradients) {
  std::vector<float>& accumulator = BeginStep(variable, values.size()).slots[0];
  const Regularization regularization = EffectiveRegularization(variable);
  const float learning_rate = ScaledLearningRate(learning_rate_);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float g = gradients[i];
    accumulator[i] += g * g;
    const float rate = learning_rate / std::sqrt(accumulator[i]);
    values[i] = ProximalUpdate(values[i] - rate * g, rate, regularization);
  }
}

void ProximalAdagradOptimizer::StepRates(std::size_t variable, std::span<float> rates) const {
  const std::span<const float> accumulator = this->accumulator(variable);
  const float learning_rate = ScaledLearningRate(learning_rate_);
  for (std::size_t i = 0; i < rates.size(); ++i) rates[i] = learning_rate / std::sqrt(accumulator[i]);
}

std::string ProximalAdagradOptimizer::Describe() const {
  const Regularization defaults = default_regularization();
  return "proximal-adagrad" + FormatSetting("lr", learning_rate_) + FormatSetting("l1", defaults.l1) +
         FormatSetting("l2", defaults.l2) + FormatSetting("initial_accumulator", initial_accumulator_);
}

std::span<const float> ProximalAdagradOptimizer::accumulator(std::size_t variable) const {
  if (variable >= state().size() || state()[variable].slots.empty()) return {};
  return state()[variable].slots[0];
}

ProximalAdamOptimizer::ProximalAdamOptimizer(float learning_rate, Regularization regularization,
                                             float beta1, float beta2, float epsilon)
    : Optimizer({"m", "v"}, {0.0f, 0.0f}, regularization),
      learning_rate_(learning_rate),
      beta1_(beta1),
      beta2_(beta2),
      epsilon_(epsilon) {}

void ProximalAdamOptimizer::Step(std::size_t variable, std::span<float> values,
                                 std::span<const float> gradients) {
  VariableState& entry = BeginStep(variable, values.size());
  std::vector<float>& m = entry.slots[0];
  std::vector<float>& v = entry.slots[1];
  const Regularization regularization = EffectiveRegularization(variable);
  // Bias corrections in double, because 1 - beta^t loses most of its digits in float
  // for beta2 = 0.999 and small t.
  const double t = static_cast<double>(entry.steps);
  const float m_correction = static_cast<float>(1.0 / (1.0 - std::pow(double{beta1_}, t)));
  const float v_correction = static_cast<float>(1.0 / (1.0 - std::pow(double{beta2_}, t)));
  const float learning_rate = ScaledLearningRate(learning_rate_);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float g = gradients[i];
    m[i] = beta1_ * m[i] + (1.0f - beta1_) * g;
    v[i] = beta2_ * v[i] + (1.0f - beta2_) * g * g;
    const float rate = learning_rate / (std::sqrt(v[i] * v_correction) + epsilon_);
    values[i] = ProximalUpdate(values[i] - rate * (m[i] * m_correction), rate, regularization);
  }
}

void ProximalAdamOptimizer::StepRates(std::size_t variable, std::span<float> rates) const {
  const VariableState& entry = state()[variable];
  const std::vector<float>& v = entry.slots[1];
  // The same expressions as in Step, so the rates are bit-identical to the step's.
  const double t = static_cast<double>(entry.steps);
  const float v_correction = static_cast<float>(1.0 / (1.0 - std::pow(double{beta2_}, t)));
  const float learning_rate = ScaledLearningRate(learning_rate_);
  for (std::size_t i = 0; i < rates.size(); ++i) {
    rates[i] = learning_rate / (std::sqrt(v[i] * v_correction) + epsilon_);
  }
}

std::string ProximalAdamOptimizer::Describe() const {
  const Regularization defaults = default_regularization();
  return "proximal-adam" + FormatSetting("lr", learning_rate_) + FormatSetting("l1", defaults.l1) +
         FormatSetting("l2", defaults.l2) + FormatSetting("beta1", beta1_) +
         FormatSetting("beta2", beta2_) + FormatSetting("epsilon", epsilon_);
}

FtrlOptimizer::FtrlOptimizer(float learning_rate, Regularization regularization, float beta)
    : Optimizer({"z", "n"}, {0.0f, 0.0f}, regularization), learning_rate_(learning_rate), beta_(beta) {}

void FtrlOptimizer::Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) {
  VariableState& entry = BeginStep(variable, values.size());
  std::vector<float>& z = entry.slots[0];
  std::vector<float>& n = entry.slots[1];
  const Regularization regularization = EffectiveRegularization(variable);
  if (entry.steps == 1) {
    for (std::size_t i = 0; i < values.size(); ++i) z[i] = -(beta_ / learning_rate_) * values[i];
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float g = gradients[i];
    const float n_new = n[i] + g * g;
    const float sqrt_n_new = std::sqrt(n_new);
    const float sigma = (sqrt_n_new - std::sqrt(n[i])) / learning_rate_;
    z[i] += g - sigma * values[i];
    n[i] = n_new;
    if (std::fabs(z[i]) <= regularization.l1) {
      values[i] = 0.0f;
    } else {
      const float denominator = (beta_ + sqrt_n_new) / learning_rate_ + regularization.l2;
      values[i] = -(z[i] - std::copysign(regularization.l1, z[i])) / denominator;
    }
  }
}

void FtrlOptimizer::StepRates(std::size_t variable, std::span<float> rates) const {
  const std::vector<float>& n = state()[variable].slots[1];
  for (std::size_t i = 0; i < rates.size(); ++i) rates[i] = learning_rate_ / (beta_ + std::sqrt(n[i]));
}

std::string FtrlOptimizer::Describe() const {
  const Regularization defaults = default_regularization();
  return "ftrl" + FormatSetting("lr", learning_rate_) + FormatSetting("l1", defaults.l1) +
         FormatSetting("l2", defaults.l2) + FormatSetting("beta", beta_);
}

const char* OptimizerName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kProximalSgd:
      return "proximal-sgd";
    case OptimizerKind::kProximalAdagrad:
      return "proximal-adagrad";
    case OptimizerKind::kProximalAdam:
      return "proximal-adam";
    case OptimizerKind::kFtrl:
      return "ftrl";
  }
  return "unknown";
}

std::unique_ptr<Optimizer> MakeOptimizer(const OptimizerConfig& config) {
  const Regularization defaults{config.l1, config.l2};
  switch (config.kind) {
    case OptimizerKind::kSgd:
      return std::make_unique<SgdOptimizer>(config.learning_rate);
    case OptimizerKind::kProximalSgd:
      return std::make_unique<ProximalSgdOptimizer>(config.learning_rate, defaults);
    case OptimizerKind::kProximalAdagrad:
      return std::make_unique<ProximalAdagradOptimizer>(config.learning_rate, config.l1, config.l2,
                                                        config.initial_accumulator);
    case OptimizerKind::kProximalAdam:
      return std::make_unique<ProximalAdamOptimizer>(config.learning_rate, defaults, config.beta1,
                                                     config.beta2, config.epsilon);
    case OptimizerKind::kFtrl:
      return std::make_unique<FtrlOptimizer>(config.learning_rate, defaults, config.ftrl_beta);
  }
  return nullptr;
}

Regularization ResolveRegularization(const OptimizerConfig& config, const std::string& layer_name,
                                     const std::string& variable_name) {
  const auto resolve = [&](float fallback, const std::vector<NamedStrength>& overrides) {
    float value = fallback;
    for (const NamedStrength& entry : overrides) {
      if (entry.name == layer_name) value = entry.value;
    }
    for (const NamedStrength& entry : overrides) {
      if (entry.name == variable_name) value = entry.value;
    }
    return value;
  };
  return {resolve(config.l1, config.l1_overrides), resolve(config.l2, config.l2_overrides)};
}

void AddL1PenaltyGradient(float penalty, std::span<const float> values, std::span<float> gradients) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float w = values[i];
    const float sign = static_cast<float>((w > 0.0f) - (w < 0.0f));
    gradients[i] += penalty * sign;
  }
}

}  // namespace frugal::trainer
