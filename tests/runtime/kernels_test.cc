// Every compiled kernel variant against the naive reference on a fixed sweep of edge
// shapes, with NaN-filled outputs so an element a kernel forgets to write fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <span>
#include <random>
#include <string>
#include <vector>

#include "frugal/runtime.h"
#include "kernels/kernels.h"
#include "kernels/reference.h"
#include "test_model.h"

namespace frugal {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Kernels and the reference add in different orders, so they agree to a tolerance
// relative to the sum of |terms|, which bounds the rounding error of any order.
constexpr double kRelativeTolerance = 1e-5;

// Output rows and input columns below, at and above the SIMD kernels' row tile (4) and
// column steps (4, 8 and 16). The odd tails 1, 2, 3, 5, 7 and the MNIST layer sizes 64,
// 300 and 784 are in the sweep too.
const std::uint32_t kRows[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 64, 300};
const std::uint32_t kCols[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 784};
// 0 is fully dense, 0.5 half-sparse, 1 an all-zero layer (nnz = 0 in CSR, every row empty).
const double kZeroFractions[] = {0.0, 0.5, 0.9, 1.0};
// Fractions of inputs that are exactly zero, which the CSC kernels skip column by column:
// none, half, and all of them (the output is then activation(bias)).
const double kInputZeroFractions[] = {0.0, 0.5, 1.0};
// NaN-filled elements past the end of y. A SIMD kernel stores at most 4 floats at a time,
// so 4 guards catch any store past the end.
constexpr std::uint32_t kGuard = 4;

struct Case {
  std::uint32_t rows;
  std::uint32_t cols;
  std::vector<float> weights;  // row-major
  std::vector<float> x;
  std::vector<float> bias;
};

// Every buffer has exactly the length the kernel contract names, because no kernel reads
// past its inputs (kernels.h), so a sanitizer build catches any over-read.
Case MakeCase(std::mt19937& rng, std::uint32_t rows, std::uint32_t cols, double zero_fraction,
              double input_zero_fraction = 0.0) {
  Case c{rows, cols, testing::RandomWeights(rng, std::size_t{rows} * cols, zero_fraction), {}, {}};
  c.x = testing::RandomWeights(rng, cols, input_zero_fraction);
  c.bias = testing::RandomWeights(rng, rows, 0.0);
  return c;
}

double TermMagnitude(const Case& c, std::uint32_t r) {
  double sum = std::fabs(c.bias[r]);
  for (std::uint32_t k = 0; k < c.cols; ++k) sum += std::fabs(c.weights[std::size_t{r} * c.cols + k] * c.x[k]);
  return sum;
}

// The same weights as CSR and CSC arrays.
struct SparseForms {
  testing::TestLayer csr;
  testing::TestLayer csc;
};

SparseForms MakeSparseForms(const Case& c) {
  return {testing::CsrLayer("", c.cols, c.rows, c.weights, {}, false),
          testing::CscLayer("", c.cols, c.rows, c.weights, {}, false)};
}

// Runs `variant` on `c` into a NaN-filled buffer with kGuard elements past the end.
std::vector<float> RunVariant(const kernels::KernelVariant& variant, const Case& c, const SparseForms& sparse,
                              bool relu) {
  std::vector<float> y(c.rows + kGuard, kNaN);
  switch (variant.encoding) {
    case WeightEncoding::kDense:
      variant.gemv(c.rows, c.cols, c.weights.data(), c.x.data(), c.bias.data(), relu, y.data());
      break;
    case WeightEncoding::kCsr:
      variant.csrmv(c.rows, sparse.csr.row_ptr.data(), sparse.csr.col_idx.data(), sparse.csr.csr_values.data(),
                    c.x.data(), c.bias.data(), relu, y.data());
      break;
    case WeightEncoding::kCsc:
      variant.cscmv(c.rows, c.cols, sparse.csc.col_ptr.data(), sparse.csc.row_idx.data(),
                    sparse.csc.csc_values.data(), c.x.data(), c.bias.data(), relu, y.data());
      break;
  }
  return y;
}

// Compares one variant's output with the reference and reports the first mismatch only,
// so a broken kernel prints one line per shape, not one per element.
void CheckAgainstReference(const kernels::KernelVariant& variant, const Case& c, double zero_fraction, bool relu,
                           const std::vector<float>& expected, const std::vector<float>& y) {
  for (std::uint32_t r = 0; r < c.rows; ++r) {
    const double tolerance = kRelativeTolerance * TermMagnitude(c, r);
    if (!(std::fabs(static_cast<double>(y[r]) - expected[r]) <= tolerance)) {
      FAIL_CHECK(std::string(variant.name) << " rows=" << c.rows << " cols=" << c.cols << " zero_fraction=" << zero_fraction
                              << " relu=" << relu << ": y[" << r << "] = " << y[r] << ", reference " << expected[r]
                              << ", tolerance " << tolerance);
      return;
    }
  }
  for (std::uint32_t g = 0; g < kGuard; ++g) {
    if (!std::isnan(y[c.rows + g])) {
      FAIL_CHECK(std::string(variant.name) << " rows=" << c.rows << " cols=" << c.cols << " wrote y[" << c.rows + g
                              << "] past the end");
      return;
    }
  }
}

#if defined(FRUGAL_KERNELS_AVX2)
// Asks the CPU directly rather than through the variants' own is_available checks.
bool CpuHasAvx2Fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

TEST_CASE("kernel variants match the reference on edge shapes") {
  std::vector<const kernels::KernelVariant*> variants;
  std::string tested_names;
  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    if (!variant.is_available()) {
      MESSAGE("skipping " << variant.name << ": not supported by this CPU");
      continue;
    }
    variants.push_back(&variant);
    tested_names += std::string(" ") + variant.name;
  }
  MESSAGE("kernel variants tested:" << tested_names);

  std::mt19937 rng(12345);
  for (std::uint32_t rows : kRows) {
    for (std::uint32_t cols : kCols) {
      for (double zero_fraction : kZeroFractions) {
        for (double input_zero_fraction : kInputZeroFractions) {
          CAPTURE(input_zero_fraction);
          const Case c = MakeCase(rng, rows, cols, zero_fraction, input_zero_fraction);
          const SparseForms sparse = MakeSparseForms(c);
          for (bool relu : {false, true}) {
            std::vector<float> expected(rows);
            kernels::reference::f32_gemv(rows, cols, c.weights.data(), c.x.data(), c.bias.data(), relu,
                                         expected.data());
            for (const kernels::KernelVariant* variant : variants) {
              CheckAgainstReference(*variant, c, zero_fraction, relu, expected,
                                    RunVariant(*variant, c, sparse, relu));
            }
          }
        }
      }
    }
  }

  // A build that compiled an ISA's kernels must have tested both of them: a variant
  // missing from the list, or an availability check that is wrong, fails here.
  auto tested = [&](kernels::Isa isa, WeightEncoding encoding) {
    for (const kernels::KernelVariant* variant : variants) {
      if (variant->isa == isa && variant->encoding == encoding) return true;
    }
    return false;
  };
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kDense));
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kCsr));
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kCsc));
#if defined(FRUGAL_KERNELS_NEONFMA)
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kDense), "NEON was compiled, but no NEON gemv ran");
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kCsr), "NEON was compiled, but no NEON csrmv ran");
#endif
#if defined(FRUGAL_KERNELS_AVX2)
  if (CpuHasAvx2Fma()) {
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kDense), "the CPU has AVX2, but no AVX2 gemv ran");
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kCsr), "the CPU has AVX2, but no AVX2 csrmv ran");
  } else {
    MESSAGE("AVX2 kernels were compiled, but this CPU lacks AVX2 or FMA; they were not run");
  }
#endif
}

TEST_CASE("kernel variants match the reference on random shapes") {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<std::uint32_t> rows_dist(1, 400);
  std::uniform_int_distribution<std::uint32_t> cols_dist(1, 900);
  std::uniform_real_distribution<double> fraction(0.0, 1.0);
  for (int trial = 0; trial < 40; ++trial) {
    const double zero_fraction = fraction(rng);
    const double input_zero_fraction = fraction(rng);
    const Case c = MakeCase(rng, rows_dist(rng), cols_dist(rng), zero_fraction, input_zero_fraction);
    CAPTURE(input_zero_fraction);
    const SparseForms sparse = MakeSparseForms(c);
    const bool relu = trial % 2 == 0;
    std::vector<float> expected(c.rows);
    kernels::reference::f32_gemv(c.rows, c.cols, c.weights.data(), c.x.data(), c.bias.data(), relu, expected.data());
    for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
      if (!variant.is_available()) continue;
      CheckAgainstReference(variant, c, zero_fraction, relu, expected, RunVariant(variant, c, sparse, relu));
    }
  }
}

TEST_CASE("reference kernels agree with each other") {
  // The CSR and CSC references on the non-zeros of a matrix equal the dense reference on
  // it: all three add the same terms in double, in the same order within each row.
  std::mt19937 rng(7);
  const Case c = MakeCase(rng, 9, 17, 0.6, 0.3);
  const SparseForms forms = MakeSparseForms(c);
  std::vector<float> dense(c.rows, kNaN);
  std::vector<float> csr(c.rows, kNaN);
  std::vector<float> csc(c.rows, kNaN);
  kernels::reference::f32_gemv(c.rows, c.cols, c.weights.data(), c.x.data(), c.bias.data(), true, dense.data());
  kernels::reference::f32_csrmv(c.rows, forms.csr.row_ptr.data(), forms.csr.col_idx.data(),
                                forms.csr.csr_values.data(), c.x.data(), c.bias.data(), true, csr.data());
  kernels::reference::f32_cscmv(c.rows, c.cols, forms.csc.col_ptr.data(), forms.csc.row_idx.data(),
                                forms.csc.csc_values.data(), c.x.data(), c.bias.data(), true, csc.data());
  for (std::uint32_t r = 0; r < c.rows; ++r) {
    CHECK_MESSAGE(dense[r] == csr[r], "row " << r);
    CHECK_MESSAGE(dense[r] == csc[r], "row " << r);
  }
}

// Runs every CSC variant on the hand-made layer below and checks outputs to the bit.
TEST_CASE("CSC empty columns and zero inputs") {
  // 3 x 4 weights, column by column:
  //   col 0: []                      (empty column)
  //   col 1: [2 at row 0, -1 at row 2]
  //   col 2: [NaN at row 1]          (its input is 0, so the kernel must skip the column)
  //   col 3: [4 at row 1]
  // With x = [5, 1, 0, 0.5] and bias = [0.25, -3, 1]:
  //   y0 = 0.25 + 2 * 1 = 2.25;  y1 = -3 + 4 * 0.5 = -1;  y2 = 1 - 1 * 1 = 0.
  // A kernel that multiplies the NaN by x[2] = 0 writes NaN into y1.
  const std::vector<std::uint32_t> col_ptr = {0, 0, 2, 3, 4};
  const std::vector<std::uint32_t> row_idx = {0, 2, 1, 1};
  const std::vector<float> values = {2.0f, -1.0f, kNaN, 4.0f};
  const std::vector<float> x = {5.0f, 1.0f, 0.0f, 0.5f};
  const std::vector<float> bias = {0.25f, -3.0f, 1.0f};

  int csc_variants = 0;
  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    if (variant.encoding != WeightEncoding::kCsc || !variant.is_available()) continue;
    ++csc_variants;
    CAPTURE(variant.name);
    std::vector<float> y(3 + kGuard, kNaN);
    variant.cscmv(3, 4, col_ptr.data(), row_idx.data(), values.data(), x.data(), bias.data(), false, y.data());
    CHECK(y[0] == 2.25f);
    CHECK(y[1] == -1.0f);
    CHECK(y[2] == 0.0f);
    CHECK(std::isnan(y[3]));

    std::fill(y.begin(), y.end(), kNaN);
    variant.cscmv(3, 4, col_ptr.data(), row_idx.data(), values.data(), x.data(), bias.data(), true, y.data());
    CHECK(y[0] == 2.25f);
    CHECK(y[1] == 0.0f);
    CHECK(y[2] == 0.0f);

    // Every input zero: each output is activation(bias), and no column is read.
    const std::vector<float> zeros(4, 0.0f);
    std::fill(y.begin(), y.end(), kNaN);
    variant.cscmv(3, 4, col_ptr.data(), row_idx.data(), values.data(), zeros.data(), bias.data(), false, y.data());
    CHECK(y[0] == 0.25f);
    CHECK(y[1] == -3.0f);
    CHECK(y[2] == 1.0f);
  }
  CHECK(csc_variants >= 1);
}

TEST_CASE("CSR empty rows output the activated bias") {
  // 4 x 3 weights with rows 0 and 2 empty:
  //   row 0: []            -> activation(bias[0])
  //   row 1: [2 at col 1]  -> 2 * x[1] + bias[1]
  //   row 2: []            -> activation(bias[2])
  //   row 3: [1 at col 0, -1 at col 2]
  const std::vector<std::uint32_t> row_ptr = {0, 0, 1, 1, 3};
  const std::vector<std::uint32_t> col_idx = {1, 0, 2};
  const std::vector<float> values = {2.0f, 1.0f, -1.0f};
  const std::vector<float> x = {1.0f, 2.0f, 3.0f};
  const std::vector<float> bias = {-0.75f, 0.5f, 1.25f, 0.0f};

  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    if (variant.encoding != WeightEncoding::kCsr || !variant.is_available()) continue;
    CAPTURE(variant.name);
    std::vector<float> y(4, kNaN);
    variant.csrmv(4, row_ptr.data(), col_idx.data(), values.data(), x.data(), bias.data(), false, y.data());
    CHECK(y[0] == -0.75f);
    CHECK(y[1] == 4.5f);
    CHECK(y[2] == 1.25f);
    CHECK(y[3] == -2.0f);

    std::fill(y.begin(), y.end(), kNaN);
    variant.csrmv(4, row_ptr.data(), col_idx.data(), values.data(), x.data(), bias.data(), true, y.data());
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 4.5f);
    CHECK(y[2] == 1.25f);
    CHECK(y[3] == 0.0f);
  }
}

TEST_CASE("kernel list has one scalar variant per encoding") {
  bool dense = false;
  bool csr = false;
  bool csc = false;
  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    const std::string name = variant.name;
    CHECK((variant.gemv != nullptr) == (variant.encoding == WeightEncoding::kDense));
    CHECK((variant.csrmv != nullptr) == (variant.encoding == WeightEncoding::kCsr));
    CHECK((variant.cscmv != nullptr) == (variant.encoding == WeightEncoding::kCsc));
    CHECK_MESSAGE(variant.ns_per_weight > 0.0f, variant.name);
    dense = dense || name == "f32_gemv__scalar";
    csr = csr || name == "f32_csrmv__scalar";
    csc = csc || name == "f32_cscmv__scalar";
  }
  CHECK(dense);
  CHECK(csr);
  CHECK(csc);
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kCsc).name) == "f32_cscmv__scalar");
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kDense).name).rfind("f32_gemv", 0) == 0);
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kCsr).name).rfind("f32_csrmv", 0) == 0);
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kDense, /*scalar_only=*/true).name) == "f32_gemv__scalar");
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kCsr, /*scalar_only=*/true).name) == "f32_csrmv__scalar");
}

TEST_CASE("dispatch picks the first available variant") {
  for (WeightEncoding encoding : {WeightEncoding::kDense, WeightEncoding::kCsr, WeightEncoding::kCsc}) {
    const kernels::KernelVariant* first = nullptr;
    for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
      if (variant.encoding == encoding && variant.is_available()) {
        first = &variant;
        break;
      }
    }
    REQUIRE(first != nullptr);
    CHECK(&kernels::SelectKernel(encoding) == first);
  }
}

// Batch sizes below, at and above the batch kernels' column tiles (4, 8, 16 and 32), with
// the odd tails 1, 2, 3, 5, 7.
const std::uint32_t kBatches[] = {1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 32, 33};
const std::uint32_t kBatchRows[] = {1, 2, 3, 4, 5, 7, 8, 9, 17, 64};
const std::uint32_t kBatchCols[] = {1, 2, 3, 5, 7, 8, 9, 16, 17, 64, 784};

// A feature-major batch: column j of feature c is x[c * stride + j]. The `pad` elements
// between rows are NaN, so a kernel that reads past `batch` into its output fails, and
// the buffer ends right after the last row's batch values, so ASan catches an over-read.
struct BatchCase {
  std::uint32_t rows;
  std::uint32_t cols;
  std::uint32_t batch;
  std::size_t x_stride;
  std::size_t y_stride;
  std::vector<float> weights;  // row-major
  std::vector<float> x;
  std::vector<float> bias;
};

BatchCase MakeBatchCase(std::mt19937& rng, std::uint32_t rows, std::uint32_t cols, std::uint32_t batch,
                        double zero_fraction, std::uint32_t pad) {
  BatchCase c{rows, cols, batch, batch + pad, batch + pad,
              testing::RandomWeights(rng, std::size_t{rows} * cols, zero_fraction), {}, {}};
  c.x.assign((cols - 1) * c.x_stride + batch, kNaN);
  for (std::uint32_t k = 0; k < cols; ++k) {
    const std::vector<float> values = testing::RandomWeights(rng, batch, 0.3);
    std::copy(values.begin(), values.end(), c.x.begin() + static_cast<std::ptrdiff_t>(k * c.x_stride));
  }
  c.bias = testing::RandomWeights(rng, rows, 0.0);
  return c;
}

double BatchTermMagnitude(const BatchCase& c, std::uint32_t r, std::uint32_t j) {
  double sum = std::fabs(c.bias[r]);
  for (std::uint32_t k = 0; k < c.cols; ++k) {
    sum += std::fabs(c.weights[std::size_t{r} * c.cols + k] * c.x[k * c.x_stride + j]);
  }
  return sum;
}

// Runs `variant` on `c` into a NaN-filled output with y_stride - batch padding elements
// per row and kGuard elements past the end.
std::vector<float> RunBatchVariant(const kernels::BatchKernelVariant& variant, const BatchCase& c,
                                   const testing::TestLayer& csr, bool relu) {
  std::vector<float> y(c.rows * c.y_stride + kGuard, kNaN);
  if (variant.encoding == WeightEncoding::kDense) {
    variant.gemm(c.rows, c.cols, c.batch, c.weights.data(), c.x.data(), c.x_stride, c.bias.data(), relu, y.data(),
                 c.y_stride);
  } else {
    variant.spmm(c.rows, c.batch, csr.row_ptr.data(), csr.col_idx.data(), csr.csr_values.data(), c.x.data(),
                 c.x_stride, c.bias.data(), relu, y.data(), c.y_stride);
  }
  return y;
}

// Reports the first mismatch or the first write outside [0, batch) of a row.
void CheckBatchAgainstReference(const char* name, const BatchCase& c, double zero_fraction, bool relu,
                                const std::vector<float>& expected, const std::vector<float>& y) {
  for (std::uint32_t r = 0; r < c.rows; ++r) {
    for (std::size_t j = 0; j < c.y_stride; ++j) {
      const float value = y[r * c.y_stride + j];
      if (j >= c.batch) {
        if (!std::isnan(value)) {
          FAIL_CHECK(name << " rows=" << c.rows << " cols=" << c.cols << " batch=" << c.batch << " wrote y[" << r
                          << ", " << j << "] past the batch");
          return;
        }
        continue;
      }
      const double tolerance = kRelativeTolerance * BatchTermMagnitude(c, r, static_cast<std::uint32_t>(j));
      if (!(std::fabs(static_cast<double>(value) - expected[r * c.y_stride + j]) <= tolerance)) {
        FAIL_CHECK(name << " rows=" << c.rows << " cols=" << c.cols << " batch=" << c.batch
                        << " zero_fraction=" << zero_fraction << " relu=" << relu << ": y[" << r << ", " << j
                        << "] = " << value << ", reference " << expected[r * c.y_stride + j] << ", tolerance "
                        << tolerance);
        return;
      }
    }
  }
  for (std::uint32_t g = 0; g < kGuard; ++g) {
    if (!std::isnan(y[c.rows * c.y_stride + g])) {
      FAIL_CHECK(name << " rows=" << c.rows << " cols=" << c.cols << " batch=" << c.batch << " wrote past the end");
      return;
    }
  }
}

TEST_CASE("batch kernel variants match the reference on edge shapes") {
  std::vector<const kernels::BatchKernelVariant*> variants;
  std::string tested_names;
  for (const kernels::BatchKernelVariant& variant : kernels::BatchKernelVariants()) {
    if (!variant.is_available()) {
      MESSAGE("skipping " << variant.name << ": not supported by this CPU");
      continue;
    }
    variants.push_back(&variant);
    tested_names += std::string(" ") + variant.name;
  }
  MESSAGE("batch kernel variants tested:" << tested_names);

  std::mt19937 rng(4321);
  for (std::uint32_t rows : kBatchRows) {
    for (std::uint32_t cols : kBatchCols) {
      for (double zero_fraction : kZeroFractions) {
        for (std::uint32_t batch : kBatches) {
          // Padded rows on every other batch size, so both strides are covered.
          const std::uint32_t pad = batch % 2 == 0 ? 0 : 3;
          const BatchCase c = MakeBatchCase(rng, rows, cols, batch, zero_fraction, pad);
          const testing::TestLayer csr = testing::CsrLayer("", cols, rows, c.weights, {}, false);
          for (bool relu : {false, true}) {
            std::vector<float> expected(c.rows * c.y_stride, kNaN);
            kernels::reference::f32_gemm(rows, cols, batch, c.weights.data(), c.x.data(), c.x_stride, c.bias.data(),
                                         relu, expected.data(), c.y_stride);
            for (const kernels::BatchKernelVariant* variant : variants) {
              CheckBatchAgainstReference(variant->name, c, zero_fraction, relu, expected,
                                         RunBatchVariant(*variant, c, csr, relu));
            }
          }
        }
      }
    }
  }

  auto tested = [&](kernels::Isa isa, WeightEncoding encoding) {
    for (const kernels::BatchKernelVariant* variant : variants) {
      if (variant->isa == isa && variant->encoding == encoding) return true;
    }
    return false;
  };
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kDense));
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kCsr));
#if defined(FRUGAL_KERNELS_NEONFMA)
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kDense), "NEON was compiled, but no NEON gemm ran");
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kCsr), "NEON was compiled, but no NEON spmm ran");
#endif
#if defined(FRUGAL_KERNELS_AVX2)
  if (CpuHasAvx2Fma()) {
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kDense), "the CPU has AVX2, but no AVX2 gemm ran");
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kCsr), "the CPU has AVX2, but no AVX2 spmm ran");
  }
#endif
}

TEST_CASE("batch kernels give each column the same result at any offset") {
  // The interpreter gives threads different column ranges, so a sample's output must not
  // depend on where its column sits in the batch: in a vector lane, a tail or a masked
  // tail. Column j of a batch of 37 is compared bitwise with the same column run alone.
  std::mt19937 rng(77);
  const std::uint32_t rows = 9;
  const std::uint32_t cols = 53;
  const std::uint32_t batch = 37;
  const BatchCase c = MakeBatchCase(rng, rows, cols, batch, 0.5, 0);
  const testing::TestLayer csr = testing::CsrLayer("", cols, rows, c.weights, {}, false);
  for (const kernels::BatchKernelVariant& variant : kernels::BatchKernelVariants()) {
    if (!variant.is_available()) continue;
    CAPTURE(variant.name);
    const std::vector<float> whole = RunBatchVariant(variant, c, csr, true);
    for (std::uint32_t j = 0; j < batch; ++j) {
      std::vector<float> y(rows * c.y_stride, kNaN);
      if (variant.encoding == WeightEncoding::kDense) {
        variant.gemm(rows, cols, 1, c.weights.data(), c.x.data() + j, c.x_stride, c.bias.data(), true, y.data() + j,
                     c.y_stride);
      } else {
        variant.spmm(rows, 1, csr.row_ptr.data(), csr.col_idx.data(), csr.csr_values.data(), c.x.data() + j,
                     c.x_stride, c.bias.data(), true, y.data() + j, c.y_stride);
      }
      for (std::uint32_t r = 0; r < rows; ++r) {
        CHECK_MESSAGE(y[r * c.y_stride + j] == whole[r * c.y_stride + j], "row " << r << ", column " << j);
      }
    }
  }
}

TEST_CASE("batch kernel list and dispatch") {
  bool gemm = false;
  bool spmm = false;
  for (const kernels::BatchKernelVariant& variant : kernels::BatchKernelVariants()) {
    CHECK((variant.gemm != nullptr) == (variant.encoding == WeightEncoding::kDense));
    CHECK((variant.spmm != nullptr) == (variant.encoding == WeightEncoding::kCsr));
    CHECK_MESSAGE((variant.encoding == WeightEncoding::kCsr) == (variant.spmm_max_density > 0.0f), variant.name);
    gemm = gemm || std::string(variant.name) == "f32_gemm_4x8__scalar";
    spmm = spmm || std::string(variant.name) == "f32_spmm_1x16__scalar";
  }
  CHECK(gemm);
  CHECK(spmm);
  CHECK(kernels::SelectBatchKernel(WeightEncoding::kCsc) == nullptr);
  REQUIRE(kernels::SelectBatchKernel(WeightEncoding::kDense, /*scalar_only=*/true) != nullptr);
  CHECK(std::string(kernels::SelectBatchKernel(WeightEncoding::kDense, true)->name) == "f32_gemm_4x8__scalar");
  for (WeightEncoding encoding : {WeightEncoding::kDense, WeightEncoding::kCsr}) {
    const kernels::BatchKernelVariant* first = nullptr;
    for (const kernels::BatchKernelVariant& variant : kernels::BatchKernelVariants()) {
      if (variant.encoding == encoding && variant.is_available()) {
        first = &variant;
        break;
      }
    }
    REQUIRE(first != nullptr);
    CHECK(kernels::SelectBatchKernel(encoding) == first);
  }
}

// Runs `model` layer by layer with the variants SelectKernel picks, as the interpreter should.
std::vector<float> ForwardWithSelectedKernels(const testing::TestModel& model, std::vector<float> x, bool scalar_only) {
  for (const testing::TestLayer& layer : model.layers) {
    std::vector<float> y(layer.output_size);
    if (layer.csc) {
      kernels::SelectKernel(WeightEncoding::kCsc, scalar_only)
          .cscmv(layer.output_size, layer.input_size, layer.col_ptr.data(), layer.row_idx.data(),
                 layer.csc_values.data(), x.data(), layer.bias.data(), layer.relu, y.data());
    } else if (layer.csr) {
      kernels::SelectKernel(WeightEncoding::kCsr, scalar_only)
          .csrmv(layer.output_size, layer.row_ptr.data(), layer.col_idx.data(), layer.csr_values.data(), x.data(),
                 layer.bias.data(), layer.relu, y.data());
    } else {
      kernels::SelectKernel(WeightEncoding::kDense, scalar_only)
          .gemv(layer.output_size, layer.input_size, layer.dense_values.data(), x.data(), layer.bias.data(),
                layer.relu, y.data());
    }
    x = std::move(y);
  }
  return x;
}

TEST_CASE("interpreter runs the dispatched kernels") {
  // Bitwise equality with a layer-by-layer run shows which kernels the interpreter called,
  // because the SIMD and scalar kernels add in different orders.
  const testing::TestModel model = testing::RandomModel(99, {784, 64, 64, 10}, {true, false, true}, 0.8);
  const std::vector<std::uint8_t> bytes = testing::Serialize(model);
  std::unique_ptr<Model> loaded;
  const Status status = Model::FromBuffer(bytes.data(), bytes.size(), &loaded);
  REQUIRE_MESSAGE(status.ok(), status.message());

  // FRUGAL_SCALAR_KERNELS=1 in the environment forces the scalar kernels in both runs.
  const char* environment = std::getenv("FRUGAL_SCALAR_KERNELS");
  const bool forced_scalar = environment != nullptr && std::string(environment) == "1";

  std::mt19937 rng(3);
  const std::vector<float> input = testing::RandomWeights(rng, 784, 0.0);
  for (bool scalar_only : {false, true}) {
    CAPTURE(scalar_only);
    InterpreterOptions options;
    options.mode = ExecutionMode::kAsStored;  // the default kAuto would run 80% zeros dense
    options.scalar_kernels_only = scalar_only;
    Interpreter interpreter(*loaded, options);
    std::span<const float> output;
    REQUIRE(interpreter.Invoke(input, &output).ok());
    const std::vector<float> expected = ForwardWithSelectedKernels(model, input, scalar_only || forced_scalar);
    REQUIRE(output.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      CHECK_MESSAGE(output[i] == expected[i], "output[" << i << "]");
    }
  }
}

}  // namespace
}  // namespace frugal
