// The multilayer perceptron that frugal-train fits: dense layers with ReLU between them
// and logits out, with its forward pass and backpropagation on mini-batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "frugal/trainer/random.h"

namespace frugal::trainer {

enum class Activation { kRelu, kNone };

const char* ActivationName(Activation activation);

// One fully connected layer, outputs = activation(kernel^T * inputs + bias).
struct DenseLayer {
  std::string name;       // "dense_1", "dense_2", ... in the order the layers run
  Eigen::MatrixXf kernel;  // [inputs x units], the Keras and checkpoint orientation
  Eigen::VectorXf bias;    // [units]
  Activation activation = Activation::kRelu;
};

// Batches are matrices with one column per example ([features x batch], column-major),
// so each example is contiguous and a layer is one GEMM over the whole batch.
struct Mlp {
  std::vector<DenseLayer> layers;
  // Multiplies raw inputs (pixels 0..255) before the first layer: 1/255 or 1.
  double input_scale = 1.0 / 255.0;

  std::size_t input_size() const { return layers.front().kernel.rows(); }
  std::size_t class_count() const { return layers.back().kernel.cols(); }
};

// Builds input_size -> hidden... -> class_count with ReLU on hidden layers and logits
// out. Kernels are Glorot-uniform (limit sqrt(6 / (fan_in + fan_out)), the Keras
// default) drawn from `rng` layer by layer in row-major order; biases are zero.
Mlp CreateMlp(std::size_t input_size, std::span<const std::size_t> hidden,
              std::size_t class_count, double input_scale, Rng& rng);

// Converts `count` examples of raw bytes (row-major, input_size bytes each) at `pixels`
// into columns of `inputs`, scaled by input_scale. `indices`, if not empty, selects
// which examples to take, in order.
void GatherInputs(const Mlp& model, const std::uint8_t* pixels, std::span<const std::uint32_t> indices,
                  std::size_t first, std::size_t count, Eigen::MatrixXf& inputs);

// Computes logits [class_count x batch] for inputs [input_size x batch].
void Forward(const Mlp& model, const Eigen::MatrixXf& inputs, Eigen::MatrixXf& logits);

// Computes logits for `count` raw images of input_size bytes each, scaling them by
// input_scale first.
Eigen::MatrixXf LogitsForImages(const Mlp& model, const std::uint8_t* pixels, std::size_t count);

// Gradients of the mean loss over a batch, one entry per layer, shaped like the layer.
struct Gradients {
  std::vector<Eigen::MatrixXf> kernels;
  std::vector<Eigen::VectorXf> biases;
};

// Backpropagation with buffers kept between batches, so training allocates nothing per
// batch once the first batch of each size has run.
class Backprop {
 public:
  // Computes the gradients of the mean softmax cross-entropy over the batch into
  // `gradients` and returns that mean loss. `labels` has one entry per column.
  double ComputeGradients(const Mlp& model, const Eigen::MatrixXf& inputs,
                          std::span<const std::uint8_t> labels, Gradients& gradients);

 private:
  std::vector<Eigen::MatrixXf> pre_activations_;  // per layer, [units x batch]
  std::vector<Eigen::MatrixXf> activations_;      // per layer, after ReLU
  Eigen::MatrixXf delta_;
  Eigen::MatrixXf previous_delta_;
};

// Backpropagation with the batch split into one column range per thread, each range run
// by Backprop on its own OpenMP thread. The gradients are then summed in range order,
// weighted by range size, so a thread count always gives the same bits. Other counts
// may differ in the last bits. One parallel region per batch, because Eigen's own
// parallel product busy-waits for its threads several times per product, which is slow
// when other processes share the cores. With 1 thread this is Backprop.
class ParallelBackprop {
 public:
  // `threads` must be at least 1; above 1 it needs a build with OpenMP.
  explicit ParallelBackprop(std::size_t threads);

  // As Backprop::ComputeGradients.
  double ComputeGradients(const Mlp& model, const Eigen::MatrixXf& inputs,
                          std::span<const std::uint8_t> labels, Gradients& gradients);

 private:
  std::vector<Backprop> backprops_;  // one per thread
  std::vector<Eigen::MatrixXf> range_inputs_;
  std::vector<Gradients> range_gradients_;
  std::vector<double> range_losses_;
};

// Per-example softmax cross-entropy and correctness of the argmax (first maximum on
// ties, as tf.argmax). Returns the sum of the losses and adds errors to `*errors`.
double SumCrossEntropy(const Eigen::MatrixXf& logits, std::span<const std::uint8_t> labels,
                       std::size_t* errors);

}  // namespace frugal::trainer
