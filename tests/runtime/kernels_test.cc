// Every compiled kernel variant against the naive reference on a fixed sweep of edge
// shapes, with NaN-filled outputs so an element a kernel forgets to write fails.
#include <doctest/doctest.h>

#include <cmath>
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

// The same weights as CSR and CSC arrays, and as block CSR arrays of every block shape
// with uint16 and with uint32 column indices (kBlockShapes order, narrow then wide).
// Shapes wider than the layer have no form and are skipped.
struct SparseForms {
  testing::TestLayer csr;
  testing::TestLayer csc;
  std::vector<testing::TestLayer> blocks;
};

SparseForms MakeSparseForms(const Case& c) {
  SparseForms forms{testing::CsrLayer("", c.cols, c.rows, c.weights, {}, false),
                    testing::CscLayer("", c.cols, c.rows, c.weights, {}, false),
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
    case WeightEncoding::kBlockCsr:
      for (const testing::TestLayer& form : sparse.blocks) {
        if (form.block_rows == variant.block_rows && form.block_cols == variant.block_cols &&
            form.block_col_u32.has_value() == wide_indices) {
          RunBlockForm(variant, c, form, relu, y.data());
        }
      }
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
    CHECK((variant.bsrmv != nullptr) == (variant.encoding == WeightEncoding::kBlockCsr));
    CHECK(((variant.block_rows * variant.block_cols) != 0) == (variant.encoding == WeightEncoding::kBlockCsr));
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
