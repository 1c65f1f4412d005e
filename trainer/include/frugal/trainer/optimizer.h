// Optimizers that update one variable (a kernel or a bias) at a time from its gradient.
// Each keeps its per-variable state (slots) itself, indexed by the variable's position,
// in a form that checkpoints can save and restore exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace frugal::trainer {

// L1 and L2 strengths of one variable for the proximal optimizers.
struct Regularization {
  float l1 = 0.0f;
  float l2 = 0.0f;
};

// State of one variable: a step count and one array per slot, each the size of the
// variable. Empty slots mean the variable has not been stepped yet.
struct VariableState {
  std::uint64_t steps = 0;
  std::vector<std::vector<float>> slots;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Updates `values` in place from `gradients` (same length). `variable` numbers the
  // variables 0, 1, ... in the same order at every step, so that state such as an
  // accumulator stays with its variable.
  virtual void Step(std::size_t variable, std::span<float> values,
                    std::span<const float> gradients) = 0;

  // Writes the step size that the most recent Step of `variable` used for each
  // coordinate into `rates` (same length), for a proximal operator applied after the
  // step such as the group lasso. Call it right after that Step.
  virtual void StepRates(std::size_t variable, std::span<float> rates) const = 0;

  // One-line summary of the settings, such as "sgd lr=0.001".
  virtual std::string Describe() const = 0;

  // Names of the per-coordinate slots, such as {"accumulator"} or {"m", "v"}.
  const std::vector<std::string>& slot_names() const { return slot_names_; }

  // Per-variable state, indexed like Step's `variable`.
  const std::vector<VariableState>& state() const { return state_; }

  // Replaces the state, as read from a checkpoint. Throws TrainerError when a variable
  // has a different number of slots than slot_names() or slots of unequal sizes.
  void RestoreState(std::vector<VariableState> state);

  // Sets the strengths of one variable; variables never set use the default given to the
  // constructor.
  void SetRegularization(std::size_t variable, Regularization regularization);
  Regularization regularization(std::size_t variable) const;
  Regularization default_regularization() const { return default_regularization_; }

  // Multiplies every L1 strength by `scale` (for an L1 warm-up or the target mode's
  // growth), 1 by default.
  void set_l1_scale(float scale) { l1_scale_ = scale; }

  // Multiplies the learning rate by `scale` from the next Step on (for a learning-rate
  // schedule), 1 by default.
  void set_learning_rate_scale(float scale) { learning_rate_scale_ = scale; }

 protected:
  Optimizer(std::vector<std::string> slot_names, std::vector<float> slot_initial_values,
            Regularization default_regularization);

  // Returns the state of `variable`, creating its slots at their initial values on the
  // first call. Increments the variable's step count.
  VariableState& BeginStep(std::size_t variable, std::size_t size);

  // The regularization of `variable` with the L1 scale applied.
  Regularization EffectiveRegularization(std::size_t variable) const;

  // `learning_rate` times the schedule's current scale.
  float ScaledLearningRate(float learning_rate) const { return learning_rate * learning_rate_scale_; }

 private:
  std::vector<std::string> slot_names_;
  std::vector<float> slot_initial_values_;
  Regularization default_regularization_;
  std::vector<std::pair<bool, Regularization>> regularization_;  // (set, value) per variable
  std::vector<VariableState> state_;
  float l1_scale_ = 1.0f;
  float learning_rate_scale_ = 1.0f;
};

// Plain mini-batch gradient descent: w -= lr * g. Ignores regularization.
class SgdOptimizer final : public Optimizer {
 public:
  explicit SgdOptimizer(float learning_rate);
  void Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) override;
  void StepRates(std::size_t variable, std::span<float> rates) const override;
  std::string Describe() const override;

 private:
  float learning_rate_;
};

// The proximal step shared by the proximal optimizers, for one coordinate:
//   w = sign(prox) * max(|prox| - rate * l1, 0) / (1 + rate * l2)   when l1 > 0,
//   w = prox / (1 + rate * l2)                                      when l1 == 0.
// The soft threshold sets weights to exactly 0, which is where the sparsity comes from.
float ProximalUpdate(float prox, float rate, Regularization regularization);

// Proximal gradient descent (FOBOS, Duchi and Singer 2009), as TensorFlow's
// ApplyProximalGradientDescent: prox = w - lr * g, then ProximalUpdate with rate = lr.
class ProximalSgdOptimizer final : public Optimizer {
 public:
  ProximalSgdOptimizer(float learning_rate, Regularization regularization);
  void Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) override;
  void StepRates(std::size_t variable, std::span<float> rates) const override;
  std::string Describe() const override;

 private:
  float learning_rate_;
};

// TensorFlow's ApplyProximalAdagrad, per coordinate:
//   accum += g * g;  rate = lr / sqrt(accum);  prox = w - rate * g;  then ProximalUpdate.
// Accumulators start at `initial_accumulator` (TF's default is 0.1).
class ProximalAdagradOptimizer final : public Optimizer {
 public:
  ProximalAdagradOptimizer(float learning_rate, float l1, float l2, float initial_accumulator);
  void Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) override;
  void StepRates(std::size_t variable, std::span<float> rates) const override;
  std::string Describe() const override;

  // Accumulator of a variable after its first Step, or an empty span before it.
  std::span<const float> accumulator(std::size_t variable) const;

 private:
  float learning_rate_;
  float initial_accumulator_;
};

// Adam (Kingma and Ba 2015) with a proximal L1/L2 step, per coordinate at step t:
//   m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g * g;
//   rate = lr / (sqrt(v / (1 - b2^t)) + epsilon);  prox = w - rate * m / (1 - b1^t);
// then ProximalUpdate. A weight stays at exactly 0 while |m / (1 - b1^t)| <= l1.
// With l1 = l2 = 0 this is plain Adam.
class ProximalAdamOptimizer final : public Optimizer {
 public:
  ProximalAdamOptimizer(float learning_rate, Regularization regularization, float beta1,
                        float beta2, float epsilon);
  void Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) override;
  void StepRates(std::size_t variable, std::span<float> rates) const override;
  std::string Describe() const override;

 private:
  float learning_rate_;
  float beta1_;
  float beta2_;
  float epsilon_;
};

// FTRL-proximal (McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD
// 2013, Algorithm 1), per coordinate with learning rate alpha:
//   n_new = n + g * g;  sigma = (sqrt(n_new) - sqrt(n)) / alpha;  z += g - sigma * w;
//   n = n_new;  w = 0 if |z| <= l1, else -(z - sign(z) * l1) / ((beta + sqrt(n)) / alpha + l2).
// The zero test compares the accumulated z with the constant l1, so a weight stays at
// exactly 0 until its gradients add up to more than l1, and beta > 0 keeps the
// denominator positive. This is TensorFlow's ApplyFtrl with learning_rate_power -0.5
// (training_ops.cc), apart from two conventions. TensorFlow's L2 term is 2 * l2, so its
// l2 is half of this one. TensorFlow also starts z (its "linear" slot) at 0, so its first
// step keeps little of the initial weights. Here z starts at -(beta / alpha) * w, the
// paper's algorithm started from w instead of from 0: with l1 = 0 and before any
// gradient the formula returns w, and a fresh optimizer in the retrain phase starts from
// the surviving weights.
class FtrlOptimizer final : public Optimizer {
 public:
  FtrlOptimizer(float learning_rate, Regularization regularization, float beta);
  void Step(std::size_t variable, std::span<float> values, std::span<const float> gradients) override;
  // alpha / (beta + sqrt(n)), FTRL's per-coordinate learning rate.
  void StepRates(std::size_t variable, std::span<float> rates) const override;
  std::string Describe() const override;

 private:
  float learning_rate_;
  float beta_;
};

enum class OptimizerKind { kSgd, kProximalSgd, kProximalAdagrad, kProximalAdam, kFtrl };

// The command-line name of an optimizer ("sgd", "proximal-sgd", ...).
const char* OptimizerName(OptimizerKind kind);

// A strength given for one layer ("dense_1", both kernel and bias) or one variable
// ("dense_1/bias"). A variable entry wins over a layer entry, which wins over the default.
struct NamedStrength {
  std::string name;
  float value = 0.0f;
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kProximalAdagrad;
  float learning_rate = 0.05f;
  float l1 = 0.0f;  // default L1 strength for every variable
  float l2 = 0.0f;  // default L2 strength for every variable
  std::vector<NamedStrength> l1_overrides;
  std::vector<NamedStrength> l2_overrides;
  float initial_accumulator = 0.1f;  // proximal-adagrad only
  float beta1 = 0.9f;                // proximal-adam only
  float beta2 = 0.999f;              // proximal-adam only
  float epsilon = 1e-8f;             // proximal-adam only
  float ftrl_beta = 0.1f;            // ftrl only, > 0
};

// Builds the optimizer with the default strengths; the caller applies the overrides
// with SetRegularization once it knows the variable names (see ResolveRegularization).
std::unique_ptr<Optimizer> MakeOptimizer(const OptimizerConfig& config);

// The strengths of the variable `variable_name` ("dense_1/kernel") of layer `layer_name`.
Regularization ResolveRegularization(const OptimizerConfig& config, const std::string& layer_name,
                                     const std::string& variable_name);

// Adds the gradient of penalty * sum|w| to `gradients`: penalty * sign(w), with
// sign(0) = 0 as tf.sign. This is the Keras kernel_regularizer=l1(penalty) term; being a
// subgradient step it moves weights across zero instead of stopping them there.
void AddL1PenaltyGradient(float penalty, std::span<const float> values, std::span<float> gradients);

}  // namespace frugal::trainer
