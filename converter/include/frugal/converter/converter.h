// Checkpoint (.npz, docs/checkpoint.md) to .frugal conversion: validation, pruning by
// threshold, per-layer choice of dense, CSR, CSC or block CSR weights, optional int8
// quantization, and the FlatBuffer itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "frugal/npz.h"

namespace frugal::converter {

// Thrown for a checkpoint that cannot be converted or an output that cannot be written.
// The message names the file, the array or field and the value, for example
// "model.npz: dense_2/kernel[13, 7] = nan".
class ConvertError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Activation { kNone, kRelu };
// The type of a layer's stored weight values: float32, or int8 with one float scale per
// row (DenseInt8Weights or CsrInt8Weights, format version 4).
enum class WeightType { kFloat32, kInt8 };
// kDenseColumns: dense, column-major, rows padded to a multiple of 8 (format version 4).
enum class Encoding { kDense, kCsr, kCsc, kBlockCsr, kDenseColumns };
enum class EncodingPolicy { kAuto, kDense, kCsr, kCsc, kBlockCsr, kDenseColumns };

// The shape of the blocks of a block CSR layer: rows x columns of weights.
struct BlockShape {
  std::uint32_t rows = 1;
  std::uint32_t cols = 1;
};

// The block shapes that the runtime has kernels for.
inline constexpr BlockShape kBlockShapes[] = {{1, 1}, {4, 1}, {8, 1}, {1, 4}};

// One fully connected layer, already in the .frugal orientation: the transpose of the
// checkpoint's Keras kernel.
struct Layer {
  std::string name;
  Activation activation = Activation::kNone;
  std::uint32_t input_size = 0;
  std::uint32_t output_size = 0;
  std::vector<float> weights;  // row-major [output_size, input_size]: weights[r * input_size + c]
  std::vector<float> bias;     // output_size values
};

// A validated checkpoint: sizes chain from layer to layer and every value is finite.
struct Checkpoint {
  std::uint32_t input_size = 0;
  float input_scale = 1.0f;
  std::uint32_t class_count = 0;  // 0, or the last layer's output_size
  std::string producer;           // the tool that wrote the checkpoint, may be empty
  std::string description;
  std::vector<Layer> layers;
  // The inputs that layer 0 reads, strictly increasing and each < input_size, when dead
  // input elimination dropped some (the file then uses format 2); empty when layer 0
  // reads all input_size inputs.
  std::vector<std::uint32_t> input_indices;
  // Assumptions and repairs made while reading (default activations, summed duplicate
  // sparse indices), for the tool to print.
  std::vector<std::string> warnings;
};

// Reads and validates a checkpoint. Throws ConvertError naming `path` on any problem.
Checkpoint ReadCheckpoint(const std::string& path);

// Validates an archive already in memory; `source` names it in messages.
Checkpoint ParseCheckpoint(const npz::Archive& archive, const std::string& source);

// Compressed sparse rows of a row-major matrix, in the .frugal CsrWeights layout.
struct CsrMatrix {
  std::vector<std::uint32_t> row_ptr;  // rows + 1 entries, row_ptr[0] = 0
  std::vector<std::uint32_t> col_idx;  // strictly increasing within each row
  std::vector<float> values;           // no exact zeros
};

// Packs every value that is not exactly 0.0f (or -0.0f). `weights` contains rows * cols
// values in row-major order.
CsrMatrix PackCsr(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols);

// Compressed sparse columns of a row-major matrix, in the .frugal CscWeights layout.
struct CscMatrix {
  std::vector<std::uint32_t> col_ptr;  // cols + 1 entries, col_ptr[0] = 0
  std::vector<std::uint32_t> row_idx;  // strictly increasing within each column
  std::vector<float> values;           // no exact zeros
};

// Packs every value that is not exactly 0.0f (or -0.0f), column by column. `weights`
// contains rows * cols values in row-major order.
CscMatrix PackCsc(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols);

// Int8 values of a row-major matrix with one scale per row, in the .frugal
// DenseInt8Weights layout.
struct QuantizedMatrix {
  std::vector<std::int8_t> values;  // rows * cols values in [-127, 127], row-major
  std::vector<float> scales;        // rows values: the weight is scales[r] * values[r * cols + c]
};

// Quantizes each row symmetrically: scale = max |w| / 127 and value = round(w / scale),
// rounding half to even, so the largest weight of a row maps to +-127 exactly and every
// weight moves by at most scale / 2. An all-zero row gets scale 0. -128 is never produced.
QuantizedMatrix QuantizeRows(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols);

// Compressed sparse rows of an int8 matrix, in the .frugal CsrInt8Weights layout. Values
// that quantized to 0 are not stored.
struct CsrInt8Matrix {
  std::vector<std::uint32_t> row_ptr;
  std::vector<std::uint32_t> col_idx;
  std::vector<std::int8_t> values;
  std::vector<float> scales;  // rows values, as in QuantizedMatrix
};

CsrInt8Matrix PackCsrInt8(const QuantizedMatrix& quantized, std::uint32_t rows, std::uint32_t cols);
// Block-sparse rows of a row-major matrix, in the .frugal BlockCsrWeights layout.
struct BlockCsrMatrix {
  BlockShape shape;
  std::vector<std::uint32_t> block_row_ptr;  // ceil(rows / shape.rows) + 1 entries
  std::vector<std::uint32_t> col_idx;        // each block's first column, strictly increasing per block row
  std::vector<float> values;                 // shape.rows x shape.cols per block, row-major, zeros included
};

// Packs `weights` into blocks of `shape`, which must be at most `cols` wide. Per block row,
// a block starts at each column holding a non-zero weight that no earlier block of the
// block row covers, moved left to end at `cols` when it would end past it. Such a moved
// block can overlap the previous one, and then stores 0 where the previous block already
// holds the weight, so every weight is stored once. Rows past `rows` in the last block
// row are zero padding.
BlockCsrMatrix PackBlockCsr(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols,
                            BlockShape shape);

// Whether block column indices of a layer with `cols` inputs fit uint16, which the
// converter then writes.
bool BlockIndicesFitUint16(std::uint32_t cols, BlockShape shape);

// Packs a row-major matrix column by column, in the .frugal DenseColumnWeights layout.
// Column c starts at c * DenseColumnStride(rows), and its padding rows are zeros.
std::vector<float> PackDenseColumns(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols);

// Bytes of a layer's weight arrays in each encoding, not counting the bias or the
// FlatBuffer's own few bytes of vector lengths and tables: dense stores rows * cols
// floats, CSR stores rows + 1 row pointers plus one column index and one float per nonzero.
std::uint64_t DenseWeightBytes(std::uint32_t rows, std::uint32_t cols);
std::uint64_t CsrWeightBytes(std::uint32_t rows, std::uint64_t nonzeros);
// CSC stores cols + 1 column pointers plus one row index and one float per nonzero.
std::uint64_t CscWeightBytes(std::uint32_t cols, std::uint64_t nonzeros);
// Int8: dense stores rows * cols bytes plus rows float scales; CSR stores rows + 1 row
// pointers, rows float scales, and one column index and one byte per nonzero.
std::uint64_t DenseInt8WeightBytes(std::uint32_t rows, std::uint32_t cols);
std::uint64_t CsrInt8WeightBytes(std::uint32_t rows, std::uint64_t nonzeros);
// Block CSR stores ceil(rows / shape.rows) + 1 block row pointers plus one uint16 or
// uint32 column index and shape.rows x shape.cols floats per block.
std::uint64_t BlockCsrWeightBytes(std::uint32_t rows, std::uint32_t cols, BlockShape shape, std::uint64_t blocks);

// Estimated nanoseconds of one call of each encoding's kernel on a layer, from per-cell,
// per-value, per-block and per-row costs measured with frugal_kernels_benchmark on x86-64
// with AVX2 (docs/benchmarks.md, "Block-sparse rows"). Only the ratios matter.
// NOTE: measured on one AMD EPYC (Zen 3) only. On ARM the block kernels gain more over
// CSR, because NEON has no gather at all, so these estimates lean toward CSR there.
double EstimateDenseNs(std::uint32_t rows, std::uint32_t cols);
double EstimateCsrNs(std::uint32_t rows, std::uint64_t nonzeros);
double EstimateBlockCsrNs(std::uint32_t rows, BlockShape shape, std::uint64_t blocks);

// The block shape with the lowest estimated time for `weights`, with its block count.
struct BlockChoice {
  BlockShape shape;
  std::uint64_t blocks = 0;
  double estimated_ns = 0.0;
};
BlockChoice ChooseBlockShape(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols);

// kAuto stores a layer as block CSR when its estimated time is below this share of the
// lower of the dense and CSR estimates, so that estimation error does not flip a layer
// to a form that is no faster. On the first layers of two trained MNIST models the
// estimates put 1x4 blocks at 0.56x to 0.84x of dense, and frugal-bench measured
// 0.49x to 0.72x.
inline constexpr double kBlockCsrMaxShareOfBest = 0.9;

// Dense columns store cols columns of `rows` floats, padded to a multiple of 8.
std::uint64_t DenseColumnWeightBytes(std::uint32_t rows, std::uint32_t cols);

// The largest CSC work fraction (see ChooseEncoding) at which kAuto stores CSC in place
// of CSR. The CSC kernel costs about 0.9 ns per weight it multiplies, against 0.45 ns
// per stored value for the AVX2 CSR kernel and 0.58 ns for the scalar one, as measured
// in runtime/kernels/kernel_variants.cc. So CSC pays when it multiplies about half of
// the stored values or fewer.
// NOTE: this ignores the CSC kernel's cost per non-zero input, which the runtime's kAuto
// counts, so on layers with few rows the runtime may then mostly run the other form.
inline constexpr double kCscMaxWorkFraction = 0.5;

// The highest density at which any runtime kernel set runs a CSR layer as CSR in kAuto
// (kScalarCsrMaxDensity in runtime/kernels/kernel_variants.cc; AVX2 and NEON use 0.10).
// Above it every build expands the layer to dense, so kAuto does not store it as CSR.
inline constexpr double kCsrMaxDensity = 0.15;
// The same for the AVX2 and NEON kernels, which run denser CSR layers dense.
inline constexpr double kSimdCsrMaxDensity = 0.10;

// Estimated AVX2 costs in nanoseconds, fitted to CPU times of
//   frugal_kernels_benchmark --benchmark_min_time=0.2
// (docs/benchmarks.md, "Zero inputs: dense columns"). kAuto compares them to choose dense
// columns. Only the ratios matter.
// NOTE: kAuto applies these x86 figures to files for every target. No NEON board has
// timed the kernels, so on ARM the choice may differ from the fastest one.
inline constexpr double kDenseNsPerWeight = 0.030;   // f32_gemv_4x__avx2, 0.021 to 0.037
inline constexpr double kCsrNsPerValue = 0.45;       // f32_csrmv__avx2
inline constexpr double kCscNsPerWeight = 0.9;       // f32_cscmv__scalar, per multiplied weight
inline constexpr double kCscNsPerInput = 8.0;        // and per non-zero input
// f32_gemvcol__avx2: listing the non-zero inputs costs per input; each non-zero input then
// costs per 64-row tile and per 8 rows (one ymm vector).
inline constexpr double kColumnsNsPerInput = 0.06;
inline constexpr double kColumnsNsPerColumnTile = 0.65;
inline constexpr double kColumnsNsPerVector = 0.106;
// The interpreter's copy of layer 0's gathered inputs (Model.input_indices), per input.
inline constexpr double kGatherNsPerInput = 0.25;
// kAuto stores dense columns only when their estimate is at most this share of the other
// choice's, because the estimates are rough on small layers.
inline constexpr double kColumnsMaxShare = 0.75;

// Estimated time of a dense-columns layer when a fraction `input_nonzero_fraction` of
// its inputs is not zero, from the constants above.
double DenseColumnsNs(std::uint32_t rows, std::uint32_t cols, double input_nonzero_fraction);

// kAuto first picks by bytes: CSR when CsrWeightBytes < DenseWeightBytes, that is for a
// density below about one half, else dense. The CSC work fraction is the mean, over
// calibration inputs, of the stored values in the non-zero inputs' columns divided by all
// stored values. When calibration gave it, kAuto stores a CSR choice as CSC instead when
// it is at most kCscMaxWorkFraction. A CSR choice denser than kCsrMaxDensity becomes
// dense, because every runtime would run it dense anyway.
// Then kAuto stores dense columns when DenseColumnsNs is at most kColumnsMaxShare of the
// estimate for that choice. It uses input_zero_fraction, the mean fraction of the layer's
// inputs that are exactly zero on the calibration inputs, or 0 without calibration:
// with dense inputs dense columns never pay, and kAuto does not pick them.
Encoding ChooseEncoding(EncodingPolicy policy, std::uint32_t rows, std::uint32_t cols,
                        std::uint64_t nonzeros, std::optional<double> csc_work_fraction = std::nullopt,
                        std::optional<double> input_zero_fraction = std::nullopt);

// The encoding of an int8 layer: kAuto picks CSR exactly when CsrInt8WeightBytes <
// DenseInt8WeightBytes, that is for a density below about one fifth, and never CSC.
// Throws ConvertError for kCsc, because there is no int8 CSC encoding.
Encoding ChooseInt8Encoding(EncodingPolicy policy, std::uint32_t rows, std::uint32_t cols, std::uint64_t nonzeros);

struct ConvertOptions {
  // Weights with |w| <= threshold become exact zeros before encoding; biases are kept.
  // 0 drops only exact zeros. Must be finite and >= 0.
  float threshold = 0.0f;
  // After the threshold, keeps only the largest-magnitude fraction of each layer's
  // weights, in (0, 1]. A layer listed in layer_target_density uses its own value.
  std::optional<double> target_density;
  std::map<std::string, double> layer_target_density;
  // Removes hidden units that read no weight or feed no weight, and inputs that no
  // weight reads (see EliminateDeadUnits). Inputs are dropped only when the file gets
  // smaller: each kept input costs a 4-byte index, and a CSR layer 0 stores nothing for
  // an unread input anyway.
  bool eliminate_dead_units = true;
  EncodingPolicy encoding = EncodingPolicy::kAuto;
  // The weight type of every layer, unless layer_weight_type names the layer. Int8 layers
  // are quantized after pruning and dead-unit elimination (see QuantizeRows), and a file
  // with any int8 layer is written as format version 4.
  WeightType weight_type = WeightType::kFloat32;
  std::map<std::string, WeightType> layer_weight_type;
  // With EncodingPolicy::kBlockCsr, the block shape of every layer. Unset, each layer gets
  // the shape of ChooseBlockShape.
  std::optional<BlockShape> block_shape;
  // Raw model inputs (before input_scale), each of the checkpoint's input_size, on which
  // Convert measures each layer's CSC work fraction for kAuto. Empty: no CSC in kAuto.
  std::vector<std::vector<float>> calibration_inputs;
  // Names the calibration inputs in messages, for example their IDX file. Empty: the
  // output name.
  std::string calibration_source;
  // Replaces the checkpoint's description in the metadata when set.
  std::optional<std::string> description;
};

// Keeps the `density` fraction (in (0, 1]) of the layer's weights with the largest
// magnitude, rounded to the nearest count, and sets the others to 0. Ties at the cut
// keep the earlier weight in row-major order. Weights that are already 0 stay 0.
void PruneToDensity(Layer& layer, double density);

// Returns a smaller model with the same outputs, up to float rounding. A hidden unit whose
// incoming weights are all zero outputs the constant activation(bias). That constant
// times its outgoing weights is added to the next layer's bias, and the unit's row in its
// own layer and its column in the next are removed. A hidden unit whose outgoing weights are all zero is
// removed too, and so is an input that no weight of layer 0 reads; input_indices records
// the inputs that remain. Runs until nothing changes, and keeps at least one unit per
// layer and one input. The last layer's outputs are never removed.
Checkpoint EliminateDeadUnits(const Checkpoint& checkpoint);

// One layer's shapes, size and encoding after Convert, for the report.
struct LayerSummary {
  std::string name;
  std::uint32_t rows_before = 0;     // output_size before dead-unit elimination
  std::uint32_t columns_before = 0;  // input_size before dead-unit elimination
  std::uint32_t rows = 0;            // output_size as written
  std::uint32_t columns = 0;         // input_size as written
  std::uint64_t nonzeros = 0;
  Encoding encoding = Encoding::kDense;
  WeightType weight_type = WeightType::kFloat32;
  // Weights that were not 0 before int8 quantization but rounded to 0; 0 for float layers.
  std::uint64_t rounded_to_zero = 0;
  std::uint64_t bytes = 0;  // weight arrays (and int8 scales) in the chosen encoding plus the bias
  // Calibration only: the mean fraction of this layer's inputs that are exactly zero,
  // and the CSC work fraction (see ChooseEncoding). Unset without calibration inputs.
  std::optional<double> input_zero_fraction;
  std::optional<double> csc_work_fraction;
  // Block CSR only: the block shape, the number of blocks, the values stored with the
  // zeros that fill the blocks, and the bytes of one column index (2 or 4).
  BlockShape block_shape;
  std::uint64_t blocks = 0;
  std::uint64_t stored_values = 0;
  std::uint32_t index_bytes = 0;
};

struct Conversion {
  std::vector<std::uint8_t> buffer;  // the .frugal file
  std::vector<LayerSummary> layers;
  std::size_t dense_file_bytes = 0;  // size of the same model with every layer dense
  // Size with every layer dense and no dead-unit elimination, close to what a converter
  // without sparsity support would write.
  std::size_t original_dense_file_bytes = 0;
  std::uint32_t input_size = 0;      // inputs the caller supplies
  std::uint32_t inputs_read = 0;     // inputs layer 0 reads after elimination
  std::size_t calibration_count = 0;  // calibration inputs measured, 0 without
  std::vector<std::string> warnings;  // from reading the input file
};

// Builds the .frugal FlatBuffer and checks it with the runtime's loader, so a converter
// bug cannot produce a file that frugal-run rejects. `output_name` names the result in
// messages. Throws ConvertError.
Conversion Convert(const Checkpoint& checkpoint, const ConvertOptions& options,
                   const std::string& output_name);

// Reads `input` (any format ReadModel in import.h reads), converts it and writes `output`
// atomically: on any error no output file is created and an existing one is left unchanged.
Conversion ConvertFile(const std::string& input, const std::string& output,
                       const ConvertOptions& options);

// The per-layer table and totals that frugal-convert prints.
std::string FormatSummary(const Conversion& conversion);

const char* EncodingName(Encoding encoding);
const char* WeightTypeName(WeightType type);  // "f32" or "int8"

}  // namespace frugal::converter
