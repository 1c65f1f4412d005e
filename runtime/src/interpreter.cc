// Batch-1 execution of a verified model. The constructor resolves one kernel and one
// pair of input/output pointers per layer, so Invoke is a loop of indirect calls that
// allocates nothing. A CSC layer in kAuto resolves two kernels and picks one per call.
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/runtime.h"
#include "kernels/kernels.h"
#include "src/model_view.h"
#include "src/thread_pool.h"

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

// One layer of InvokeBatch. With a kernel, the layer runs as gemm (dense_values) or spmm
// (the CSR arrays) over feature-major activations. Without one, it runs sample by sample
// through InvokeLayer with its batch-1 kernel.
struct BatchLayer {
  const kernels::BatchKernelVariant* kernel = nullptr;
  std::uint32_t input_size = 0;
  std::uint32_t output_size = 0;
  bool relu = false;
  const float* bias = nullptr;
  const float* dense_values = nullptr;
  const std::uint32_t* row_ptr = nullptr;
  const std::uint32_t* col_idx = nullptr;
  const float* csr_values = nullptr;
  const float* x = nullptr;  // feature-major, row stride chosen per call
  float* y = nullptr;
};

// Batch columns per unit of work. A thread gets whole units, so with 64-byte aligned
// buffers and a row stride that is a multiple of 16 floats, no two threads write the
// same cache line.
constexpr std::size_t kBatchUnit = 16;

std::size_t RoundUpToUnit(std::size_t batch) { return (batch + kBatchUnit - 1) / kBatchUnit * kBatchUnit; }

// A float buffer whose data() is aligned to 64 bytes, the cache line size of the x86-64
// and ARM cores frugal targets.
class AlignedFloats {
 public:
  void Allocate(std::size_t count) {
    storage_.assign(count + kPad, 0.0f);
    const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
    data_ = storage_.data() + ((64 - address % 64) % 64) / sizeof(float);
  }
  float* data() const { return data_; }
  std::size_t bytes() const { return storage_.size() * sizeof(float); }

 private:
  static constexpr std::size_t kPad = 64 / sizeof(float);
  std::vector<float> storage_;
  float* data_ = nullptr;
};

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

  // InvokeBatch, planned only when max_batch > 1: feature-major activations of up to
  // max_batch samples per feature, layer 0's input after the format 2 gather, the
  // ping-pong hidden buffers and the last layer's output, and the worker threads.
  std::size_t max_batch = 1;
  std::size_t threads = 1;
  std::vector<BatchLayer> batch_layers;
  AlignedFloats batch_input;
  AlignedFloats batch_ping;
  AlignedFloats batch_pong;
  AlignedFloats batch_output;
  std::size_t model_input_size = 0;
  std::unique_ptr<internal::ThreadPool> pool;

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
  PlanBatch(model, options, scalar_only);
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
  bytes += impl_->batch_input.bytes() + impl_->batch_ping.bytes() + impl_->batch_pong.bytes() +
           impl_->batch_output.bytes();
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
  if (options.max_batch < 1 || options.max_batch > InterpreterOptions::kMaxBatch) {
    return Status(StatusCode::kInvalidArgument, "Interpreter::Create: max_batch = " +
                                                    std::to_string(options.max_batch) + " is out of range [1, " +
                                                    std::to_string(InterpreterOptions::kMaxBatch) + "]");
  }
  if (options.threads < 1 || options.threads > InterpreterOptions::kMaxThreads) {
    return Status(StatusCode::kInvalidArgument, "Interpreter::Create: threads = " + std::to_string(options.threads) +
                                                    " is out of range [1, " +
                                                    std::to_string(InterpreterOptions::kMaxThreads) + "]");
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

// InvokeBatch. Consecutive layers with batch kernels form a segment that each thread runs
// from start to end on its own batch columns, so threads meet once per segment rather than
// once per layer. A layer without a batch kernel runs sample by sample between segments.
namespace {

// One segment of layers [first, last] on `batch` columns of feature-major activations.
struct BatchSegment {
  const BatchLayer* layers = nullptr;
  std::size_t layer_count = 0;
  std::size_t first = 0;
  std::size_t last = 0;
  std::size_t batch = 0;
  std::size_t stride = 0;
  std::size_t tasks = 1;
  // Sample-major inputs, transposed into layers[0].x when first == 0.
  const float* inputs = nullptr;
  std::size_t model_input_size = 0;
  const std::uint32_t* input_indices = nullptr;  // null: layer 0 reads every input
  // Sample-major outputs, written from layers[last].y when last is the last layer.
  float* outputs = nullptr;
};

// Writes samples [begin, end) of the sample-major inputs into layer 0's feature-major
// input, gathering the inputs of a format 2 model. Blocks of 32 features keep the 32
// written rows and the part of each sample being read in L1.
void TransposeIn(const BatchSegment& segment, std::size_t begin, std::size_t end) {
  constexpr std::uint32_t kBlock = 32;
  const BatchLayer& layer = segment.layers[0];
  float* x = const_cast<float*>(layer.x);  // the interpreter's own batch_input buffer
  for (std::uint32_t f0 = 0; f0 < layer.input_size; f0 += kBlock) {
    const std::uint32_t f1 = std::min(layer.input_size, f0 + kBlock);
    for (std::size_t b = begin; b < end; ++b) {
      const float* sample = segment.inputs + b * segment.model_input_size;
      for (std::uint32_t f = f0; f < f1; ++f) {
        const std::uint32_t source = segment.input_indices != nullptr ? segment.input_indices[f] : f;
        x[f * segment.stride + b] = sample[source];
      }
    }
  }
}

void TransposeOut(const BatchSegment& segment, std::size_t begin, std::size_t end) {
  const BatchLayer& layer = segment.layers[segment.layer_count - 1];
  for (std::size_t b = begin; b < end; ++b) {
    float* sample = segment.outputs + b * layer.output_size;
    for (std::uint32_t r = 0; r < layer.output_size; ++r) sample[r] = layer.y[r * segment.stride + b];
  }
}

void RunBatchColumns(const BatchSegment& segment, std::size_t begin, std::size_t end) {
  if (segment.first == 0) TransposeIn(segment, begin, end);
  const auto columns = static_cast<std::uint32_t>(end - begin);
  for (std::size_t i = segment.first; i <= segment.last; ++i) {
    const BatchLayer& layer = segment.layers[i];
    const float* x = layer.x + begin;
    float* y = layer.y + begin;
    if (layer.kernel->gemm != nullptr) {
      layer.kernel->gemm(layer.output_size, layer.input_size, columns, layer.dense_values, x, segment.stride,
                         layer.bias, layer.relu, y, segment.stride);
    } else {
      layer.kernel->spmm(layer.output_size, columns, layer.row_ptr, layer.col_idx, layer.csr_values, x,
                         segment.stride, layer.bias, layer.relu, y, segment.stride);
    }
  }
  if (segment.last + 1 == segment.layer_count) TransposeOut(segment, begin, end);
}

// Task t of segment.tasks runs an equal share of whole kBatchUnit-column units. The split
// depends only on the batch and the task count, and each column's arithmetic does not
// depend on the split at all (see GemmFn in kernels.h).
// NOTE: splitting the batch makes every thread read every weight, and spmm's time is
// bound by those loads, so on sparse layers a second thread gains little. A split of
// each layer's rows was tried, with one barrier per layer and the transposes on the
// calling thread. It was slower than this split on the models of docs/benchmarks.md, at
// batch 32 on 2 threads of a shared 2-vCPU machine whose 2-thread timings varied up to 2x.
void RunBatchTask(void* context, std::size_t task) {
  const BatchSegment& segment = *static_cast<const BatchSegment*>(context);
  const std::size_t units = (segment.batch + kBatchUnit - 1) / kBatchUnit;
  const std::size_t begin = task * units / segment.tasks * kBatchUnit;
  const std::size_t end = std::min(segment.batch, (task + 1) * units / segment.tasks * kBatchUnit);
  if (begin < end) RunBatchColumns(segment, begin, end);
}

}  // namespace

// Chooses each layer's batch form. Weights stay in place from the file where its encoding
// has a batch kernel. Copies are made only for CSC layers run as CSR, and for sparse layers
// run dense that batch-1 planning left sparse.
void Interpreter::PlanBatch(const Model& model, const InterpreterOptions& options, bool scalar_only) {
  Impl& impl = *impl_;
  impl.max_batch = std::clamp<std::size_t>(options.max_batch, 1, InterpreterOptions::kMaxBatch);
  impl.model_input_size = model.input_size();
  if (impl.max_batch == 1) return;

  const std::vector<internal::LayerView>& views = model.impl_->view.layers;
  const kernels::BatchKernelVariant* gemm = kernels::SelectBatchKernel(WeightEncoding::kDense, scalar_only);
  const kernels::BatchKernelVariant* spmm = kernels::SelectBatchKernel(WeightEncoding::kCsr, scalar_only);
  impl.batch_layers.resize(views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    const internal::LayerView& view = views[i];
    const PlannedLayer& planned = impl.layers[i];
    BatchLayer& layer = impl.batch_layers[i];
    layer.input_size = planned.input_size;
    layer.output_size = planned.output_size;
    layer.relu = planned.relu;
    layer.bias = planned.bias;
    const WeightEncoding stored = view.info.encoding;
    const bool sparse = stored == WeightEncoding::kCsr || stored == WeightEncoding::kCsc;
    if (sparse && options.mode == ExecutionMode::kAsStored) {
      if (stored == WeightEncoding::kCsr) {
        layer.kernel = spmm;
        layer.row_ptr = view.row_ptr;
        layer.col_idx = view.col_idx;
        layer.csr_values = view.csr_values;
      }
    } else if (sparse && options.mode == ExecutionMode::kAuto) {
      const double cells = static_cast<double>(view.info.output_size) * view.info.input_size;
      const bool as_csr =
          cells > 0.0 && static_cast<double>(view.info.stored_values) / cells <= spmm->spmm_max_density;
      if (as_csr) {
        // A CSR layer's own arrays, the CSR copy kAuto made of a CSC layer, or a new copy.
        layer.kernel = spmm;
        layer.row_ptr = planned.row_ptr;
        layer.col_idx = planned.col_idx;
        layer.csr_values = planned.csr_values;
        if (layer.row_ptr == nullptr) {
          impl.csr_copies.push_back(CscToCsr(view));
          layer.row_ptr = impl.csr_copies.back().row_ptr.data();
          layer.col_idx = impl.csr_copies.back().col_idx.data();
          layer.csr_values = impl.csr_copies.back().values.data();
        }
      } else {
        // The dense copy that batch-1 planning made, or a new one.
        layer.kernel = gemm;
        layer.dense_values = planned.dense_values;
        if (layer.dense_values == nullptr) {
          impl.expanded_weights.push_back(ExpandToDense(view));
          layer.dense_values = impl.expanded_weights.back().data();
        }
      }
    } else if (planned.encoding == WeightEncoding::kDense) {
      layer.kernel = gemm;
      layer.dense_values = planned.dense_values;
    }
  }

  // Buffers: layer i reads X_i and writes Y_i, feature-major with room for max_batch
  // columns per feature. Y_i alternates between ping and pong, and the last layer writes
  // batch_output. Layer 0 reads batch_input only when it has a batch kernel, and the last
  // layer writes batch_output only then. Otherwise they read and write samples directly.
  const std::size_t columns = RoundUpToUnit(impl.max_batch);
  const std::size_t layer_count = views.size();
  std::size_t hidden_max = 0;
  for (std::size_t i = 0; i + 1 < layer_count; ++i) {
    hidden_max = std::max<std::size_t>(hidden_max, views[i].info.output_size);
  }
  // std::vector throws std::length_error rather than std::bad_alloc above max_size().
  const std::uint64_t largest =
      std::max<std::uint64_t>({hidden_max, views.front().info.input_size, model.output_size()});
  if (largest * columns > std::numeric_limits<std::size_t>::max() / sizeof(float) / 2) throw std::bad_alloc();
  if (impl.batch_layers.front().kernel != nullptr) impl.batch_input.Allocate(views.front().info.input_size * columns);
  if (impl.batch_layers.back().kernel != nullptr) impl.batch_output.Allocate(model.output_size() * columns);
  if (layer_count > 1) impl.batch_ping.Allocate(hidden_max * columns);
  if (layer_count > 2) impl.batch_pong.Allocate(hidden_max * columns);
  for (std::size_t i = 0; i < layer_count; ++i) {
    BatchLayer& layer = impl.batch_layers[i];
    layer.x = i == 0 ? impl.batch_input.data() : impl.batch_layers[i - 1].y;
    layer.y = i + 1 == layer_count ? impl.batch_output.data()
                                   : (i % 2 == 0 ? impl.batch_ping.data() : impl.batch_pong.data());
  }

  const std::size_t units = columns / kBatchUnit;
  impl.threads = std::min(std::clamp<std::size_t>(options.threads, 1, InterpreterOptions::kMaxThreads), units);
  if (impl.threads > 1) impl.pool = std::make_unique<internal::ThreadPool>(impl.threads);
}

// Runs layer i for each sample with its batch-1 kernel through InvokeLayer, copying the
// sample's column of X_i into the batch-1 input of the layer and its output back into Y_i.
void Interpreter::RunBatchLayersPerSample(std::size_t i, std::span<const float> inputs, std::size_t batch,
                                          std::size_t stride, std::span<float> outputs) {
  Impl& impl = *impl_;
  const BatchLayer& layer = impl.batch_layers[i];
  const bool last = i + 1 == impl.layers.size();
  float* x = i == 0 ? impl.input.data() : impl.layers[i - 1].y;
  const float* y = last ? impl.output.data() : impl.layers[i].y;
  for (std::size_t b = 0; b < batch; ++b) {
    if (i == 0) {
      std::copy_n(inputs.data() + b * impl.model_input_size, impl.model_input_size, x);
    } else {
      for (std::uint32_t f = 0; f < layer.input_size; ++f) x[f] = layer.x[f * stride + b];
    }
    InvokeLayer(i);
    if (last) {
      std::copy_n(y, layer.output_size, outputs.data() + b * layer.output_size);
    } else {
      for (std::uint32_t r = 0; r < layer.output_size; ++r) layer.y[r * stride + b] = y[r];
    }
  }
}

Status Interpreter::InvokeBatch(std::span<const float> inputs, std::size_t batch, std::span<float> outputs) {
  Impl& impl = *impl_;
  if (batch < 1 || batch > impl.max_batch) {
    return Status(StatusCode::kInvalidArgument, "Interpreter::InvokeBatch: batch = " + std::to_string(batch) +
                                                    " is out of range [1, max_batch = " +
                                                    std::to_string(impl.max_batch) + "]");
  }
  const std::size_t input_size = impl.model_input_size;
  const std::size_t output_size = impl.output.size();
  if (inputs.size() != batch * input_size) {
    return Status(StatusCode::kInvalidArgument,
                  "Interpreter::InvokeBatch: inputs has " + std::to_string(inputs.size()) +
                      " values, expected batch x input_size = " + std::to_string(batch) + " x " +
                      std::to_string(input_size) + " = " + std::to_string(batch * input_size));
  }
  if (outputs.size() != batch * output_size) {
    return Status(StatusCode::kInvalidArgument,
                  "Interpreter::InvokeBatch: outputs has " + std::to_string(outputs.size()) +
                      " values, expected batch x output_size = " + std::to_string(batch) + " x " +
                      std::to_string(output_size) + " = " + std::to_string(batch * output_size));
  }

  const std::size_t stride = RoundUpToUnit(batch);
  const std::size_t layer_count = impl.batch_layers.size();
  std::size_t first = 0;
  while (first < layer_count) {
    if (impl.batch_layers[first].kernel == nullptr) {
      RunBatchLayersPerSample(first, inputs, batch, stride, outputs);
      ++first;
      continue;
    }
    std::size_t last = first;
    while (last + 1 < layer_count && impl.batch_layers[last + 1].kernel != nullptr) ++last;
    BatchSegment segment;
    segment.layers = impl.batch_layers.data();
    segment.layer_count = layer_count;
    segment.first = first;
    segment.last = last;
    segment.batch = batch;
    segment.stride = stride;
    segment.tasks = std::min(impl.threads, stride / kBatchUnit);
    segment.inputs = inputs.data();
    segment.model_input_size = input_size;
    segment.input_indices = impl.input_indices;
    segment.outputs = outputs.data();
    if (segment.tasks > 1) {
      impl.pool->Run(segment.tasks, &RunBatchTask, &segment);
    } else {
      RunBatchColumns(segment, 0, batch);
    }
    first = last + 1;
  }
  return Status::Ok();
}

std::size_t Interpreter::max_batch() const { return impl_->max_batch; }

std::size_t Interpreter::threads() const { return impl_->threads; }

std::string_view Interpreter::batch_kernel_name(std::size_t i) const {
  assert(i < impl_->layers.size());
  if (impl_->batch_layers.empty()) return {};
  const kernels::BatchKernelVariant* kernel = impl_->batch_layers[i].kernel;
  return kernel != nullptr ? kernel->name : impl_->layers[i].kernel_name;
}

}  // namespace frugal
