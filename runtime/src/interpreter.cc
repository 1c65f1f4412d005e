// Batch-1 execution of a verified model. The constructor resolves one kernel and one
// pair of input/output pointers per layer, so Invoke is a loop of indirect calls that
// allocates nothing.
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/runtime.h"
#include "kernels/kernels.h"
#include "src/model_view.h"

namespace frugal {
namespace {

struct PlannedLayer {
  WeightEncoding encoding = WeightEncoding::kDense;
  bool relu = false;
  std::uint32_t input_size = 0;
  std::uint32_t output_size = 0;
  const float* bias = nullptr;
  const float* dense_values = nullptr;
  const std::uint32_t* row_ptr = nullptr;
  const std::uint32_t* col_idx = nullptr;
  const float* csr_values = nullptr;
  kernels::GemvFn gemv = nullptr;
  kernels::CsrmvFn csrmv = nullptr;
  const char* kernel_name = "";
  const float* x = nullptr;
  float* y = nullptr;
};

// Writes the CSR rows of `layer` into a zero-filled row-major matrix.
std::vector<float> ExpandToDense(const internal::LayerView& layer) {
  const std::uint32_t cols = layer.info.input_size;
  std::vector<float> dense(static_cast<std::size_t>(layer.info.output_size) * cols, 0.0f);
  for (std::uint32_t r = 0; r < layer.info.output_size; ++r) {
    for (std::uint32_t k = layer.row_ptr[r]; k < layer.row_ptr[r + 1]; ++k) {
      dense[static_cast<std::size_t>(r) * cols + layer.col_idx[k]] = layer.csr_values[k];
    }
  }
  return dense;
}

// Whether `layer` runs expanded to dense: always in kDense, never in kAsStored, and in
// kAuto when its density is above the crossover of the CSR kernel it would otherwise run.
bool RunsExpanded(const internal::LayerView& layer, ExecutionMode mode, const kernels::KernelVariant& csr) {
  if (layer.info.encoding != WeightEncoding::kCsr) return false;
  if (mode == ExecutionMode::kDense) return true;
  if (mode == ExecutionMode::kAsStored) return false;
  const double cells = static_cast<double>(layer.info.output_size) * layer.info.input_size;
  if (cells == 0.0) return false;
  return static_cast<double>(layer.info.stored_values) / cells > csr.csr_max_density;
}

// Whether options or the FRUGAL_SCALAR_KERNELS=1 environment variable request the scalar kernels.
bool ScalarKernelsOnly(const InterpreterOptions& options) {
  if (options.scalar_kernels_only) return true;
  const char* value = std::getenv("FRUGAL_SCALAR_KERNELS");
  return value != nullptr && std::string_view(value) == "1";
}

}  // namespace

// Activations live in two ping-pong buffers sized to the largest hidden layer: layer i
// reads what layer i - 1 wrote and writes the other buffer. Layer 0 reads `input` and the
// last layer writes `output`, so both stay valid until the next Invoke.
// A format 2 model gathers its inputs into `gathered`, which layer 0 then reads.
struct Interpreter::Impl {
  std::vector<float> input;
  std::vector<float> gathered;                // layer 0's input_size values, or empty
  const std::uint32_t* input_indices = nullptr;  // gathered.size() entries, or null
  std::vector<float> output;
  std::vector<float> ping;
  std::vector<float> pong;
  std::vector<std::vector<float>> expanded_weights;  // dense copies of CSR layers run dense
  std::vector<PlannedLayer> layers;
};

// The buffers (and the dense copies of CSR layers run dense) are allocated here, so an
// out-of-memory condition throws std::bad_alloc from this constructor; Create catches it.
Interpreter::Interpreter(const Model& model, const InterpreterOptions& options)
    : impl_(std::make_unique<Impl>()) {
  const std::vector<internal::LayerView>& views = model.impl_->view.layers;
  Impl& impl = *impl_;

  std::size_t hidden_max = 0;
  for (std::size_t i = 0; i + 1 < views.size(); ++i) {
    hidden_max = std::max<std::size_t>(hidden_max, views[i].info.output_size);
  }
  impl.input.assign(model.input_size(), 0.0f);
  if (model.impl_->view.input_indices != nullptr) {
    impl.gathered.assign(views.front().info.input_size, 0.0f);
    impl.input_indices = model.impl_->view.input_indices;
  }
  impl.output.assign(model.output_size(), 0.0f);
  impl.ping.assign(hidden_max, 0.0f);
  impl.pong.assign(views.size() > 2 ? hidden_max : 0, 0.0f);

  const bool scalar_only = ScalarKernelsOnly(options);
  // kAuto compares with this variant's crossover, which was measured against the dense
  // variant that SelectKernel picks with the same scalar_only.
  const kernels::KernelVariant& csr_kernel = kernels::SelectKernel(WeightEncoding::kCsr, scalar_only);
  impl.layers.resize(views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    const internal::LayerView& view = views[i];
    PlannedLayer& layer = impl.layers[i];
    layer.relu = view.info.activation == Activation::kRelu;
    layer.input_size = view.info.input_size;
    layer.output_size = view.info.output_size;
    layer.bias = view.bias;
    layer.encoding = view.info.encoding;
    layer.dense_values = view.dense_values;
    layer.row_ptr = view.row_ptr;
    layer.col_idx = view.col_idx;
    layer.csr_values = view.csr_values;
    if (RunsExpanded(view, options.mode, csr_kernel)) {
      impl.expanded_weights.push_back(ExpandToDense(view));
      layer.encoding = WeightEncoding::kDense;
      layer.dense_values = impl.expanded_weights.back().data();
    }
    const kernels::KernelVariant& kernel = kernels::SelectKernel(layer.encoding, scalar_only);
    layer.gemv = kernel.gemv;
    layer.csrmv = kernel.csrmv;
    layer.kernel_name = kernel.name;

    float* hidden_out = (i % 2 == 0) ? impl.ping.data() : impl.pong.data();
    const float* hidden_in = (i % 2 == 0) ? impl.pong.data() : impl.ping.data();
    const float* first_input = impl.gathered.empty() ? impl.input.data() : impl.gathered.data();
    layer.x = i == 0 ? first_input : hidden_in;
    layer.y = i + 1 == views.size() ? impl.output.data() : hidden_out;
  }
}

Interpreter::~Interpreter() = default;

std::span<float> Interpreter::input() { return impl_->input; }

std::span<const float> Interpreter::output() const { return impl_->output; }

std::string_view Interpreter::kernel_name(std::size_t i) const {
  assert(i < impl_->layers.size());
  return impl_->layers[i].kernel_name;
}

std::size_t Interpreter::buffer_bytes() const {
  std::size_t floats = impl_->input.size() + impl_->gathered.size() + impl_->output.size() + impl_->ping.size() + impl_->pong.size();
  for (const std::vector<float>& weights : impl_->expanded_weights) floats += weights.size();
  return floats * sizeof(float);
}

void Interpreter::InvokeLayer(std::size_t i) {
  assert(i < impl_->layers.size());
  const PlannedLayer& layer = impl_->layers[i];
  if (i == 0 && impl_->input_indices != nullptr) {
    // The loader checked every index against input.size().
    for (std::size_t k = 0; k < impl_->gathered.size(); ++k) impl_->gathered[k] = impl_->input[impl_->input_indices[k]];
  }
  if (layer.encoding == WeightEncoding::kDense) {
    layer.gemv(layer.output_size, layer.input_size, layer.dense_values, layer.x, layer.bias, layer.relu, layer.y);
  } else {
    layer.csrmv(layer.output_size, layer.row_ptr, layer.col_idx, layer.csr_values, layer.x, layer.bias, layer.relu,
                layer.y);
  }
}

Status Interpreter::Invoke() {
  for (std::size_t i = 0; i < impl_->layers.size(); ++i) InvokeLayer(i);
  return Status::Ok();
}

Status Interpreter::Invoke(std::span<const float> input, std::span<const float>* output) {
  if (input.size() != impl_->input.size()) {
    return Status(StatusCode::kInvalidArgument, "Interpreter::Invoke: input has " + std::to_string(input.size()) +
                                                    " values, expected the model's input_size = " +
                                                    std::to_string(impl_->input.size()));
  }
  std::copy(input.begin(), input.end(), impl_->input.begin());
  Status status = Invoke();
  if (output != nullptr) *output = impl_->output;
  return status;
}

Status Interpreter::Create(const Model& model, const InterpreterOptions& options,
                           std::unique_ptr<Interpreter>* interpreter) {
  if (interpreter == nullptr) {
    return Status(StatusCode::kInvalidArgument, "Interpreter::Create: the interpreter pointer is null");
  }
  try {
    *interpreter = std::make_unique<Interpreter>(model, options);
  } catch (const std::bad_alloc&) {
    // Dense copies dominate what the constructor needs: rows x cols floats per layer in
    // the worst case (kDense), plus the activation buffers.
    std::uint64_t worst_case_bytes = 0;
    for (std::size_t i = 0; i < model.layer_count(); ++i) {
      const LayerInfo& layer = model.layer(i);
      worst_case_bytes += std::uint64_t{layer.input_size} * layer.output_size * sizeof(float);
    }
    return Status(StatusCode::kOutOfMemory,
                  model.source_name() + ": out of memory while planning the interpreter (up to " +
                      std::to_string(worst_case_bytes) + " bytes of dense weights)");
  }
  return Status::Ok();
}

}  // namespace frugal
