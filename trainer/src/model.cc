// Forward pass and backpropagation of the MLP on column-per-example batches.
#include "frugal/trainer/model.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace frugal::trainer {

const char* ActivationName(Activation activation) {
  return activation == Activation::kRelu ? "relu" : "none";
}

Mlp CreateMlp(std::size_t input_size, std::span<const std::size_t> hidden,
              std::size_t class_count, double input_scale, Rng& rng) {
  Mlp model;
  model.input_scale = input_scale;
  std::vector<std::size_t> widths{input_size};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(class_count);

  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    const std::size_t fan_in = widths[i];
    const std::size_t fan_out = widths[i + 1];
    DenseLayer layer;
    layer.name = "dense_" + std::to_string(i + 1);
    layer.activation = (i + 2 == widths.size()) ? Activation::kNone : Activation::kRelu;
    layer.kernel.resize(static_cast<Eigen::Index>(fan_in), static_cast<Eigen::Index>(fan_out));
    const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    for (Eigen::Index r = 0; r < layer.kernel.rows(); ++r) {
      for (Eigen::Index c = 0; c < layer.kernel.cols(); ++c) {
        layer.kernel(r, c) = static_cast<float>(limit * (2.0 * rng.UniformDouble() - 1.0));
      }
    }
    layer.bias = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(fan_out));
    model.layers.push_back(std::move(layer));
  }
  return model;
}

void GatherInputs(const Mlp& model, const std::uint8_t* pixels, std::span<const std::uint32_t> indices,
                  std::size_t first, std::size_t count, Eigen::MatrixXf& inputs) {
  const Eigen::Index features = static_cast<Eigen::Index>(model.input_size());
  const float scale = static_cast<float>(model.input_scale);
  inputs.resize(features, static_cast<Eigen::Index>(count));
  for (std::size_t j = 0; j < count; ++j) {
    const std::size_t example = indices.empty() ? first + j : indices[first + j];
    const Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, 1>> column(
        pixels + example * static_cast<std::size_t>(features), features);
    inputs.col(static_cast<Eigen::Index>(j)) = column.cast<float>() * scale;
  }
}

void Forward(const Mlp& model, const Eigen::MatrixXf& inputs, Eigen::MatrixXf& logits) {
  Eigen::MatrixXf buffers[2];
  const Eigen::MatrixXf* layer_input = &inputs;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const DenseLayer& layer = model.layers[i];
    Eigen::MatrixXf& output = (i + 1 == model.layers.size()) ? logits : buffers[i % 2];
    output.noalias() = layer.kernel.transpose() * *layer_input;
    output.colwise() += layer.bias;
    if (layer.activation == Activation::kRelu) output = output.cwiseMax(0.0f);
    layer_input = &output;
  }
}

Eigen::MatrixXf LogitsForImages(const Mlp& model, const std::uint8_t* pixels, std::size_t count) {
  Eigen::MatrixXf inputs;
  GatherInputs(model, pixels, {}, 0, count, inputs);
  Eigen::MatrixXf logits;
  Forward(model, inputs, logits);
  return logits;
}

double SumCrossEntropy(const Eigen::MatrixXf& logits, std::span<const std::uint8_t> labels,
                       std::size_t* errors) {
  double sum = 0.0;
  for (Eigen::Index j = 0; j < logits.cols(); ++j) {
    const auto column = logits.col(j);
    Eigen::Index predicted = 0;
    const float max = column.maxCoeff(&predicted);
    const float log_sum_exp = max + std::log((column.array() - max).exp().sum());
    const std::uint8_t label = labels[static_cast<std::size_t>(j)];
    sum += static_cast<double>(log_sum_exp - column(label));
    if (predicted != label) ++*errors;
  }
  return sum;
}

double Backprop::ComputeGradients(const Mlp& model, const Eigen::MatrixXf& inputs,
                                  std::span<const std::uint8_t> labels, Gradients& gradients) {
  const std::size_t layer_count = model.layers.size();
  pre_activations_.resize(layer_count);
  activations_.resize(layer_count);
  gradients.kernels.resize(layer_count);
  gradients.biases.resize(layer_count);

  for (std::size_t i = 0; i < layer_count; ++i) {
    const DenseLayer& layer = model.layers[i];
    const Eigen::MatrixXf& layer_input = (i == 0) ? inputs : activations_[i - 1];
    pre_activations_[i].noalias() = layer.kernel.transpose() * layer_input;
    pre_activations_[i].colwise() += layer.bias;
    if (layer.activation == Activation::kRelu) {
      activations_[i] = pre_activations_[i].cwiseMax(0.0f);
    } else if (i + 1 < layer_count) {
      activations_[i] = pre_activations_[i];
    }
  }

  // Softmax cross-entropy on the logits: d(mean loss)/d(logits) = (softmax - one_hot) / batch.
  const Eigen::MatrixXf& logits = pre_activations_.back();
  const Eigen::Index batch = logits.cols();
  const Eigen::RowVectorXf max = logits.colwise().maxCoeff();
  delta_ = (logits.rowwise() - max).array().exp().matrix();
  const Eigen::RowVectorXf sum_exp = delta_.colwise().sum();
  double loss = 0.0;
  for (Eigen::Index j = 0; j < batch; ++j) {
    const std::uint8_t label = labels[static_cast<std::size_t>(j)];
    loss += static_cast<double>(std::log(sum_exp(j)) + max(j) - logits(label, j));
  }
  const float inverse_batch = 1.0f / static_cast<float>(batch);
  delta_.array().rowwise() /= sum_exp.array();
  for (Eigen::Index j = 0; j < batch; ++j) delta_(labels[static_cast<std::size_t>(j)], j) -= 1.0f;
  delta_ *= inverse_batch;

  for (std::size_t i = layer_count; i-- > 0;) {
    const Eigen::MatrixXf& layer_input = (i == 0) ? inputs : activations_[i - 1];
    gradients.kernels[i].noalias() = layer_input * delta_.transpose();
    gradients.biases[i] = delta_.rowwise().sum();
    if (i == 0) break;

    previous_delta_.noalias() = model.layers[i].kernel * delta_;
    if (model.layers[i - 1].activation == Activation::kRelu) {
      // ReLU passes gradient only where its input was positive (0 at the kink, as TF).
      previous_delta_.array() *= (pre_activations_[i - 1].array() > 0.0f).cast<float>();
    }
    std::swap(delta_, previous_delta_);
  }
  return loss / static_cast<double>(batch);
}

ParallelBackprop::ParallelBackprop(std::size_t threads)
    : backprops_(threads), range_inputs_(threads), range_gradients_(threads), range_losses_(threads) {}

double ParallelBackprop::ComputeGradients(const Mlp& model, const Eigen::MatrixXf& inputs,
                                          std::span<const std::uint8_t> labels, Gradients& gradients) {
  const std::size_t batch = static_cast<std::size_t>(inputs.cols());
  const std::size_t ranges = std::min(backprops_.size(), batch);
  if (ranges <= 1) return backprops_.front().ComputeGradients(model, inputs, labels, gradients);

  // Range r starts at r * batch / ranges, so the ranges differ in size by at most 1.
  const auto range_first = [&](std::size_t r) { return r * batch / ranges; };
  const int thread_count = static_cast<int>(ranges);
#pragma omp parallel for num_threads(thread_count) schedule(static, 1)
  for (int r = 0; r < thread_count; ++r) {
    const std::size_t index = static_cast<std::size_t>(r);
    const std::size_t first = range_first(index);
    const std::size_t count = range_first(index + 1) - first;
    range_inputs_[index] = inputs.middleCols(static_cast<Eigen::Index>(first), static_cast<Eigen::Index>(count));
    range_losses_[index] = backprops_[index].ComputeGradients(model, range_inputs_[index],
                                                              labels.subspan(first, count), range_gradients_[index]);
  }

  // Each range's gradient is of its own mean loss, so it counts count / batch of the
  // batch's mean.
  double loss = 0.0;
  gradients.kernels.resize(model.layers.size());
  gradients.biases.resize(model.layers.size());
  for (std::size_t r = 0; r < ranges; ++r) {
    const std::size_t count = range_first(r + 1) - range_first(r);
    const float weight = static_cast<float>(count) / static_cast<float>(batch);
    loss += range_losses_[r] * static_cast<double>(count) / static_cast<double>(batch);
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      if (r == 0) {
        gradients.kernels[i] = weight * range_gradients_[r].kernels[i];
        gradients.biases[i] = weight * range_gradients_[r].biases[i];
      } else {
        gradients.kernels[i] += weight * range_gradients_[r].kernels[i];
        gradients.biases[i] += weight * range_gradients_[r].biases[i];
      }
    }
  }
  return loss;
}

}  // namespace frugal::trainer
