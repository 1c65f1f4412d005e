// Optimizers that update one variable (a kernel or a bias) at a time from its gradient.
// Each keeps its per-variable state (slots) itself, indexed by the variable's position.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace frugal::trainer {

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Updates `values` in place from `gradients` (same length). `variable` numbers the
  // variables 0, 1, ... in the same order at every step, so that state such as an
  // accumulator stays with its variable.
  virtual void Step(std::size_t variable, std::span<float> values,
                    std::span<const float> gradients) = 0;

  // One-line summary of the settings, such as "sgd lr=0.001".
  virtual std::string Describe() const = 0;
};

// Plain mini-batch gradient descent: w -= lr * g.
class SgdOptimizer final : public Optimizer {
 public:
  explicit SgdOptimizer(float learning_rate) : learning_rate_(learning_rate) {}
  void Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) override;
  std::string Describe() const override;

 private:
  float learning_rate_;
};

// TensorFlow's ApplyProximalAdagrad, per coordinate:
//   accum += g * g;  rate = lr / sqrt(accum);  prox = w - rate * g;
//   w = sign(prox) * max(|prox| - rate * l1, 0) / (1 + rate * l2)   when l1 > 0,
//   w = prox / (1 + rate * l2)                                      when l1 == 0.
// The soft threshold sets weights to exactly 0, which is where the sparsity comes from.
// Accumulators start at `initial_accumulator` (TF's default is 0.1).
class ProximalAdagradOptimizer final : public Optimizer {
 public:
  ProximalAdagradOptimizer(float learning_rate, float l1, float l2, float initial_accumulator);
  void Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) override;
  std::string Describe() const override;

  // Accumulator of a variable after its first Step, or an empty span before it.
  std::span<const float> accumulator(std::size_t variable) const;

 private:
  float learning_rate_;
  float l1_;
  float l2_;
  float initial_accumulator_;
  std::vector<std::vector<float>> accumulators_;
};

enum class OptimizerKind { kSgd, kProximalAdagrad };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kProximalAdagrad;
  float learning_rate = 0.05f;
  float l1 = 0.0f;
  float l2 = 0.0f;
  float initial_accumulator = 0.1f;
};

std::unique_ptr<Optimizer> MakeOptimizer(const OptimizerConfig& config);

// Adds the gradient of penalty * sum|w| to `gradients`: penalty * sign(w), with
// sign(0) = 0 as tf.sign. This is the Keras kernel_regularizer=l1(penalty) term; being a
// subgradient step it moves weights across zero instead of stopping them there.
void AddL1PenaltyGradient(float penalty, std::span<const float> values, std::span<float> gradients);

}  // namespace frugal::trainer
