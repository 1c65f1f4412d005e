// XNNPACK baseline: one f32 fully connected operator per layer, set up once.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <limits>

#include "runners.h"

namespace frugal::bench {
namespace {

class XnnpackRunner final : public Runner {
 public:
  XnnpackRunner(std::size_t batch, std::size_t threads) : batch_(batch) {
    if (threads > 1) threadpool_ = pthreadpool_create(threads);
  }
  ~XnnpackRunner() override {
    for (xnn_operator_t op : operators_) xnn_delete_operator(op);
    if (threadpool_ != nullptr) pthreadpool_destroy(threadpool_);
  }
  XnnpackRunner(const XnnpackRunner&) = delete;
  XnnpackRunner& operator=(const XnnpackRunner&) = delete;

  // Creates and sets up every operator; returns an empty string or the failure.
  std::string Build(const std::vector<DenseLayer>& layers) {
    activations_.emplace_back(batch_ * layers.front().cols, 0.0f);
    for (const DenseLayer& layer : layers) activations_.emplace_back(batch_ * layer.rows, 0.0f);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const DenseLayer& layer = layers[i];
      const float min = layer.relu ? 0.0f : -std::numeric_limits<float>::infinity();
      xnn_operator_t op = nullptr;
      // The kernel is [output_channels, input_channels], the row-major layout of
      // DenseLayer::weights; XNNPACK packs a copy of it and of the bias here.
      xnn_status status = xnn_create_fully_connected_nc_f32(
          layer.cols, layer.rows, layer.cols, layer.rows, layer.weights.data(), layer.bias.data(), min,
          std::numeric_limits<float>::infinity(), 0, &op);
      if (status != xnn_status_success) {
        return "xnn_create_fully_connected_nc_f32 failed for layer " + std::to_string(i) + " with status " +
               std::to_string(static_cast<int>(status));
      }
      operators_.push_back(op);
      weight_bytes_ += (layer.weights.size() + layer.bias.size()) * sizeof(float);
      status = xnn_setup_fully_connected_nc_f32(op, batch_, activations_[i].data(), activations_[i + 1].data(),
                                                threadpool_);
      if (status != xnn_status_success) {
        return "xnn_setup_fully_connected_nc_f32 failed for layer " + std::to_string(i) + " with status " +
               std::to_string(static_cast<int>(status));
      }
    }
    return {};
  }

  std::string_view name() const override { return "xnnpack_dense"; }
  std::size_t batch() const override { return batch_; }
  std::span<float> input() override { return activations_.front(); }
  // The status is not checked in the timed loop. Build already checked creation and setup,
  // the steps where XNNPACK validates shapes and pointers.
  void Run() override {
    for (xnn_operator_t op : operators_) (void)xnn_run_operator(op, threadpool_);
  }
  std::span<const float> output() const override { return activations_.back(); }
  // NOTE: XNNPACK's packed weights may be padded to its tile sizes; this counts the
  // unpadded weights and biases, so it is a lower bound.
  std::size_t buffer_bytes() const override {
    std::size_t floats = 0;
    for (const std::vector<float>& a : activations_) floats += a.size();
    return weight_bytes_ + floats * sizeof(float);
  }

 private:
  std::size_t batch_;
  pthreadpool_t threadpool_ = nullptr;
  std::vector<xnn_operator_t> operators_;
  std::vector<std::vector<float>> activations_;  // input, then each layer's output
  std::size_t weight_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Runner> MakeXnnpackRunner(const std::vector<DenseLayer>& layers, std::size_t batch,
                                          std::size_t threads, std::string* error) {
  // xnn_initialize runs its setup once (pthread_once) and returns success on later calls.
  if (const xnn_status status = xnn_initialize(nullptr); status != xnn_status_success) {
    *error = "xnn_initialize failed with status " + std::to_string(static_cast<int>(status));
    return nullptr;
  }
  auto runner = std::make_unique<XnnpackRunner>(batch, threads);
  if (std::string failure = runner->Build(layers); !failure.empty()) {
    *error = failure;
    return nullptr;
  }
  return runner;
}

}  // namespace frugal::bench
