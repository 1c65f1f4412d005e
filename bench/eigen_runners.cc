// Eigen baselines: the model's weights as Eigen dense or sparse row-major matrices.
// Eigen is built without OpenMP here, so both run on one thread.
#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include "runners.h"

namespace frugal::bench {
namespace {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using SparseRowMajor = Eigen::SparseMatrix<float, Eigen::RowMajor>;
// Activations: one column per sample, so column b is sample b's contiguous vector, the
// same layout as Runner::input(). At batch 1 Eigen dispatches the product to its
// matrix-vector kernel because the right-hand side has one column.
using Activations = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// Holds per-layer weights of type `Weights` and runs y = act(W x + b) layer by layer.
template <typename Weights>
class EigenRunner final : public Runner {
 public:
  EigenRunner(std::string name, std::vector<Weights> weights, const std::vector<DenseLayer>& layers,
              std::size_t batch, std::size_t weight_bytes)
      : name_(std::move(name)), weights_(std::move(weights)), batch_(batch), weight_bytes_(weight_bytes) {
    const Eigen::Index columns = static_cast<Eigen::Index>(batch);
    activations_.emplace_back(Activations::Zero(layers.front().cols, columns));
    for (const DenseLayer& layer : layers) {
      biases_.emplace_back(Eigen::Map<const Eigen::VectorXf>(layer.bias.data(), layer.rows));
      relu_.push_back(layer.relu);
      activations_.emplace_back(Activations::Zero(layer.rows, columns));
    }
  }

  std::string_view name() const override { return name_; }
  std::size_t batch() const override { return batch_; }
  std::span<float> input() override {
    return {activations_.front().data(), static_cast<std::size_t>(activations_.front().size())};
  }
  void Run() override {
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      Activations& y = activations_[i + 1];
      y.noalias() = weights_[i] * activations_[i];
      y.colwise() += biases_[i];
      if (relu_[i]) y = y.cwiseMax(0.0f);
    }
  }
  std::span<const float> output() const override {
    return {activations_.back().data(), static_cast<std::size_t>(activations_.back().size())};
  }
  std::size_t buffer_bytes() const override {
    std::size_t floats = 0;
    for (const Activations& a : activations_) floats += static_cast<std::size_t>(a.size());
    for (const Eigen::VectorXf& b : biases_) floats += static_cast<std::size_t>(b.size());
    return weight_bytes_ + floats * sizeof(float);
  }

 private:
  std::string name_;
  std::vector<Weights> weights_;
  std::vector<Eigen::VectorXf> biases_;
  std::vector<bool> relu_;
  std::vector<Activations> activations_;  // input, then each layer's output
  std::size_t batch_;
  std::size_t weight_bytes_;
};

}  // namespace

std::unique_ptr<Runner> MakeEigenDenseRunner(const std::vector<DenseLayer>& layers, std::size_t batch) {
  std::vector<RowMajorMatrix> weights;
  std::size_t bytes = 0;
  for (const DenseLayer& layer : layers) {
    weights.emplace_back(Eigen::Map<const RowMajorMatrix>(layer.weights.data(), layer.rows, layer.cols));
    bytes += layer.weights.size() * sizeof(float);
  }
  return std::make_unique<EigenRunner<RowMajorMatrix>>("eigen_dense", std::move(weights), layers, batch, bytes);
}

std::unique_ptr<Runner> MakeEigenSparseRunner(const std::vector<DenseLayer>& layers, std::size_t batch) {
  std::vector<SparseRowMajor> weights;
  std::size_t bytes = 0;
  for (const DenseLayer& layer : layers) {
    std::vector<Eigen::Triplet<float>> entries;
    for (std::uint32_t r = 0; r < layer.rows; ++r) {
      for (std::uint32_t c = 0; c < layer.cols; ++c) {
        const float w = layer.weights[std::size_t{r} * layer.cols + c];
        if (w != 0.0f) entries.emplace_back(static_cast<int>(r), static_cast<int>(c), w);
      }
    }
    SparseRowMajor matrix(layer.rows, layer.cols);
    matrix.setFromTriplets(entries.begin(), entries.end());
    matrix.makeCompressed();
    // values and inner indices per non-zero, plus one outer index per row and one more.
    bytes += static_cast<std::size_t>(matrix.nonZeros()) * (sizeof(float) + sizeof(int)) +
             (std::size_t{layer.rows} + 1) * sizeof(int);
    weights.push_back(std::move(matrix));
  }
  return std::make_unique<EigenRunner<SparseRowMajor>>("eigen_sparse", std::move(weights), layers, batch, bytes);
}

std::string EigenVersion() {
  return std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION);
}

std::string EigenSimdInstructionSets() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace frugal::bench
