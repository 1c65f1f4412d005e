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

// Output rows and input columns below, at and above the SIMD kernels' row tiles (4 and 8)
// and column steps (4, 8 and 16), with every tail of 0 to 15 columns after one or more
// 16-column steps. The odd tails 1, 2, 3, 5, 7 and the MNIST layer sizes 64, 300 and 784
// are in the sweep too.
const std::uint32_t kRows[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 23, 24, 25, 64, 300};
const std::uint32_t kCols[] = {1,  2,  3,  5,  7,  8,  9,  15, 16, 17, 18, 19, 20, 21, 22, 23,
                               24, 25, 27, 28, 29, 31, 32, 33, 36, 47, 48, 64, 100, 784};
// 0 is fully dense, 0.5 half-sparse, 1 an all-zero layer (nnz = 0 in CSR, every row empty).
const double kZeroFractions[] = {0.0, 0.5, 0.9, 1.0};
// Fractions of inputs that are exactly zero, which the CSC kernels skip column by column:
// none, half, and all of them (the output is then activation(bias)).
const double kInputZeroFractions[] = {0.0, 0.5, 1.0};
// NaN-filled elements past the end of y. A SIMD kernel stores at most 8 floats at a time
// (the 8x1 block kernels), so 8 guards catch any store past the end.
constexpr std::uint32_t kGuard = 8;

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

// Block shapes of the block CSR kernels, rows x columns.
struct BlockShape {
  std::uint32_t rows;
  std::uint32_t cols;
};
constexpr BlockShape kBlockShapes[] = {{1, 1}, {4, 1}, {8, 1}, {1, 4}};

// The same weights as CSR and CSC arrays, column-major with padded rows, quantized per row
// to int8 (dense and CSR), and
// as block CSR arrays of every block shape with uint16 and with uint32 column indices
// (kBlockShapes order, narrow then wide). Shapes wider than the layer have no form and
// are skipped.
struct SparseForms {
  testing::TestLayer csr;
  testing::TestLayer csc;
  testing::TestLayer dense_int8;
  testing::TestLayer csr_int8;
  testing::TestLayer columns;
  std::vector<testing::TestLayer> blocks;
};

SparseForms MakeSparseForms(const Case& c) {
  SparseForms forms{testing::CsrLayer("", c.cols, c.rows, c.weights, {}, false),
                    testing::CscLayer("", c.cols, c.rows, c.weights, {}, false),
                    testing::Int8Layer("", c.cols, c.rows, c.weights, {}, false, /*csr=*/false),
                    testing::Int8Layer("", c.cols, c.rows, c.weights, {}, false, /*csr=*/true),
                    testing::DenseColumnsLayer("", c.cols, c.rows, c.weights, {}, false),
                    {}};
  for (BlockShape shape : kBlockShapes) {
    for (bool narrow : {true, false}) {
      if (shape.cols > c.cols) continue;
      forms.blocks.push_back(
          testing::BlockCsrLayer("", c.cols, c.rows, c.weights, {}, false, shape.rows, shape.cols, narrow));
    }
  }
  return forms;
}

bool IsInt8(const kernels::KernelVariant& variant) {
  return variant.encoding == WeightEncoding::kDenseInt8 || variant.encoding == WeightEncoding::kCsrInt8;
}

// The int8 kernels' bound in kernels.h is relative to the sum of |terms| of the
// dequantized weights scales[r] * q.
double Int8TermMagnitude(const Case& c, const testing::TestLayer& int8, std::uint32_t r) {
  double sum = std::fabs(c.bias[r]);
  for (std::uint32_t k = 0; k < c.cols; ++k) {
    sum += std::fabs(static_cast<double>(int8.scales[r]) * int8.int8_values[std::size_t{r} * c.cols + k] * c.x[k]);
  }
  return sum;
}

// The references and the bounds against which each variant is checked: the float
// reference on the weights for float variants, the int8 reference on their
// quantization for int8 variants.
struct Expected {
  std::vector<float> f32;
  std::vector<double> f32_magnitude;
  std::vector<float> int8;
  std::vector<double> int8_magnitude;
};

Expected ComputeExpected(const Case& c, const SparseForms& forms, bool relu) {
  Expected e{std::vector<float>(c.rows), {}, std::vector<float>(c.rows), {}};
  kernels::reference::f32_gemv(c.rows, c.cols, c.weights.data(), c.x.data(), c.bias.data(), relu, e.f32.data());
  kernels::reference::f32_qc8w_gemv(c.rows, c.cols, forms.dense_int8.int8_values.data(),
                                    forms.dense_int8.scales.data(), c.x.data(), c.bias.data(), relu, e.int8.data());
  for (std::uint32_t r = 0; r < c.rows; ++r) {
    e.f32_magnitude.push_back(TermMagnitude(c, r));
    e.int8_magnitude.push_back(Int8TermMagnitude(c, forms.dense_int8, r));
  }
  return e;
}

void RunBlockForm(const kernels::KernelVariant& variant, const Case& c, const testing::TestLayer& form, bool relu,
                  float* y) {
  variant.bsrmv(c.rows, form.block_row_ptr.data(),
                form.block_col_u16.has_value() ? form.block_col_u16->data() : nullptr,
                form.block_col_u32.has_value() ? form.block_col_u32->data() : nullptr, form.block_values.data(),
                c.x.data(), c.bias.data(), relu, y);
}

// Runs `variant` on `c` into a NaN-filled buffer with kGuard elements past the end. A
// block CSR variant runs on the form of its block shape with uint16 indices, or uint32
// when `wide_indices` is set.
std::vector<float> RunVariant(const kernels::KernelVariant& variant, const Case& c, const SparseForms& sparse,
                              bool relu, bool wide_indices = false) {
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
    case WeightEncoding::kDenseInt8:
      variant.qgemv(c.rows, c.cols, sparse.dense_int8.int8_values.data(), sparse.dense_int8.scales.data(),
                    c.x.data(), c.bias.data(), relu, y.data());
      break;
    case WeightEncoding::kCsrInt8:
      variant.qcsrmv(c.rows, sparse.csr_int8.row_ptr.data(), sparse.csr_int8.col_idx.data(),
                     sparse.csr_int8.int8_values.data(), sparse.csr_int8.scales.data(), c.x.data(), c.bias.data(),
                     relu, y.data());
      break;
    case WeightEncoding::kBlockCsr:
      for (const testing::TestLayer& form : sparse.blocks) {
        if (form.block_rows == variant.block_rows && form.block_cols == variant.block_cols &&
            form.block_col_u32.has_value() == wide_indices) {
          RunBlockForm(variant, c, form, relu, y.data());
        }
      }
      break;
    case WeightEncoding::kDenseColumns:
      variant.gemvcol(c.rows, c.cols, sparse.columns.column_values.data(), c.x.data(), c.bias.data(), relu,
                      y.data());
      break;
  }
  return y;
}

// Whether `c` has a block form for `variant`: every variant except a block CSR one
// whose blocks are wider than the layer.
bool HasForm(const kernels::KernelVariant& variant, const Case& c) {
  return variant.encoding != WeightEncoding::kBlockCsr || variant.block_cols <= c.cols;
}

// Compares one variant's output with the reference and reports the first mismatch only,
// so a broken kernel prints one line per shape, not one per element.
void CheckAgainstReference(const kernels::KernelVariant& variant, const Case& c, double zero_fraction, bool relu,
                           const Expected& reference, const std::vector<float>& y) {
  const std::vector<float>& expected = IsInt8(variant) ? reference.int8 : reference.f32;
  const std::vector<double>& magnitude = IsInt8(variant) ? reference.int8_magnitude : reference.f32_magnitude;
  for (std::uint32_t r = 0; r < c.rows; ++r) {
    const double tolerance = kRelativeTolerance * magnitude[r];
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
            const Expected expected = ComputeExpected(c, sparse, relu);
            for (const kernels::KernelVariant* variant : variants) {
              if (!HasForm(*variant, c)) continue;
              CheckAgainstReference(*variant, c, zero_fraction, relu, expected,
                                    RunVariant(*variant, c, sparse, relu));
              if (variant->encoding == WeightEncoding::kBlockCsr) {
                CAPTURE("uint32 block column indices");
                CheckAgainstReference(*variant, c, zero_fraction, relu, expected,
                                      RunVariant(*variant, c, sparse, relu, /*wide_indices=*/true));
              }
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
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kDenseInt8));
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kCsrInt8));
  CHECK(tested(kernels::Isa::kScalar, WeightEncoding::kDenseColumns));
  // Every block shape, not only one: each shape is its own kernel.
  auto tested_block = [&](kernels::Isa isa, BlockShape shape) {
    for (const kernels::KernelVariant* variant : variants) {
      if (variant->isa == isa && variant->encoding == WeightEncoding::kBlockCsr && variant->block_rows == shape.rows &&
          variant->block_cols == shape.cols) {
        return true;
      }
    }
    return false;
  };
  for (BlockShape shape : kBlockShapes) {
    CAPTURE(shape.rows);
    CAPTURE(shape.cols);
    CHECK(tested_block(kernels::Isa::kScalar, shape));
#if defined(FRUGAL_KERNELS_NEONFMA)
    CHECK_MESSAGE(tested_block(kernels::Isa::kNeonFma, shape), "NEON was compiled, but no NEON bsrmv of this shape ran");
#endif
#if defined(FRUGAL_KERNELS_AVX2)
    if (CpuHasAvx2Fma()) {
      CHECK_MESSAGE(tested_block(kernels::Isa::kAvx2, shape), "the CPU has AVX2, but no AVX2 bsrmv of this shape ran");
    }
#endif
  }
#if defined(FRUGAL_KERNELS_NEONFMA)
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kDense), "NEON was compiled, but no NEON gemv ran");
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kCsr), "NEON was compiled, but no NEON csrmv ran");
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kDenseInt8),
                "NEON was compiled, but no NEON int8 gemv ran");
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kCsrInt8),
                "NEON was compiled, but no NEON int8 csrmv ran");
  CHECK_MESSAGE(tested(kernels::Isa::kNeonFma, WeightEncoding::kDenseColumns),
                "NEON was compiled, but no NEON gemvcol ran");
#endif
#if defined(FRUGAL_KERNELS_AARCH64_NEONFMA)
  CHECK_MESSAGE(tested_names.find(" f32_gemv_8x__aarch64_neonfma") != std::string::npos,
                "the AArch64 kernels were compiled, but f32_gemv_8x__aarch64_neonfma did not run");
#endif
#if defined(FRUGAL_KERNELS_AVX2)
  if (CpuHasAvx2Fma()) {
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kDense), "the CPU has AVX2, but no AVX2 gemv ran");
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kCsr), "the CPU has AVX2, but no AVX2 csrmv ran");
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kDenseInt8),
                  "the CPU has AVX2, but no AVX2 int8 gemv ran");
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kCsrInt8),
                  "the CPU has AVX2, but no AVX2 int8 csrmv ran");
    CHECK_MESSAGE(tested(kernels::Isa::kAvx2, WeightEncoding::kDenseColumns),
                  "the CPU has AVX2, but no AVX2 gemvcol ran");
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
    const Expected expected = ComputeExpected(c, sparse, relu);
    for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
      if (!variant.is_available() || !HasForm(variant, c)) continue;
      CheckAgainstReference(variant, c, zero_fraction, relu, expected,
                            RunVariant(variant, c, sparse, relu, /*wide_indices=*/trial % 3 == 0));
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
  // The block reference adds the fill-in zeros too, which leaves a double sum unchanged;
  // 9 rows leave the last 4x1 and 8x1 block rows partly past the end.
  for (const testing::TestLayer& form : forms.blocks) {
    CAPTURE(form.block_rows);
    CAPTURE(form.block_cols);
    std::vector<float> block(c.rows, kNaN);
    kernels::reference::f32_bsrmv(c.rows, form.block_rows, form.block_cols, form.block_row_ptr.data(),
                                  form.block_col_u16.has_value() ? form.block_col_u16->data() : nullptr,
                                  form.block_col_u32.has_value() ? form.block_col_u32->data() : nullptr,
                                  form.block_values.data(), c.x.data(), c.bias.data(), true, block.data());
    for (std::uint32_t r = 0; r < c.rows; ++r) CHECK_MESSAGE(dense[r] == block[r], "row " << r);
  }
}

// Runs every block CSR variant of 4x1 blocks on the hand-made layer below and checks the
// outputs to the bit.
TEST_CASE("block CSR empty block rows and padding rows") {
  // 6 x 3 weights in two block rows of 4 rows. The second block row covers rows 4 and 5
  // and two padding rows 6 and 7, which are zeros.
  //   block row 0: no blocks                -> y0..y3 = activation(bias)
  //   block row 1: one block at column 2 with values [3, -2, 0, 0] (rows 4 to 7)
  // With x = [7, 9, 0.5] and bias = [1, -1, 2, -2, 0.25, 0.5]:
  //   y4 = 0.25 + 3 * 0.5 = 1.75;  y5 = 0.5 - 2 * 0.5 = -0.5.
  const std::vector<std::uint32_t> block_row_ptr = {0, 0, 1};
  const std::vector<std::uint16_t> col_u16 = {2};
  const std::vector<std::uint32_t> col_u32 = {2};
  const std::vector<float> values = {3.0f, -2.0f, 0.0f, 0.0f};
  const std::vector<float> x = {7.0f, 9.0f, 0.5f};
  const std::vector<float> bias = {1.0f, -1.0f, 2.0f, -2.0f, 0.25f, 0.5f};

  int block_variants = 0;
  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    if (variant.encoding != WeightEncoding::kBlockCsr || variant.block_rows != 4 || variant.block_cols != 1 ||
        !variant.is_available()) {
      continue;
    }
    ++block_variants;
    CAPTURE(variant.name);
    for (bool narrow : {true, false}) {
      CAPTURE(narrow);
      std::vector<float> y(6 + kGuard, kNaN);
      variant.bsrmv(6, block_row_ptr.data(), narrow ? col_u16.data() : nullptr, narrow ? nullptr : col_u32.data(),
                    values.data(), x.data(), bias.data(), false, y.data());
      CHECK(y[0] == 1.0f);
      CHECK(y[1] == -1.0f);
      CHECK(y[2] == 2.0f);
      CHECK(y[3] == -2.0f);
      CHECK(y[4] == 1.75f);
      CHECK(y[5] == -0.5f);
      for (std::uint32_t g = 0; g < kGuard; ++g) CHECK(std::isnan(y[6 + g]));

      std::fill(y.begin(), y.end(), kNaN);
      variant.bsrmv(6, block_row_ptr.data(), narrow ? col_u16.data() : nullptr, narrow ? nullptr : col_u32.data(),
                    values.data(), x.data(), bias.data(), true, y.data());
      CHECK(y[1] == 0.0f);
      CHECK(y[3] == 0.0f);
      CHECK(y[4] == 1.75f);
      CHECK(y[5] == 0.0f);
    }
  }
  CHECK(block_variants >= 1);
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

// Returns inputs whose zeros come in runs, as MNIST pixels and ReLU outputs do. The
// dense-columns kernels then see whole groups of zeros (which they skip), groups mixing
// zeros and non-zeros, and zero runs that cross group boundaries at every offset.
std::vector<float> InputWithZeroRuns(std::mt19937& rng, std::uint32_t cols, std::uint32_t longest_run) {
  std::uniform_int_distribution<std::uint32_t> run(1, longest_run);
  std::vector<float> x = testing::RandomWeights(rng, cols, 0.0);
  bool zero = rng() % 2 == 0;
  for (std::uint32_t c = 0; c < cols;) {
    const std::uint32_t length = run(rng);
    for (std::uint32_t k = 0; k < length && c < cols; ++k, ++c) {
      if (zero) x[c] = 0.0f;
    }
    zero = !zero;
  }
  return x;
}

TEST_CASE("dense-columns kernels on inputs with zero runs") {
  std::mt19937 rng(4242);
  int runs = 0;
  for (std::uint32_t rows : kRows) {
    for (std::uint32_t cols : kCols) {
      for (std::uint32_t longest_run : {3u, 9u, 40u}) {
        Case c = MakeCase(rng, rows, cols, 0.5);
        c.x = InputWithZeroRuns(rng, cols, longest_run);
        const SparseForms forms = MakeSparseForms(c);
        for (bool relu : {false, true}) {
          // The float reference on the row-major weights, which the column-major form
          // must reproduce.
          const Expected expected = ComputeExpected(c, forms, relu);
          for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
            if (variant.encoding != WeightEncoding::kDenseColumns || !variant.is_available()) continue;
            CAPTURE(longest_run);
            CheckAgainstReference(variant, c, 0.5, relu, expected, RunVariant(variant, c, forms, relu));
            ++runs;
          }
        }
      }
    }
  }
  CHECK(runs > 0);
}

TEST_CASE("dense-columns kernels skip groups of zero inputs") {
  // 3 outputs, 11 inputs. Inputs 0 to 7 are zero, and their columns hold NaN: every
  // variant tests at most 8 inputs at a time from input 0, so none may read them. Inputs
  // 8 to 10 are 1, 0 and 2, and their columns (rows 0, 1, 2) are [1, 2, 3], [5, 5, 5]
  // and [-1, 0.5, 0.25]. With bias [0.5, -10, 0]:
  //   y0 = 0.5 + 1 * 1 + 0 * 5 + 2 * -1 = -0.5
  //   y1 = -10 + 1 * 2 + 0 * 5 + 2 * 0.5 = -7
  //   y2 = 0 + 1 * 3 + 0 * 5 + 2 * 0.25 = 3.5
  const std::uint32_t rows = 3;
  const std::uint32_t cols = 11;
  const auto stride = static_cast<std::size_t>(DenseColumnStride(rows));
  std::vector<float> w(stride * cols, 0.0f);
  for (std::uint32_t c = 0; c < 8; ++c) {
    for (std::uint32_t r = 0; r < rows; ++r) w[c * stride + r] = kNaN;
  }
  const float tail[3][3] = {{1.0f, 2.0f, 3.0f}, {5.0f, 5.0f, 5.0f}, {-1.0f, 0.5f, 0.25f}};
  for (std::uint32_t c = 8; c < cols; ++c) {
    for (std::uint32_t r = 0; r < rows; ++r) w[c * stride + r] = tail[c - 8][r];
  }
  std::vector<float> x(cols, 0.0f);
  x[8] = 1.0f;
  x[10] = 2.0f;
  const std::vector<float> bias = {0.5f, -10.0f, 0.0f};

  int variants = 0;
  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    if (variant.encoding != WeightEncoding::kDenseColumns || !variant.is_available()) continue;
    ++variants;
    CAPTURE(variant.name);
    std::vector<float> y(rows + kGuard, kNaN);
    variant.gemvcol(rows, cols, w.data(), x.data(), bias.data(), false, y.data());
    CHECK(y[0] == -0.5f);
    CHECK(y[1] == -7.0f);
    CHECK(y[2] == 3.5f);
    CHECK(std::isnan(y[3]));

    std::fill(y.begin(), y.end(), kNaN);
    variant.gemvcol(rows, cols, w.data(), x.data(), bias.data(), true, y.data());
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 0.0f);
    CHECK(y[2] == 3.5f);

    // Every input zero: each output is activation(bias).
    const std::vector<float> zeros(cols, 0.0f);
    std::fill(y.begin(), y.end(), kNaN);
    variant.gemvcol(rows, cols, w.data(), zeros.data(), bias.data(), false, y.data());
    CHECK(y[0] == 0.5f);
    CHECK(y[1] == -10.0f);
    CHECK(y[2] == 0.0f);
  }
  CHECK(variants >= 1);
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

TEST_CASE("int8 references agree and quantize closely") {
  // The int8 CSR reference on the non-zeros equals the int8 dense reference, and both
  // stay within the quantization error of the float reference: each weight moves by at
  // most half a step, scale / 2, so a row moves by at most scale / 2 * sum |x|.
  std::mt19937 rng(8);
  const Case c = MakeCase(rng, 11, 29, 0.6, 0.3);
  const SparseForms forms = MakeSparseForms(c);
  std::vector<float> f32(c.rows, kNaN);
  std::vector<float> dense(c.rows, kNaN);
  std::vector<float> csr(c.rows, kNaN);
  kernels::reference::f32_gemv(c.rows, c.cols, c.weights.data(), c.x.data(), c.bias.data(), false, f32.data());
  kernels::reference::f32_qc8w_gemv(c.rows, c.cols, forms.dense_int8.int8_values.data(),
                                    forms.dense_int8.scales.data(), c.x.data(), c.bias.data(), false, dense.data());
  kernels::reference::f32_qc8w_csrmv(c.rows, forms.csr_int8.row_ptr.data(), forms.csr_int8.col_idx.data(),
                                     forms.csr_int8.int8_values.data(), forms.csr_int8.scales.data(), c.x.data(),
                                     c.bias.data(), false, csr.data());
  double x_sum = 0.0;
  for (float v : c.x) x_sum += std::fabs(v);
  for (std::uint32_t r = 0; r < c.rows; ++r) {
    CHECK_MESSAGE(dense[r] == csr[r], "row " << r);
    const double bound = forms.dense_int8.scales[r] / 2.0 * x_sum + 1e-6;
    CHECK_MESSAGE(std::fabs(static_cast<double>(dense[r]) - f32[r]) <= bound, "row " << r);
  }
}

TEST_CASE("int8 CSR empty rows and zero scales") {
  // 4 x 3 weights as int8 values and per-row scales:
  //   row 0: []                        scale 0.5  -> activation(bias[0])
  //   row 1: [2 at col 1]              scale 0.25 -> 0.25 * (2 * 2) + 0.5 = 1.5
  //   row 2: [0 at col 0]              scale 0    -> activation(bias[2]); a zero scale
  //                                               requires zero values
  //   row 3: [127 at col 0, -127 at col 2] scale 1 -> 127 * 1 - 127 * 3 + 0 = -254
  // Every product and sum is exact in float, so every kernel must match to the bit.
  const std::vector<std::uint32_t> row_ptr = {0, 0, 1, 2, 4};
  const std::vector<std::uint32_t> col_idx = {1, 0, 0, 2};
  const std::vector<std::int8_t> values = {2, 0, 127, -127};
  const std::vector<float> scales = {0.5f, 0.25f, 0.0f, 1.0f};
  const std::vector<float> x = {1.0f, 2.0f, 3.0f};
  const std::vector<float> bias = {-0.75f, 0.5f, 1.25f, 0.0f};

  int int8_variants = 0;
  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    if (variant.encoding != WeightEncoding::kCsrInt8 || !variant.is_available()) continue;
    ++int8_variants;
    CAPTURE(variant.name);
    std::vector<float> y(4 + kGuard, kNaN);
    variant.qcsrmv(4, row_ptr.data(), col_idx.data(), values.data(), scales.data(), x.data(), bias.data(), false,
                   y.data());
    CHECK(y[0] == -0.75f);
    CHECK(y[1] == 1.5f);
    CHECK(y[2] == 1.25f);
    CHECK(y[3] == -254.0f);
    CHECK(std::isnan(y[4]));

    std::fill(y.begin(), y.end(), kNaN);
    variant.qcsrmv(4, row_ptr.data(), col_idx.data(), values.data(), scales.data(), x.data(), bias.data(), true,
                   y.data());
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 1.5f);
    CHECK(y[2] == 1.25f);
    CHECK(y[3] == 0.0f);
  }
  CHECK(int8_variants >= 1);
}

TEST_CASE("kernel list has one scalar variant per encoding") {
  bool dense = false;
  bool csr = false;
  bool csc = false;
  bool columns = false;
  for (const kernels::KernelVariant& variant : kernels::KernelVariants()) {
    const std::string name = variant.name;
    CHECK((variant.gemv != nullptr) == (variant.encoding == WeightEncoding::kDense));
    CHECK((variant.csrmv != nullptr) == (variant.encoding == WeightEncoding::kCsr));
    CHECK((variant.cscmv != nullptr) == (variant.encoding == WeightEncoding::kCsc));
    CHECK((variant.qgemv != nullptr) == (variant.encoding == WeightEncoding::kDenseInt8));
    CHECK((variant.qcsrmv != nullptr) == (variant.encoding == WeightEncoding::kCsrInt8));
    CHECK((variant.bsrmv != nullptr) == (variant.encoding == WeightEncoding::kBlockCsr));
    CHECK(((variant.block_rows * variant.block_cols) != 0) == (variant.encoding == WeightEncoding::kBlockCsr));
    CHECK((variant.gemvcol != nullptr) == (variant.encoding == WeightEncoding::kDenseColumns));
    CHECK_MESSAGE(variant.ns_per_weight > 0.0f, variant.name);
    dense = dense || name == "f32_gemv__scalar";
    csr = csr || name == "f32_csrmv__scalar";
    csc = csc || name == "f32_cscmv__scalar";
    columns = columns || name == "f32_gemvcol__scalar";
  }
  CHECK(dense);
  CHECK(csr);
  CHECK(csc);
  CHECK(columns);
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kDenseColumns, /*scalar_only=*/true).name) ==
        "f32_gemvcol__scalar");
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kCsc).name) == "f32_cscmv__scalar");
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kDense).name).rfind("f32_gemv", 0) == 0);
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kCsr).name).rfind("f32_csrmv", 0) == 0);
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kDense, /*scalar_only=*/true).name) == "f32_gemv__scalar");
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kCsr, /*scalar_only=*/true).name) == "f32_csrmv__scalar");
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kDenseInt8, /*scalar_only=*/true).name) ==
        "f32_qc8w_gemv__scalar");
  CHECK(std::string(kernels::SelectKernel(WeightEncoding::kCsrInt8, /*scalar_only=*/true).name) ==
        "f32_qc8w_csrmv__scalar");
  for (BlockShape shape : kBlockShapes) {
    const std::string tile = std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
    CHECK(kernels::IsSupportedBlockShape(shape.rows, shape.cols));
    const kernels::KernelVariant* scalar = kernels::SelectBlockKernel(shape.rows, shape.cols, /*scalar_only=*/true);
    REQUIRE(scalar != nullptr);
    CHECK(std::string(scalar->name) == "f32_bsrmv_" + tile + "__scalar");
    const kernels::KernelVariant* best = kernels::SelectBlockKernel(shape.rows, shape.cols);
    REQUIRE(best != nullptr);
    CHECK(std::string(best->name).rfind("f32_bsrmv_" + tile + "__", 0) == 0);
  }
  CHECK_FALSE(kernels::IsSupportedBlockShape(2, 2));
  CHECK_FALSE(kernels::IsSupportedBlockShape(0, 1));
  CHECK(kernels::SelectBlockKernel(16, 1) == nullptr);
}

// The smallest number of stored values at which kAuto runs a rows x cols layer dense.
std::uint64_t DenseFromValues(std::uint32_t rows, std::uint32_t cols, const kernels::KernelVariant& csr,
                              const kernels::KernelVariant& dense) {
  const std::uint64_t cells = std::uint64_t{rows} * cols;
  for (std::uint64_t values = 0; values <= cells; ++values) {
    if (kernels::DenseIsFaster(rows, cols, values, csr, dense)) return values;
  }
  return cells + 1;
}

TEST_CASE("kAuto cost model crosses once per shape") {
  for (const bool scalar_only : {false, true}) {
    CAPTURE(scalar_only);
    const kernels::KernelVariant& csr = kernels::SelectKernel(WeightEncoding::kCsr, scalar_only);
    const kernels::KernelVariant& dense = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);
    const std::string csr_name = csr.name;
    const std::string dense_name = dense.name;
    CAPTURE(csr_name);
    CAPTURE(dense_name);
    CHECK(csr.ns_per_row >= 0.0f);
    CHECK(dense.ns_per_row >= 0.0f);
    CHECK_FALSE(kernels::DenseIsFaster(0, 784, 0, csr, dense));
    CHECK_FALSE(kernels::DenseIsFaster(64, 0, 0, csr, dense));

    // The layers of 784-64-64-10: dense from some count on, and CSR below it.
    struct Shape {
      std::uint32_t rows;
      std::uint32_t cols;
    };
    std::uint64_t crossover[3] = {};
    const Shape shapes[] = {{64, 784}, {64, 64}, {10, 64}};
    for (std::size_t i = 0; i < 3; ++i) {
      const auto [rows, cols] = shapes[i];
      CAPTURE(rows);
      CAPTURE(cols);
      const std::uint64_t cells = std::uint64_t{rows} * cols;
      crossover[i] = DenseFromValues(rows, cols, csr, dense);
      CHECK(crossover[i] <= cells);
      CHECK(static_cast<double>(crossover[i] - 1) / static_cast<double>(cells) <= csr.csr_max_density);
      for (std::uint64_t values = crossover[i]; values <= cells; values += 97) {
        CHECK_MESSAGE(kernels::DenseIsFaster(rows, cols, values, csr, dense), "values " << values);
      }
      CHECK(kernels::DenseIsFaster(rows, cols, cells, csr, dense));
    }
    // A row costs CSR more than dense, so a 64-column layer crosses at a lower density
    // than a 784-column one, give or take the rounding to whole values.
    CHECK(static_cast<double>(crossover[1] - 1) / (64 * 64) <= static_cast<double>(crossover[0]) / (64 * 784));
    // Empty rows are the cheapest CSR layer there is.
    CHECK_FALSE(kernels::DenseIsFaster(64, 784, 0, csr, dense));
  }
}

TEST_CASE("dispatch picks the first available variant") {
  for (WeightEncoding encoding : {WeightEncoding::kDense, WeightEncoding::kCsr, WeightEncoding::kCsc,
                                  WeightEncoding::kDenseInt8, WeightEncoding::kCsrInt8,
                                  WeightEncoding::kDenseColumns}) {
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
    if (layer.int8 && layer.csr) {
      kernels::SelectKernel(WeightEncoding::kCsrInt8, scalar_only)
          .qcsrmv(layer.output_size, layer.row_ptr.data(), layer.col_idx.data(), layer.int8_values.data(),
                  layer.scales.data(), x.data(), layer.bias.data(), layer.relu, y.data());
    } else if (layer.int8) {
      kernels::SelectKernel(WeightEncoding::kDenseInt8, scalar_only)
          .qgemv(layer.output_size, layer.input_size, layer.int8_values.data(), layer.scales.data(), x.data(),
                 layer.bias.data(), layer.relu, y.data());
    } else if (layer.csc) {
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
  testing::TestModel model = testing::RandomModel(99, {784, 64, 64, 10}, {true, false, true}, 0.8);
  // A fourth and fifth layer in int8, one CSR and one dense, run their int8 kernels.
  std::mt19937 weights_rng(100);
  model.format_version = 4;
  model.layers.back().relu = true;
  model.layers.push_back(testing::Int8Layer("fc4", 10, 32, testing::RandomWeights(weights_rng, 320, 0.8),
                                            testing::RandomWeights(weights_rng, 32, 0.0), true, /*csr=*/true));
  model.layers.push_back(testing::Int8Layer("fc5", 32, 10, testing::RandomWeights(weights_rng, 320, 0.0),
                                            testing::RandomWeights(weights_rng, 10, 0.0), false, /*csr=*/false));
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
