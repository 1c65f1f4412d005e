// frugal's inference runtime: load and verify a .frugal model, then run it.
//
// The runtime depends on the C++ standard library and the FlatBuffers headers only.
// Every failure comes back as a Status with a message. The one exception is the
// Interpreter constructor, which throws std::bad_alloc when its buffers do not fit in
// memory; Interpreter::Create reports that as kOutOfMemory instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace frugal {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something unusable (wrong input size, null buffer)
  kNotFound,         // a file does not exist
  kIoError,          // a file exists but could not be read
  kInvalidModel,     // the bytes are not a valid .frugal model
  kUnsupported,      // a valid file that this runtime cannot run (for example a newer format)
  kOutOfMemory,      // the buffers an Interpreter plans did not fit in memory
};

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // Empty when ok(); otherwise one line naming the file or buffer, the layer, the field
  // and the value, for example
  // "model.frugal: layer 2 (dense_3): col_idx[17] = 784 is out of range [0, 784)".
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

enum class Activation { kNone, kRelu };
// kDenseInt8 and kCsrInt8 store int8 values with one float scale per row.
// kDenseColumns: dense and column-major, with output_size padded to a multiple of 8 (see
// DenseColumnStride); its kernel skips every input that is exactly zero.
enum class WeightEncoding { kDense, kCsr, kCsc, kDenseInt8, kCsrInt8, kBlockCsr, kDenseColumns };

// Rows of a kDenseColumns layer are padded to a multiple of this, so that each column
// fills whole SIMD vectors (8 floats for AVX2, two for NEON).
inline constexpr std::uint32_t kDenseColumnRowAlign = 8;

// The distance in floats between two columns of a kDenseColumns layer with `rows` outputs,
// in 64 bits so that no row count overflows. The loader only accepts layers where
// input_size times this fits a FlatBuffers vector, so kernels may use it as a uint32.
constexpr std::uint64_t DenseColumnStride(std::uint32_t rows) {
  return (std::uint64_t{rows} + kDenseColumnRowAlign - 1) / kDenseColumnRowAlign * kDenseColumnRowAlign;
}

// Read-only description of one layer, for reports and profiles.
struct LayerInfo {
  std::string name;
  WeightEncoding encoding = WeightEncoding::kDense;
  Activation activation = Activation::kNone;
  std::uint32_t input_size = 0;
  std::uint32_t output_size = 0;
  // Values held in the file: nnz for CSR, CSC and CSR int8, rows x cols for dense and
  // dense-columns (padding not counted), blocks x block_rows x block_cols for block CSR
  // (the zeros that fill its blocks included).
  std::uint64_t stored_values = 0;
  std::uint64_t nonzeros = 0;  // stored values that are not exactly 0 (0.0f, or int8 0)
  // Block CSR only: the block shape, rows x columns. Both are 0 for other encodings.
  std::uint32_t block_rows = 0;
  std::uint32_t block_cols = 0;
};

struct LoadOptions {
  // Upper bounds passed to the FlatBuffers verifier. A file over max_file_bytes is
  // rejected before it is read into memory.
  std::size_t max_file_bytes = std::size_t{1} << 30;
  unsigned max_depth = 64;
  unsigned max_tables = 1000000;
};

class Interpreter;

// A verified model. Weights are used in place from the file's bytes: Model::FromBuffer
// does not copy, so the caller's buffer must outlive the Model and every Interpreter.
// A Model is immutable after loading and may be shared by interpreters on several threads.
class Model {
 public:
  // Reads the whole file into memory owned by the model, then verifies it.
  static Status FromFile(const std::string& path, std::unique_ptr<Model>* model,
                         const LoadOptions& options = {});
  // Verifies a caller-owned buffer. `name` is used in messages in place of a path.
  static Status FromBuffer(const void* data, std::size_t size, std::unique_ptr<Model>* model,
                           const LoadOptions& options = {}, std::string_view name = "<buffer>");

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // The number of inputs the caller supplies. Layer 0's input_size is smaller when the
  // model gathers a subset of them (format 2, see input_indices()).
  std::size_t input_size() const;
  // The inputs layer 0 reads, strictly increasing; empty when it reads all of them.
  std::span<const std::uint32_t> input_indices() const;
  std::size_t output_size() const;
  std::size_t layer_count() const;
  const LayerInfo& layer(std::size_t i) const;
  float input_scale() const;
  std::uint32_t class_count() const;
  const std::string& producer() const;
  const std::string& description() const;
  const std::string& source_name() const;  // path or buffer name used in messages
  std::size_t file_bytes() const;

 private:
  Model();
  friend class Interpreter;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class ExecutionMode {
  // A CSR layer runs with the CSR kernel when its density (stored values / (rows x cols))
  // is at most the crossover density of the selected kernels. Above it, the layer is
  // expanded to dense at construction, which costs rows x cols floats. Dense layers stay
  // dense, and kernel_name() reports the choice.
  // A CSC layer keeps its CSC form and also gets, at construction, the form the rule above
  // gives for its density (CSR arrays or a dense copy). Each InvokeLayer counts the inputs
  // that are not zero and the weights in their columns. It runs the CSC kernel when the
  // estimated time for those is at most 3/4 of the other form's, from the measured costs
  // per weight and per input in runtime/kernels/kernel_variants.cc.
  // Int8 layers keep int8 values: a CSR int8 layer runs with the int8 CSR kernel at or
  // below that kernel's crossover density, and is expanded to dense int8 above it.
  // A block CSR layer runs with its block kernel when its stored values, fill-in zeros
  // included, divided by rows x cols are at most that kernel's crossover, and dense above.
  // A dense-columns layer runs as stored: its kernel does the dense work (plus up to 7
  // padding rows) at most, and less for each zero input.
  kAuto,
  kAsStored,  // each layer runs with the kernel of its stored encoding
  // Every layer is expanded to dense at construction and run with dense kernels. Int8
  // CSR layers become dense int8, with rows x cols bytes.
  kDense,
};

struct InterpreterOptions {
  ExecutionMode mode = ExecutionMode::kAuto;
  // Runs the portable scalar kernels even where SIMD kernels (AVX2, NEON) are available,
  // for A/B comparisons. Setting the environment variable FRUGAL_SCALAR_KERNELS=1 has the
  // same effect without a code change.
  bool scalar_kernels_only = false;
  // The largest batch InvokeBatch accepts, in [1, kMaxBatch]. Above 1, the constructor
  // plans feature-major activation buffers of max_batch samples and a batch kernel per
  // layer. 1 adds nothing to a batch-1 interpreter.
  std::size_t max_batch = 1;
  // Threads that run InvokeBatch, the calling thread included, in [1, kMaxThreads].
  // InvokeBatch splits the batch into runs of 16 samples and gives each thread whole
  // runs, so no more than ceil(max_batch / 16) threads are ever started, and a batch of
  // 16 or fewer runs on the calling thread alone. Invoke always runs on the calling thread.
  std::size_t threads = 1;

  static constexpr std::size_t kMaxBatch = 65536;
  static constexpr std::size_t kMaxThreads = 256;
};

// Runs a model at batch 1, or at batch <= max_batch through InvokeBatch. The constructor
// plans and allocates every buffer and starts the worker threads; Invoke and InvokeBatch
// allocate nothing. One Interpreter is for one calling thread at a time.
class Interpreter {
 public:
  // Plans the interpreter like the constructor, but returns kOutOfMemory, naming the
  // model and the bytes it needed, instead of throwing std::bad_alloc.
  static Status Create(const Model& model, const InterpreterOptions& options,
                       std::unique_ptr<Interpreter>* interpreter);
  // Create also rejects options.max_batch or options.threads outside their ranges with
  // kInvalidArgument, where the constructor clamps them into the ranges.
  // Throws std::bad_alloc when the buffers do not fit in memory; see Create.
  explicit Interpreter(const Model& model, const InterpreterOptions& options = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // The input vector (model.input_size() floats, already scaled). Write it before Invoke.
  std::span<float> input();
  // Runs every layer on input(); the result is in output().
  Status Invoke();
  // Convenience: copies `input` into input(), runs, returns the output. Rejects an input
  // of the wrong length with kInvalidArgument.
  Status Invoke(std::span<const float> input, std::span<const float>* output);
  // The last layer's outputs (model.output_size() floats), valid after a successful Invoke.
  std::span<const float> output() const;

  // Runs `batch` samples, 1 <= batch <= max_batch(). `inputs` contains batch x input_size
  // floats, sample after sample (sample b starts at b * input_size), already scaled.
  // `outputs` receives batch x output_size floats in the same order. Other sizes are
  // rejected with kInvalidArgument, and `outputs` is left unchanged. Each sample's outputs equal a
  // batch-1 Invoke of it to within float rounding (1e-5 relative in the tests), and do
  // not depend on the batch size or the thread count, bit for bit.
  // Dense layers run a batch gemm kernel and CSR layers a batch spmm kernel, or gemm on
  // a dense copy in kAuto when the layer is denser than the spmm kernel's crossover. A CSC
  // layer runs as CSR or dense by the same rule in kAuto, and with its batch-1 CSC kernel
  // sample by sample in kAsStored, because only that kernel skips zero inputs. In kDense
  // every layer runs gemm. A layer run sample by sample uses input() and output() as
  // scratch, so InvokeBatch may change them.
  // NOTE: layers run sample by sample use the calling thread only.
  Status InvokeBatch(std::span<const float> inputs, std::size_t batch, std::span<float> outputs);
  std::size_t max_batch() const;
  // Threads InvokeBatch may run on, the calling thread included; see InterpreterOptions.
  std::size_t threads() const;
  // The batch kernel that InvokeBatch runs for layer `i`, or for a layer run sample by
  // sample, its batch-1 kernel_name(). Empty when max_batch() is 1.
  std::string_view batch_kernel_name(std::size_t i) const;

  // Runs only layer `i`, so profilers can time layers one by one. Layer 0 reads input()
  // (gathered first in format 2) and later layers read the previous output, so layers
  // must run in order.
  void InvokeLayer(std::size_t i);

  // Read-only facts for profilers: the name of the kernel variant that layer `i` runs
  // (for example "f32_csrmv__scalar"), and the bytes of the buffers this interpreter
  // allocated (activations, plus the dense copies of CSR layers that run dense in kDense
  // or kAuto, the second form of CSC layers in kAuto, and the batch buffers and copies
  // when max_batch > 1). A CSC layer in kAuto chooses its
  // kernel per call, so kernel_name returns the one its latest InvokeLayer ran (the CSC
  // kernel before the first call), and kernel_runs counts the calls of each.
  std::string_view kernel_name(std::size_t i) const;
  // For layer `i`: first, how many InvokeLayer calls ran the kernel planned at
  // construction, which is the CSC kernel for a CSC layer in kAuto. Second, how many ran
  // the other form that kAuto chose per call, always 0 unless the layer is CSC in kAuto.
  std::pair<std::uint64_t, std::uint64_t> kernel_runs(std::size_t i) const;
  std::size_t buffer_bytes() const;

 private:
  void PlanBatch(const Model& model, const InterpreterOptions& options, bool scalar_only);
  void RunBatchLayersPerSample(std::size_t i, std::span<const float> inputs, std::size_t batch, std::size_t stride,
                               std::span<float> outputs);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Returns the index of the largest value (the predicted class for logits); ties go to
// the lowest index. Returns 0 for an empty span.
std::size_t ArgMax(std::span<const float> values);

}  // namespace frugal
