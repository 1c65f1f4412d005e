// The ways frugal-bench and the model benchmarks run one model: frugal's interpreter (as
// stored or dense), Eigen (dense or sparse) and XNNPACK. Every runner reads a batch of
// inputs and writes a batch of outputs, sample after sample. frugal's runners allocate
// nothing in Run; Eigen may allocate GEMM workspace at batch > 1.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dense_weights.h"
#include "frugal/runtime.h"

#ifndef FRUGAL_BENCH_WITH_EIGEN
#define FRUGAL_BENCH_WITH_EIGEN 0
#endif
#ifndef FRUGAL_BENCH_WITH_XNNPACK
#define FRUGAL_BENCH_WITH_XNNPACK 0
#endif

namespace frugal::bench {

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::string_view name() const = 0;
  virtual std::size_t batch() const = 0;
  // batch x input_size values; sample b starts at b * input_size. Written before Run.
  virtual std::span<float> input() = 0;
  virtual void Run() = 0;
  // batch x output_size values, valid after Run.
  virtual std::span<const float> output() const = 0;
  // Bytes this runner allocated for weights and activations, excluding the model file.
  virtual std::size_t buffer_bytes() const = 0;
};

// frugal's interpreter: Invoke in place at batch 1, and at batch N one InvokeBatch on
// `threads` threads (the calling one included) from the runner's sample-major buffers.
class FrugalRunner final : public Runner {
 public:
  FrugalRunner(const Model& model, ExecutionMode mode, std::string name, std::size_t batch,
               std::size_t threads = 1);

  std::string_view name() const override { return name_; }
  std::size_t batch() const override { return batch_; }
  std::span<float> input() override;
  void Run() override;
  std::span<const float> output() const override;
  std::size_t buffer_bytes() const override;
  Interpreter& interpreter() { return interpreter_; }

 private:
  Interpreter interpreter_;
  std::string name_;
  std::size_t batch_;
  std::vector<float> inputs_;   // batch x input_size, used when batch > 1
  std::vector<float> outputs_;  // batch x output_size, used when batch > 1
};

#if FRUGAL_BENCH_WITH_EIGEN
// Eigen 3 row-major dense matrices times the batch (a matrix-vector product at batch 1).
std::unique_ptr<Runner> MakeEigenDenseRunner(const std::vector<DenseLayer>& layers, std::size_t batch);
// Eigen 3 SparseMatrix<float, RowMajor> holding the non-zero weights, times the batch.
std::unique_ptr<Runner> MakeEigenSparseRunner(const std::vector<DenseLayer>& layers, std::size_t batch);
// Eigen's version ("3.4.0") and the SIMD instruction sets it was compiled to use
// (Eigen::SimdInstructionSetsInUse(), for example "ARM NEON" or "SSE, SSE2").
std::string EigenVersion();
std::string EigenSimdInstructionSets();
#endif

#if FRUGAL_BENCH_WITH_XNNPACK
// One XNNPACK fully connected operator (f32, NC layout) per layer, ReLU as a [0, +inf)
// clamp, set up once for `batch` and run on a pthreadpool of `threads` threads (no pool
// for 1). Returns nullptr and sets *error when XNNPACK cannot initialize or create one.
std::unique_ptr<Runner> MakeXnnpackRunner(const std::vector<DenseLayer>& layers, std::size_t batch,
                                          std::size_t threads, std::string* error);
#endif

}  // namespace frugal::bench
