// Batch-1 execution of a verified model. The constructor resolves one kernel and one
// pair of input/output pointers per layer, so Invoke is a loop of indirect calls that
// allocates nothing. A CSC layer in kAuto resolves two kernels and picks one per call.
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
  const std::uint32_t* col_ptr = nullptr;
  const std::uint32_t* row_idx = nullptr;
  const float* csc_values = nullptr;
  const std::int8_t* int8_values = nullptr;  // kDenseInt8 (rows x cols) or kCsrInt8 (nnz)
  const float* scales = nullptr;              // output_size entries for both int8 encodings
  const std::uint32_t* block_row_ptr = nullptr;
  const std::uint16_t* block_col_u16 = nullptr;
  const std::uint32_t* block_col_u32 = nullptr;
  const float* block_values = nullptr;
  const float* dense_column_values = nullptr;
  kernels::GemvFn gemv = nullptr;
  kernels::CsrmvFn csrmv = nullptr;
  kernels::CscmvFn cscmv = nullptr;
  kernels::QGemvFn qgemv = nullptr;
  kernels::QCsrmvFn qcsrmv = nullptr;
  kernels::BsrmvFn bsrmv = nullptr;
  kernels::GemvcolFn gemvcol = nullptr;
  const char* kernel_name = "";
  // CSC layers in kAuto only. The other form is kDense (dense_values and gemv) or kCsr
  // (the CSR arrays and csrmv). It runs when the CSC kernel's estimated time on the
  // call's input is above other_ns, the other form's estimate times kCscMaxShareOfOther.
  bool chooses_per_call = false;
  WeightEncoding other_encoding = WeightEncoding::kDense;
  const char* other_kernel_name = "";
  double other_ns = 0.0;
  double csc_ns_per_weight = 0.0;
  double csc_ns_per_column = 0.0;
  const char* last_kernel_name = "";
  std::uint64_t stored_runs = 0;
  std::uint64_t other_runs = 0;
  const float* x = nullptr;
  float* y = nullptr;
};

// kAuto runs a CSC layer's CSC kernel only when its estimated time is below this share
// of the other form's. On a 64x784 MNIST layer at 90% zeros, frugal-bench measured the
// interpreter's mix of both forms 1.4x slower than dense alone where the estimates saw
// a tie, because switching forms costs cache space and the count pass is not free.
constexpr double kCscMaxShareOfOther = 0.75;

// CSR arrays built from a CSC layer, owned by the interpreter.
struct OwnedCsr {
  std::vector<std::uint32_t> row_ptr;
  std::vector<std::uint32_t> col_idx;
  std::vector<float> values;
};

// Alignment in bytes of every dense copy the interpreter makes: a cache line, so that the
// dense kernels' 16- and 32-byte loads of a row cross no more cache lines than needed.
// With malloc's 16-byte alignment, the same AVX2 kernel on the same 784-column layers ran
// 8% faster or slower from one allocation to the next (frugal-bench, Zen 3).
constexpr std::size_t kDenseCopyAlignment = 64;

// An allocator for std::vector that aligns to kDenseCopyAlignment.
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  explicit CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kDenseCopyAlignment}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{kDenseCopyAlignment}); }
  friend bool operator==(const CacheLineAllocator&, const CacheLineAllocator&) { return true; }
};

using DenseCopy = std::vector<float, CacheLineAllocator<float>>;

// Writes the CSR rows, CSC columns, blocks or dense columns of `layer` into a zero-filled
// row-major matrix.
DenseCopy ExpandToDense(const internal::LayerView& layer) {
  const std::uint32_t cols = layer.info.input_size;
  DenseCopy dense(static_cast<std::size_t>(layer.info.output_size) * cols, 0.0f);
  if (layer.info.encoding == WeightEncoding::kDenseColumns) {
    const auto stride = static_cast<std::size_t>(DenseColumnStride(layer.info.output_size));
    for (std::uint32_t c = 0; c < cols; ++c) {
      for (std::uint32_t r = 0; r < layer.info.output_size; ++r) {
        dense[static_cast<std::size_t>(r) * cols + c] = layer.dense_column_values[c * stride + r];
      }
    }
    return dense;
  }
  if (layer.info.encoding == WeightEncoding::kBlockCsr) {
    const std::uint32_t rows = layer.info.output_size;
    const std::uint32_t block_rows = layer.info.block_rows;
    const std::uint32_t block_cols = layer.info.block_cols;
    const std::uint32_t block_row_count = (rows + block_rows - 1) / block_rows;
    for (std::uint32_t b = 0; b < block_row_count; ++b) {
      for (std::uint32_t k = layer.block_row_ptr[b]; k < layer.block_row_ptr[b + 1]; ++k) {
        const std::uint32_t col = layer.block_col_u16 != nullptr ? layer.block_col_u16[k] : layer.block_col_u32[k];
        const float* block = layer.block_values + static_cast<std::size_t>(k) * block_rows * block_cols;
        // Rows past output_size are zero padding (checked at load), so they are skipped.
        // Blocks may overlap, so each adds its values instead of overwriting.
        for (std::uint32_t i = 0; i < block_rows && b * block_rows + i < rows; ++i) {
          for (std::uint32_t j = 0; j < block_cols; ++j) {
            dense[static_cast<std::size_t>(b * block_rows + i) * cols + col + j] += block[i * block_cols + j];
          }
        }
      }
    }
    return dense;
  }
  if (layer.info.encoding == WeightEncoding::kCsc) {
    for (std::uint32_t c = 0; c < cols; ++c) {
      for (std::uint32_t k = layer.col_ptr[c]; k < layer.col_ptr[c + 1]; ++k) {
        dense[static_cast<std::size_t>(layer.row_idx[k]) * cols + c] = layer.csc_values[k];
      }
    }
    return dense;
  }
  for (std::uint32_t r = 0; r < layer.info.output_size; ++r) {
    for (std::uint32_t k = layer.row_ptr[r]; k < layer.row_ptr[r + 1]; ++k) {
      dense[static_cast<std::size_t>(r) * cols + layer.col_idx[k]] = layer.csr_values[k];
    }
  }
  return dense;
}

// Transposes a CSC layer into CSR. Columns are visited in increasing order, so the
// column indices within each row come out strictly increasing, as CSR requires.
OwnedCsr CscToCsr(const internal::LayerView& layer) {
  const std::uint32_t rows = layer.info.output_size;
  const std::uint32_t cols = layer.info.input_size;
  const std::uint32_t nnz = layer.col_ptr[cols];
  OwnedCsr csr;
  csr.row_ptr.assign(std::size_t{rows} + 1, 0);
  csr.col_idx.resize(nnz);
  csr.values.resize(nnz);
  for (std::uint32_t k = 0; k < nnz; ++k) ++csr.row_ptr[layer.row_idx[k] + 1];
  for (std::uint32_t r = 0; r < rows; ++r) csr.row_ptr[r + 1] += csr.row_ptr[r];
  std::vector<std::uint32_t> next(csr.row_ptr.begin(), csr.row_ptr.end() - 1);
  for (std::uint32_t c = 0; c < cols; ++c) {
    for (std::uint32_t k = layer.col_ptr[c]; k < layer.col_ptr[c + 1]; ++k) {
      const std::uint32_t slot = next[layer.row_idx[k]]++;
      csr.col_idx[slot] = c;
      csr.values[slot] = layer.csc_values[k];
    }
  }
  return csr;
}

// Whether a sparse layer runs faster dense with the `dense` variant than with the `csr`
// variant, from its density and size.
bool DenserThanCrossover(const internal::LayerView& layer, const kernels::KernelVariant& csr,
                         const kernels::KernelVariant& dense) {
  return kernels::DenseIsFaster(layer.info.output_size, layer.info.input_size, layer.info.stored_values, csr, dense);
}

// Whether `layer` runs expanded to dense: CSR and CSC layers always in kDense, never in
// kAsStored, and CSR layers in kAuto when their density is above the crossover of the
// CSR kernel they would otherwise run. CSC layers in kAuto keep CSC and get a second form.
// Block CSR layers in kAuto compare with the crossover of their own block kernel, whose
// density counts the stored values, fill-in zeros included.
// Dense-columns layers in kAuto run as stored, because their kernel does the dense work
// (plus up to 7 padding rows) at most and skips zero inputs.
bool RunsExpanded(const internal::LayerView& layer, ExecutionMode mode, const kernels::KernelVariant& csr,
                  const kernels::KernelVariant& dense, const kernels::KernelVariant* block) {
  if (layer.info.encoding == WeightEncoding::kDense) return false;
  // Int8 layers stay int8, and RunsInt8Expanded decides for them.
  if (layer.info.encoding == WeightEncoding::kDenseInt8 || layer.info.encoding == WeightEncoding::kCsrInt8) {
    return false;
  }
  if (mode == ExecutionMode::kDense) return true;
  if (mode == ExecutionMode::kAsStored) return false;
  if (layer.info.encoding == WeightEncoding::kCsc) return false;
  if (layer.info.encoding == WeightEncoding::kDenseColumns) return false;
  if (layer.info.encoding == WeightEncoding::kBlockCsr) return DenserThanCrossover(layer, *block, dense);
  return DenserThanCrossover(layer, csr, dense);
}

// Whether an int8 CSR layer runs expanded to dense int8: always in kDense, never in
// kAsStored, and in kAuto when its density is above the crossover of `qcsr`. That
// crossover was measured against the int8 dense kernel of the same ISA.
bool RunsInt8Expanded(const internal::LayerView& layer, ExecutionMode mode, const kernels::KernelVariant& qcsr,
                      const kernels::KernelVariant& qdense) {
  if (layer.info.encoding != WeightEncoding::kCsrInt8) return false;
  if (mode == ExecutionMode::kDense) return true;
  if (mode == ExecutionMode::kAsStored) return false;
  return DenserThanCrossover(layer, qcsr, qdense);
}

// Writes the int8 CSR rows of `layer` into a zero-filled row-major int8 matrix. The
// scales stay per row, so the file's scales serve the dense copy too.
std::vector<std::int8_t> ExpandInt8ToDense(const internal::LayerView& layer) {
  const std::uint32_t cols = layer.info.input_size;
  std::vector<std::int8_t> dense(static_cast<std::size_t>(layer.info.output_size) * cols, 0);
  for (std::uint32_t r = 0; r < layer.info.output_size; ++r) {
    for (std::uint32_t k = layer.row_ptr[r]; k < layer.row_ptr[r + 1]; ++k) {
      dense[static_cast<std::size_t>(r) * cols + layer.col_idx[k]] = layer.int8_values[k];
    }
  }
  return dense;
}

// The CSC kernel's work on the current input: the non-zero inputs, and the stored
// values in their columns.
struct CscWork {
  std::uint32_t columns = 0;
  std::uint32_t weights = 0;
};

// The loop has no branch on x, because MNIST pixels and ReLU outputs switch between zero
// and non-zero too irregularly for branch prediction. uint32 sums cannot overflow,
// because the loader bounds nnz by rows x cols < 2^32.
CscWork CountCscWork(const PlannedLayer& layer) {
  CscWork work;
  for (std::uint32_t c = 0; c < layer.input_size; ++c) {
    const std::uint32_t length = layer.col_ptr[c + 1] - layer.col_ptr[c];
    // Masks, not conditional expressions: GCC 12 compiled `nonzero ? length : 0` to a
    // branch, which mispredicted often enough to cost 3 to 5 ns per input.
    const std::uint32_t nonzero = static_cast<std::uint32_t>(layer.x[c] != 0.0f);
    work.columns += nonzero;
    work.weights += length & (0u - nonzero);
  }
  return work;
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
  std::vector<DenseCopy> expanded_weights;  // dense copies of sparse layers run dense
  std::vector<OwnedCsr> csr_copies;                 // CSR forms of CSC layers in kAuto
  std::vector<std::vector<std::int8_t>> expanded_int8;  // dense copies of int8 CSR layers run dense
  std::vector<PlannedLayer> layers;

  void PlanOtherForm(const internal::LayerView& view, const kernels::KernelVariant& csc,
                     const kernels::KernelVariant& csr, bool scalar_only, PlannedLayer* layer);
};

// Gives a CSC layer in kAuto the form kAuto would pick for a CSR layer of its density,
// and the limit on the CSC kernel's work above which that form is expected to be faster.
void Interpreter::Impl::PlanOtherForm(const internal::LayerView& view, const kernels::KernelVariant& csc,
                                      const kernels::KernelVariant& csr, bool scalar_only, PlannedLayer* layer) {
  double other_ns = 0.0;
  const kernels::KernelVariant& dense = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);
  if (DenserThanCrossover(view, csr, dense)) {
    expanded_weights.push_back(ExpandToDense(view));
    layer->dense_values = expanded_weights.back().data();
    layer->other_encoding = WeightEncoding::kDense;
    layer->gemv = dense.gemv;
    layer->other_kernel_name = dense.name;
    other_ns = static_cast<double>(view.info.output_size) * view.info.input_size * dense.ns_per_weight;
  } else {
    csr_copies.push_back(CscToCsr(view));
    const OwnedCsr& copy = csr_copies.back();
    layer->row_ptr = copy.row_ptr.data();
    layer->col_idx = copy.col_idx.data();
    layer->csr_values = copy.values.data();
    layer->other_encoding = WeightEncoding::kCsr;
    layer->csrmv = csr.csrmv;
    layer->other_kernel_name = csr.name;
    other_ns = static_cast<double>(view.info.stored_values) * csr.ns_per_weight;
  }
  // NOTE: the estimates leave out the fixed costs of both sides (the CSC kernel's bias
  // copy, mask pass over x and ReLU pass, and this count), so on small layers the
  // choice can go to the slightly slower form.
  layer->chooses_per_call = true;
  layer->other_ns = other_ns * kCscMaxShareOfOther;
  layer->csc_ns_per_weight = csc.ns_per_weight;
  layer->csc_ns_per_column = csc.ns_per_column;
}

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
  // kAuto compares the estimated times of these two variants, which SelectKernel picks
  // with the same scalar_only.
  const kernels::KernelVariant& csr_kernel = kernels::SelectKernel(WeightEncoding::kCsr, scalar_only);
  const kernels::KernelVariant& dense_kernel = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);
  const kernels::KernelVariant& qcsr_kernel = kernels::SelectKernel(WeightEncoding::kCsrInt8, scalar_only);
  const kernels::KernelVariant& qdense_kernel = kernels::SelectKernel(WeightEncoding::kDenseInt8, scalar_only);
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
    layer.col_ptr = view.col_ptr;
    layer.row_idx = view.row_idx;
    layer.csc_values = view.csc_values;
    layer.dense_column_values = view.dense_column_values;
    layer.int8_values = view.int8_values;
    layer.scales = view.scales;
    layer.block_row_ptr = view.block_row_ptr;
    layer.block_col_u16 = view.block_col_u16;
    layer.block_col_u32 = view.block_col_u32;
    layer.block_values = view.block_values;
    // The loader accepts only block shapes that have a kernel, so block_kernel is set
    // for every block CSR layer.
    const kernels::KernelVariant* block_kernel =
        view.info.encoding == WeightEncoding::kBlockCsr
            ? kernels::SelectBlockKernel(view.info.block_rows, view.info.block_cols, scalar_only)
            : nullptr;
    if (RunsExpanded(view, options.mode, csr_kernel, dense_kernel, block_kernel)) {
      impl.expanded_weights.push_back(ExpandToDense(view));
      layer.encoding = WeightEncoding::kDense;
      layer.dense_values = impl.expanded_weights.back().data();
    }
    if (RunsInt8Expanded(view, options.mode, qcsr_kernel, qdense_kernel)) {
      impl.expanded_int8.push_back(ExpandInt8ToDense(view));
      layer.encoding = WeightEncoding::kDenseInt8;
      layer.int8_values = impl.expanded_int8.back().data();
    }
    const kernels::KernelVariant& kernel = layer.encoding == WeightEncoding::kBlockCsr
                                               ? *block_kernel
                                               : kernels::SelectKernel(layer.encoding, scalar_only);
    layer.gemv = kernel.gemv;
    layer.csrmv = kernel.csrmv;
    layer.cscmv = kernel.cscmv;
    layer.qgemv = kernel.qgemv;
    layer.qcsrmv = kernel.qcsrmv;
    layer.bsrmv = kernel.bsrmv;
    layer.gemvcol = kernel.gemvcol;
    layer.kernel_name = kernel.name;
    if (layer.encoding == WeightEncoding::kCsc && options.mode == ExecutionMode::kAuto) {
      impl.PlanOtherForm(view, kernel, csr_kernel, scalar_only, &layer);
    }
    layer.last_kernel_name = layer.kernel_name;

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
  return impl_->layers[i].last_kernel_name;
}

std::pair<std::uint64_t, std::uint64_t> Interpreter::kernel_runs(std::size_t i) const {
  assert(i < impl_->layers.size());
  return {impl_->layers[i].stored_runs, impl_->layers[i].other_runs};
}

std::size_t Interpreter::buffer_bytes() const {
  std::size_t floats = impl_->input.size() + impl_->gathered.size() + impl_->output.size() + impl_->ping.size() + impl_->pong.size();
  for (const DenseCopy& weights : impl_->expanded_weights) floats += weights.size();
  std::size_t bytes = floats * sizeof(float);
  for (const std::vector<std::int8_t>& weights : impl_->expanded_int8) bytes += weights.size();
  for (const OwnedCsr& csr : impl_->csr_copies) {
    bytes += (csr.row_ptr.size() + csr.col_idx.size()) * sizeof(std::uint32_t) + csr.values.size() * sizeof(float);
  }
  return bytes;
}

void Interpreter::InvokeLayer(std::size_t i) {
  assert(i < impl_->layers.size());
  PlannedLayer& layer = impl_->layers[i];
  if (i == 0 && impl_->input_indices != nullptr) {
    // The loader checked every index against input.size().
    for (std::size_t k = 0; k < impl_->gathered.size(); ++k) impl_->gathered[k] = impl_->input[impl_->input_indices[k]];
  }
  WeightEncoding encoding = layer.encoding;
  if (layer.chooses_per_call) {
    const CscWork work = CountCscWork(layer);
    const double csc_ns = work.columns * layer.csc_ns_per_column + work.weights * layer.csc_ns_per_weight;
    const bool csc = csc_ns <= layer.other_ns;
    encoding = csc ? WeightEncoding::kCsc : layer.other_encoding;
    layer.last_kernel_name = csc ? layer.kernel_name : layer.other_kernel_name;
    ++(csc ? layer.stored_runs : layer.other_runs);
  } else {
    ++layer.stored_runs;
  }
  switch (encoding) {
    case WeightEncoding::kDense:
      layer.gemv(layer.output_size, layer.input_size, layer.dense_values, layer.x, layer.bias, layer.relu, layer.y);
      break;
    case WeightEncoding::kCsr:
      layer.csrmv(layer.output_size, layer.row_ptr, layer.col_idx, layer.csr_values, layer.x, layer.bias, layer.relu,
                  layer.y);
      break;
    case WeightEncoding::kCsc:
      layer.cscmv(layer.output_size, layer.input_size, layer.col_ptr, layer.row_idx, layer.csc_values, layer.x,
                  layer.bias, layer.relu, layer.y);
      break;
    case WeightEncoding::kDenseInt8:
      layer.qgemv(layer.output_size, layer.input_size, layer.int8_values, layer.scales, layer.x, layer.bias,
                  layer.relu, layer.y);
      break;
    case WeightEncoding::kCsrInt8:
      layer.qcsrmv(layer.output_size, layer.row_ptr, layer.col_idx, layer.int8_values, layer.scales, layer.x,
                   layer.bias, layer.relu, layer.y);
      break;
    case WeightEncoding::kBlockCsr:
      layer.bsrmv(layer.output_size, layer.block_row_ptr, layer.block_col_u16, layer.block_col_u32,
                  layer.block_values, layer.x, layer.bias, layer.relu, layer.y);
      break;
    case WeightEncoding::kDenseColumns:
      layer.gemvcol(layer.output_size, layer.input_size, layer.dense_column_values, layer.x, layer.bias, layer.relu,
                    layer.y);
      break;
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
