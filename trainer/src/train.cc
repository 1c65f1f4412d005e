// The mini-batch training loop.
#include "frugal/trainer/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <numeric>
#include <span>

#include "frugal/trainer/group_lasso.h"

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

constexpr std::size_t kMaxThreads = 256;

}  // namespace

bool ThreadsSupported() {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

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
  if (optimizer.kind == OptimizerKind::kProximalAdam) {
    if (!(optimizer.beta1 >= 0.0f && optimizer.beta1 < 1.0f)) {
      fail("beta1 " + NumberText(optimizer.beta1) + " is out of range [0, 1)");
    }
    if (!(optimizer.beta2 >= 0.0f && optimizer.beta2 < 1.0f)) {
      fail("beta2 " + NumberText(optimizer.beta2) + " is out of range [0, 1)");
    }
    if (!(optimizer.epsilon > 0.0f) || !std::isfinite(optimizer.epsilon)) {
      fail("epsilon " + NumberText(optimizer.epsilon) + " must be positive and finite");
    }
  }
  if (optimizer.kind == OptimizerKind::kFtrl &&
      (!(optimizer.ftrl_beta > 0.0f) || !std::isfinite(optimizer.ftrl_beta))) {
    fail("ftrl beta " + NumberText(optimizer.ftrl_beta) + " must be positive and finite");
  }
  for (const auto* overrides : {&optimizer.l1_overrides, &optimizer.l2_overrides}) {
    for (const NamedStrength& entry : *overrides) {
      if (!(entry.value >= 0.0f) || !std::isfinite(entry.value)) {
        fail("strength " + NumberText(entry.value) + " for " + entry.name +
             " must be non-negative and finite");
      }
    }
  }
  const bool has_strengths = optimizer.l1 != 0.0f || optimizer.l2 != 0.0f ||
                             !optimizer.l1_overrides.empty() || !optimizer.l2_overrides.empty();
  if (optimizer.kind == OptimizerKind::kSgd && has_strengths) {
    fail("l1 and l2 apply only to the proximal optimizers; use --l1-penalty with sgd");
  }
  if (!(config.retrain_learning_rate >= 0.0f) || !std::isfinite(config.retrain_learning_rate)) {
    fail("retrain learning rate " + NumberText(config.retrain_learning_rate) +
         " must be non-negative and finite");
  }

  const bool has_group_strengths =
      config.group_l1_units != 0.0f || config.group_l1_inputs != 0.0f ||
      std::any_of(config.group_l1_units_overrides.begin(), config.group_l1_units_overrides.end(),
                  [](const NamedStrength& entry) { return entry.value != 0.0f; });
  for (const float strength : {config.group_l1_units, config.group_l1_inputs}) {
    if (!(strength >= 0.0f) || !std::isfinite(strength)) {
      fail("group l1 strength " + NumberText(strength) + " must be non-negative and finite");
    }
  }
  for (const NamedStrength& entry : config.group_l1_units_overrides) {
    if (!(entry.value >= 0.0f) || !std::isfinite(entry.value)) {
      fail("group l1 strength " + NumberText(entry.value) + " for " + entry.name +
           " must be non-negative and finite");
    }
  }
  if (has_group_strengths && optimizer.kind == OptimizerKind::kSgd) {
    fail("the group lasso is a proximal step and needs a proximal optimizer, not sgd");
  }
  if (has_group_strengths && optimizer.kind == OptimizerKind::kFtrl) {
    fail("the group lasso needs proximal-sgd, proximal-adagrad or proximal-adam; ftrl "
         "recomputes every weight from its accumulators, which would undo the group step");
  }

  if (config.threads == 0 || config.threads > kMaxThreads) {
    fail("thread count " + std::to_string(config.threads) + " is out of range [1, " +
         std::to_string(kMaxThreads) + "]");
  }
  if (config.threads > 1 && !ThreadsSupported()) {
    fail("thread count " + std::to_string(config.threads) +
         " needs a build with OpenMP; this one has none, so use 1 thread");
  }
  if (!(config.lr_floor >= 0.0f && config.lr_floor < 1.0f)) {
    fail("learning rate floor " + NumberText(config.lr_floor) + " is out of range [0, 1)");
  }
  if (config.lr_schedule == LearningRateSchedule::kCosine && optimizer.kind == OptimizerKind::kFtrl) {
    fail("the cosine learning-rate schedule does not apply to ftrl, whose accumulated z "
         "depends on one fixed learning rate; use the constant schedule");
  }
  if (config.target_sparsity != 0.0) {
    if (!(config.target_sparsity > 0.0 && config.target_sparsity < 1.0)) {
      fail("target sparsity " + NumberText(config.target_sparsity) + " is out of range (0, 1)");
    }
    if (!(config.target_l1_growth >= 1.0) || !std::isfinite(config.target_l1_growth)) {
      fail("target L1 growth " + NumberText(config.target_l1_growth) + " must be at least 1 and finite");
    }
    if (optimizer.kind == OptimizerKind::kSgd) {
      fail("the target sparsity needs a proximal optimizer with L1; sgd has no L1 strength to raise");
    }
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
  for (const NamedStrength& entry : config.optimizer.l1_overrides) {
    text += " l1[" + entry.name + "]=" + NumberText(entry.value);
  }
  for (const NamedStrength& entry : config.optimizer.l2_overrides) {
    text += " l2[" + entry.name + "]=" + NumberText(entry.value);
  }
  if (config.group_l1_units > 0.0f) text += " group_l1_units=" + NumberText(config.group_l1_units);
  for (const NamedStrength& entry : config.group_l1_units_overrides) {
    text += " group_l1_units[" + entry.name + "]=" + NumberText(entry.value);
  }
  if (config.group_l1_inputs > 0.0f) text += " group_l1_inputs=" + NumberText(config.group_l1_inputs);
  if (config.l1_penalty > 0.0f) text += " l1_penalty=" + NumberText(config.l1_penalty);
  if (config.l1_warmup_epochs > 0) {
    text += " l1_warmup_epochs=" + std::to_string(config.l1_warmup_epochs);
  }
  text += ", " + std::to_string(config.epochs) + " epochs";
  if (config.retrain_epochs > 0) {
    text += " + " + std::to_string(config.retrain_epochs) + " fixed-mask retrain epochs";
    if (config.retrain_learning_rate > 0.0f) text += " at lr=" + NumberText(config.retrain_learning_rate);
  }
  if (config.lr_schedule == LearningRateSchedule::kCosine) {
    text += ", cosine learning rate";
    if (config.lr_floor > 0.0f) text += " to " + NumberText(config.lr_floor) + " of each phase's";
  }
  if (config.target_sparsity > 0.0) {
    text += ", target sparsity " + NumberText(config.target_sparsity) + " (L1 growth " +
            NumberText(config.target_l1_growth) + " per epoch)";
  }
  text += ", batch " + std::to_string(config.batch_size) + ", seed " + std::to_string(config.seed);
  if (config.threads > 1) text += ", " + std::to_string(config.threads) + " threads";
  if (config.input_scale == 1.0) text += ", raw pixels";
  return text;
}

float LearningRateScale(const TrainConfig& config, std::size_t epoch, std::size_t step,
                        std::size_t steps_per_epoch) {
  if (config.lr_schedule == LearningRateSchedule::kConstant) return 1.0f;
  const bool retraining = epoch > config.epochs;
  const std::size_t first_epoch = retraining ? config.epochs + 1 : 1;
  const std::size_t phase_epochs = retraining ? config.retrain_epochs : config.epochs;
  const double position = static_cast<double>((epoch - first_epoch) * steps_per_epoch + step) /
                          static_cast<double>(phase_epochs * steps_per_epoch);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * position));
  const double floor = config.lr_floor;
  return static_cast<float>(floor + (1.0 - floor) * cosine);
}

std::size_t ZerosForSparsity(double sparsity, std::size_t total) {
  const double exact = sparsity * static_cast<double>(total);
  auto zeros = static_cast<std::size_t>(std::ceil(exact));
  // The product may round up past an integer (0.9 * 55050 is 49545.000000000007).
  while (zeros > 0 && static_cast<double>(zeros - 1) / static_cast<double>(total) >= sparsity) --zeros;
  return std::min(zeros, total);
}

std::size_t PruneToSparsity(Mlp& model, double sparsity, const std::vector<bool>& prunable) {
  struct Candidate {
    float magnitude;
    std::size_t variable;
    std::size_t index;
  };
  std::vector<Candidate> candidates;
  std::size_t total = 0;
  std::size_t zeros = 0;
  std::size_t variable = 0;
  const auto collect = [&](float* values, Eigen::Index size) {
    for (Eigen::Index i = 0; i < size; ++i) {
      const float magnitude = std::fabs(values[i]);
      if (magnitude <= kNonzeroThreshold) {
        ++zeros;
      } else if (variable < prunable.size() && prunable[variable]) {
        candidates.push_back({magnitude, variable, static_cast<std::size_t>(i)});
      }
    }
    total += static_cast<std::size_t>(size);
    ++variable;
  };
  for (DenseLayer& layer : model.layers) {
    collect(layer.kernel.data(), layer.kernel.size());
    collect(layer.bias.data(), layer.bias.size());
  }

  const std::size_t required = ZerosForSparsity(sparsity, total);
  if (zeros >= required) return 0;
  const std::size_t count = std::min(required - zeros, candidates.size());
  const auto smaller = [](const Candidate& a, const Candidate& b) {
    if (a.magnitude != b.magnitude) return a.magnitude < b.magnitude;
    if (a.variable != b.variable) return a.variable < b.variable;
    return a.index < b.index;
  };
  std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(count),
                   candidates.end(), smaller);
  for (std::size_t k = 0; k < count; ++k) {
    const Candidate& candidate = candidates[k];
    DenseLayer& layer = model.layers[candidate.variable / 2];
    float* values = candidate.variable % 2 == 0 ? layer.kernel.data() : layer.bias.data();
    values[candidate.index] = 0.0f;
  }
  return count;
}

namespace {

// The variables in Step order: kernel of layer i at 2i, bias at 2i + 1.
std::vector<std::span<float>> Variables(Mlp& model) {
  std::vector<std::span<float>> variables;
  for (DenseLayer& layer : model.layers) {
    variables.emplace_back(layer.kernel.data(), static_cast<std::size_t>(layer.kernel.size()));
    variables.emplace_back(layer.bias.data(), static_cast<std::size_t>(layer.bias.size()));
  }
  return variables;
}

// The configured L1 strength of variable `variable`, before any warm-up or target scale.
float ResolvedL1(const TrainConfig& config, const Mlp& model, std::size_t variable) {
  const std::string& name = model.layers[variable / 2].name;
  const std::string variable_name = name + (variable % 2 == 0 ? "/kernel" : "/bias");
  return ResolveRegularization(config.optimizer, name, variable_name).l1;
}

double ZeroFraction(const std::vector<NonzeroCount>& counts) {
  std::size_t total = 0;
  std::size_t nonzero = 0;
  for (const NonzeroCount& count : counts) {
    total += count.num;
    nonzero += count.nonzero;
  }
  return total == 0 ? 0.0 : static_cast<double>(total - nonzero) / static_cast<double>(total);
}

// Rejects --l1 or --l2 entries that name no layer or variable of the model.
void CheckStrengthNames(const OptimizerConfig& config, const Mlp& model) {
  for (const auto* overrides : {&config.l1_overrides, &config.l2_overrides}) {
    for (const NamedStrength& entry : *overrides) {
      bool found = false;
      for (const DenseLayer& layer : model.layers) {
        found = found || entry.name == layer.name || entry.name == layer.name + "/kernel" ||
                entry.name == layer.name + "/bias";
      }
      if (!found) {
        throw TrainerError("no layer or variable named \"" + entry.name + "\"; the model has dense_1 to " +
                           model.layers.back().name + ", each with /kernel and /bias");
      }
    }
  }
}

// Rejects --group-l1-units entries that name no hidden layer of the model.
void CheckGroupNames(const TrainConfig& config, const Mlp& model) {
  for (const NamedStrength& entry : config.group_l1_units_overrides) {
    bool found = false;
    for (std::size_t i = 0; i + 1 < model.layers.size(); ++i) found = found || entry.name == model.layers[i].name;
    if (!found) {
      const std::string hidden = model.layers.size() < 2 ? "the model has no hidden layer"
                                                         : "the hidden layers are dense_1 to " +
                                                               model.layers[model.layers.size() - 2].name;
      throw TrainerError("group l1 on units: no hidden layer named \"" + entry.name + "\"; " + hidden);
    }
  }
}

// The group strength on the units of hidden layer `layer`: its override, else the default.
float UnitGroupStrength(const TrainConfig& config, const std::string& layer) {
  float strength = config.group_l1_units;
  for (const NamedStrength& entry : config.group_l1_units_overrides) {
    if (entry.name == layer) strength = entry.value;
  }
  return strength;
}

std::unique_ptr<Optimizer> MakeSparseOptimizer(const TrainConfig& config, const Mlp& model) {
  std::unique_ptr<Optimizer> optimizer = MakeOptimizer(config.optimizer);
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const std::string& name = model.layers[i].name;
    optimizer->SetRegularization(2 * i, ResolveRegularization(config.optimizer, name, name + "/kernel"));
    optimizer->SetRegularization(2 * i + 1, ResolveRegularization(config.optimizer, name, name + "/bias"));
  }
  return optimizer;
}

// The same kind of optimizer without L1, so it only fits the surviving weights.
std::unique_ptr<Optimizer> MakeRetrainOptimizer(const TrainConfig& config, const Mlp& model) {
  OptimizerConfig retrain = config.optimizer;
  retrain.l1 = 0.0f;
  retrain.l1_overrides.clear();
  if (config.retrain_learning_rate > 0.0f) retrain.learning_rate = config.retrain_learning_rate;
  std::unique_ptr<Optimizer> optimizer = MakeOptimizer(retrain);
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const std::string& name = model.layers[i].name;
    optimizer->SetRegularization(2 * i, ResolveRegularization(retrain, name, name + "/kernel"));
    optimizer->SetRegularization(2 * i + 1, ResolveRegularization(retrain, name, name + "/bias"));
  }
  return optimizer;
}

// Sets every weight with |w| <= kNonzeroThreshold to exactly 0 and returns the mask of
// the others.
std::vector<std::vector<float>> FreezeZeros(Mlp& model) {
  std::vector<std::vector<float>> mask;
  for (std::span<float> variable : Variables(model)) {
    std::vector<float>& entry = mask.emplace_back(variable.size());
    for (std::size_t i = 0; i < variable.size(); ++i) {
      const bool keep = std::fabs(variable[i]) > kNonzeroThreshold;
      if (!keep) variable[i] = 0.0f;
      entry[i] = keep ? 1.0f : 0.0f;
    }
  }
  return mask;
}

void CheckResumeState(const TrainConfig& config, const TrainState& state, std::size_t features) {
  const Mlp& model = state.model;
  std::vector<std::size_t> hidden;
  for (std::size_t i = 0; i + 1 < model.layers.size(); ++i) {
    hidden.push_back(static_cast<std::size_t>(model.layers[i].kernel.cols()));
  }
  if (hidden != config.hidden || model.class_count() != config.class_count ||
      model.input_size() != features) {
    throw TrainerError("the resumed model's layer widths differ from the configured " +
                       std::to_string(features) + " inputs, hidden layers and " +
                       std::to_string(config.class_count) + " classes");
  }
  if (model.input_scale != config.input_scale) {
    throw TrainerError("the resumed model's input scale " + NumberText(model.input_scale) +
                       " differs from the configured " + NumberText(config.input_scale));
  }
  const std::size_t total = config.epochs + config.retrain_epochs;
  if (state.epochs_done > total) {
    throw TrainerError("the resumed run has done " + std::to_string(state.epochs_done) +
                       " epochs, more than the " + std::to_string(total) + " configured");
  }
  if (!state.mask.empty() && state.epochs_done <= config.epochs) {
    throw TrainerError("the resumed run is in its retrain phase after " +
                       std::to_string(state.epochs_done) + " epochs, but the sparse phase is " +
                       std::to_string(config.epochs) + " epochs");
  }
  if (state.mask.empty() && state.epochs_done > config.epochs) {
    throw TrainerError("the resumed run has done " + std::to_string(state.epochs_done) +
                       " epochs without a retrain mask, past the " + std::to_string(config.epochs) +
                       " sparse epochs configured");
  }
}

}  // namespace

Mlp Train(const TrainConfig& config, const TrainData& data,
          const std::function<void(const EpochMetrics&)>& on_epoch,
          const std::function<void(const TrainState&)>& on_state, const TrainState* resume) {
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
  Mlp model;
  std::size_t epochs_done = 0;
  std::vector<std::vector<float>> mask;
  double l1_target_scale = 1.0;
  if (resume != nullptr) {
    CheckResumeState(config, *resume, data.train.features);
    model = resume->model;
    rng.set_state(resume->rng_state);
    epochs_done = resume->epochs_done;
    mask = resume->mask;
    l1_target_scale = resume->l1_target_scale;
  } else {
    model = CreateMlp(data.train.features, config.hidden, config.class_count, config.input_scale, rng);
  }
  CheckStrengthNames(config.optimizer, model);
  CheckGroupNames(config, model);
  std::unique_ptr<Optimizer> optimizer =
      mask.empty() ? MakeSparseOptimizer(config, model) : MakeRetrainOptimizer(config, model);
  if (resume != nullptr) {
    const std::string name = OptimizerName(config.optimizer.kind);
    if (resume->optimizer_name != name || resume->optimizer_slots != optimizer->slot_names()) {
      throw TrainerError("the resumed run used optimizer " + resume->optimizer_name +
                         ", but this run is configured for " + name);
    }
    optimizer->RestoreState(resume->optimizer_state);
  }
  // The target mode raises and prunes only the variables that have L1 to begin with.
  std::vector<bool> prunable;
  if (config.target_sparsity > 0.0) {
    for (std::size_t v = 0; v < 2 * model.layers.size(); ++v) {
      prunable.push_back(ResolvedL1(config, model, v) > 0.0f);
    }
    if (std::find(prunable.begin(), prunable.end(), true) == prunable.end()) {
      throw TrainerError("the target sparsity needs L1 > 0 on at least one variable, but every "
                         "L1 strength is 0; set one with --l1");
    }
  }

  std::vector<std::uint32_t> order(data.train.count);
  Eigen::MatrixXf inputs;
  std::vector<std::uint8_t> labels(config.batch_size);
  ParallelBackprop backprop(config.threads);
  Gradients gradients;
  std::vector<float> group_rates;
  const std::size_t total_epochs = config.epochs + config.retrain_epochs;
  const std::size_t steps_per_epoch = (order.size() + config.batch_size - 1) / config.batch_size;

  for (std::size_t epoch = epochs_done + 1; epoch <= total_epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    if (epoch > config.epochs && mask.empty()) {
      mask = FreezeZeros(model);
      optimizer = MakeRetrainOptimizer(config, model);
    }
    const bool retraining = !mask.empty();
    double l1_scale = retraining ? 0.0 : l1_target_scale;
    if (!retraining && config.l1_warmup_epochs > 0) {
      const double warmup = static_cast<double>(epoch) / static_cast<double>(config.l1_warmup_epochs);
      l1_scale *= std::min(warmup, 1.0);
    }
    if (!retraining) optimizer->set_l1_scale(static_cast<float>(l1_scale));
    const bool penalty = config.l1_penalty > 0.0f && !retraining;
    std::iota(order.begin(), order.end(), 0u);
    rng.Shuffle(order);

    double loss_sum = 0.0;
    std::size_t steps = 0;
    // The last batch of an epoch may be smaller, as with tf.data's batch() by default.
    for (std::size_t first = 0; first < order.size(); first += config.batch_size) {
      optimizer->set_learning_rate_scale(LearningRateScale(config, epoch, steps, steps_per_epoch));
      const std::size_t count = std::min(config.batch_size, order.size() - first);
      GatherInputs(model, data.train.pixels, order, first, count, inputs);
      for (std::size_t j = 0; j < count; ++j) labels[j] = data.train.labels[order[first + j]];

      double loss = backprop.ComputeGradients(model, inputs, std::span(labels.data(), count), gradients);
      for (std::size_t i = 0; i < model.layers.size(); ++i) {
        DenseLayer& layer = model.layers[i];
        std::span<float> kernel(layer.kernel.data(), static_cast<std::size_t>(layer.kernel.size()));
        std::span<float> kernel_gradient(gradients.kernels[i].data(), kernel.size());
        std::span<float> bias(layer.bias.data(), static_cast<std::size_t>(layer.bias.size()));
        std::span<float> bias_gradient(gradients.biases[i].data(), bias.size());
        if (penalty) {
          AddL1PenaltyGradient(config.l1_penalty, kernel, kernel_gradient);
          loss += static_cast<double>(config.l1_penalty) *
                  static_cast<double>(layer.kernel.cwiseAbs().sum());
        }
        if (retraining) {
          // A masked weight is exactly 0 and its fresh optimizer state only ever sees
          // zero gradients, so every optimizer here leaves it at exactly 0.
          for (std::size_t k = 0; k < kernel.size(); ++k) kernel_gradient[k] *= mask[2 * i][k];
          for (std::size_t k = 0; k < bias.size(); ++k) bias_gradient[k] *= mask[2 * i + 1][k];
        }
        optimizer->Step(2 * i, kernel, kernel_gradient);
        const bool hidden = i + 1 < model.layers.size();
        const float unit_strength =
            hidden && !retraining ? static_cast<float>(l1_scale) * UnitGroupStrength(config, layer.name) : 0.0f;
        const float input_strength =
            i == 0 && !retraining ? static_cast<float>(l1_scale) * config.group_l1_inputs : 0.0f;
        if (unit_strength > 0.0f || input_strength > 0.0f) {
          group_rates.resize(kernel.size());
          optimizer->StepRates(2 * i, group_rates);
          ShrinkKernelGroups(layer.kernel, group_rates, input_strength, unit_strength);
        }
        optimizer->Step(2 * i + 1, bias, bias_gradient);
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
    if (config.target_sparsity > 0.0) {
      metrics.target_sparsity = config.target_sparsity;
      metrics.l1_scale = l1_scale;
      if (epoch == config.epochs) metrics.pruned = PruneToSparsity(model, config.target_sparsity, prunable);
    }
    metrics.epoch = epoch;
    metrics.mean_batch_loss = loss_sum / static_cast<double>(steps);
    metrics.train_seconds = SecondsSince(epoch_start);
    const auto evaluate_start = std::chrono::steady_clock::now();
    metrics.train = Evaluate(model, data.train);
    metrics.validation = EvaluateIfPresent(model, data.validation);
    metrics.test = EvaluateIfPresent(model, data.test);
    metrics.nonzero = CountNonzero(model);
    metrics.removed_units = CountRemovedUnits(model);
    metrics.removed_inputs = CountRemovedInputs(model);
    metrics.evaluate_seconds = SecondsSince(evaluate_start);
    if (!std::isfinite(metrics.train.cross_entropy)) {
      throw TrainerError("epoch " + std::to_string(epoch) + ": training loss is " +
                         NumberText(metrics.train.cross_entropy) +
                         "; training diverged, try a lower learning rate");
    }
    if (config.target_sparsity > 0.0 && !retraining && epoch < config.epochs &&
        epoch >= config.l1_warmup_epochs && ZeroFraction(metrics.nonzero) < config.target_sparsity) {
      l1_target_scale *= config.target_l1_growth;
    }
    if (on_epoch) on_epoch(metrics);
    if (on_state) {
      TrainState state;
      state.model = model;
      state.epochs_done = epoch;
      state.rng_state = rng.state();
      state.optimizer_name = OptimizerName(config.optimizer.kind);
      state.optimizer_slots = optimizer->slot_names();
      state.optimizer_state = optimizer->state();
      state.mask = mask;
      state.l1_target_scale = l1_target_scale;
      on_state(state);
    }
  }
  return model;
}

}  // namespace frugal::trainer
