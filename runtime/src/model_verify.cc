// Load-time verification of a .frugal buffer: the FlatBuffers verifier first, then every
// semantic invariant listed in schema/README.md. Kernels rely on these checks and carry
// none of their own.
#include <flatbuffers/flatbuffers.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "frugal/frugal_model_generated.h"
#include "kernels/kernels.h"
#include "src/model_view.h"

// Weights are read in place as native floats and uint32s, which is only correct on a
// little-endian CPU (the FlatBuffers wire format is little-endian).
static_assert(FLATBUFFERS_LITTLEENDIAN, "frugal's runtime reads weights in place and needs a little-endian CPU");

namespace frugal::internal {
namespace {

constexpr std::uint32_t kFormatVersion = 1;
// Version 2 adds Model.input_indices and Model.original_input_size.
constexpr std::uint32_t kGatherFormatVersion = 2;
// Version 3 adds CscWeights and makes input_indices optional.
constexpr std::uint32_t kCscFormatVersion = 3;
// Version 4 adds DenseColumnWeights, BlockCsrWeights, DenseInt8Weights and
// CsrInt8Weights. input_indices stays optional.
constexpr std::uint32_t kFormatVersion4 = 4;
// The newest version this runtime reads.
constexpr std::uint32_t kLatestFormatVersion = kFormatVersion4;

// Bytes before the root table: the root offset and the 4-byte file identifier.
constexpr std::size_t kHeaderBytes = 2 * sizeof(flatbuffers::uoffset_t);

std::string FormatFloat(float value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", static_cast<double>(value));
  return text;
}

// Quotes a 4-byte identifier, escaping bytes that are not printable ASCII.
std::string QuoteIdentifier(const std::uint8_t* bytes) {
  std::string text = "\"";
  for (int i = 0; i < 4; ++i) {
    const std::uint8_t b = bytes[i];
    if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
      text += static_cast<char>(b);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", b);
      text += escaped;
    }
  }
  return text + "\"";
}

// Escapes the control bytes of a name read from the file as \xNN, so that a message
// stays one line and sends no terminal escape sequences. Other bytes, UTF-8 included,
// are kept.
std::string EscapeControlBytes(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    const auto b = static_cast<std::uint8_t>(c);
    if (b >= 0x20 && b != 0x7f) {
      escaped += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", b);
      escaped += hex;
    }
  }
  return escaped;
}

// Builds messages that start with the source and, once set, the layer.
class Reporter {
 public:
  explicit Reporter(std::string_view source) : prefix_(std::string(source) + ": ") {}

  void SetLayer(std::size_t index, const flatbuffers::String* name) {
    layer_prefix_ = "layer " + std::to_string(index);
    if (name != nullptr && name->size() > 0) {
      layer_prefix_ += " (" + EscapeControlBytes(std::string_view(name->c_str(), name->size())) + ")";
    }
    layer_prefix_ += ": ";
  }

  Status Invalid(const std::string& message) const {
    return Status(StatusCode::kInvalidModel, prefix_ + layer_prefix_ + message);
  }
  Status Unsupported(const std::string& message) const {
    return Status(StatusCode::kUnsupported, prefix_ + layer_prefix_ + message);
  }

 private:
  std::string prefix_;
  std::string layer_prefix_;
};

Status CheckFinite(const Reporter& report, const char* field, const flatbuffers::Vector<float>& values) {
  for (flatbuffers::uoffset_t i = 0; i < values.size(); ++i) {
    const float value = values[i];
    if (!std::isfinite(value)) {
      return report.Invalid(std::string(field) + "[" + std::to_string(i) + "] = " + FormatFloat(value) +
                            " is not finite; weights and biases must be finite");
    }
  }
  return Status::Ok();
}

std::uint64_t CountNonzeros(const flatbuffers::Vector<float>& values) {
  std::uint64_t count = 0;
  for (flatbuffers::uoffset_t i = 0; i < values.size(); ++i) count += values[i] != 0.0f;
  return count;
}

Status CheckDense(const Reporter& report, const fb::DenseWeights& weights, LayerView* layer) {
  const auto* values = weights.values();
  const std::uint64_t expected = std::uint64_t{layer->info.output_size} * layer->info.input_size;
  if (values == nullptr) {
    return report.Invalid("DenseWeights.values is missing; expected output_size x input_size = " +
                          std::to_string(expected) + " values");
  }
  if (values->size() != expected) {
    return report.Invalid("DenseWeights.values has " + std::to_string(values->size()) +
                          " values, expected output_size x input_size = " + std::to_string(expected));
  }
  if (Status status = CheckFinite(report, "DenseWeights.values", *values); !status.ok()) return status;

  layer->info.encoding = WeightEncoding::kDense;
  layer->info.stored_values = values->size();
  layer->info.nonzeros = CountNonzeros(*values);
  layer->dense_values = values->data();
  return Status::Ok();
}

Status CheckCsr(const Reporter& report, const fb::CsrWeights& weights, LayerView* layer) {
  const std::uint32_t rows = layer->info.output_size;
  const std::uint32_t cols = layer->info.input_size;
  const auto* row_ptr = weights.row_ptr();
  const auto* col_idx = weights.col_idx();
  const auto* values = weights.values();
  if (row_ptr == nullptr) return report.Invalid("CsrWeights.row_ptr is missing");
  if (col_idx == nullptr) return report.Invalid("CsrWeights.col_idx is missing");
  if (values == nullptr) return report.Invalid("CsrWeights.values is missing");

  const std::uint64_t expected_row_ptr = std::uint64_t{rows} + 1;
  if (row_ptr->size() != expected_row_ptr) {
    return report.Invalid("CsrWeights.row_ptr has " + std::to_string(row_ptr->size()) +
                          " entries, expected output_size + 1 = " + std::to_string(expected_row_ptr));
  }
  const std::uint32_t nnz = col_idx->size();
  if (values->size() != nnz) {
    return report.Invalid("CsrWeights.values has " + std::to_string(values->size()) +
                          " values, expected nnz = " + std::to_string(nnz) + " (the length of col_idx)");
  }
  if (row_ptr->Get(0) != 0) {
    return report.Invalid("CsrWeights.row_ptr[0] = " + std::to_string(row_ptr->Get(0)) + ", expected 0");
  }
  for (std::uint32_t r = 0; r < rows; ++r) {
    if (row_ptr->Get(r + 1) < row_ptr->Get(r)) {
      return report.Invalid("CsrWeights.row_ptr[" + std::to_string(r + 1) + "] = " +
                            std::to_string(row_ptr->Get(r + 1)) + " is less than row_ptr[" + std::to_string(r) +
                            "] = " + std::to_string(row_ptr->Get(r)) + "; row pointers must not decrease");
    }
  }
  // Checked before any row is walked, so that row_ptr never indexes past col_idx.
  if (row_ptr->Get(rows) != nnz) {
    return report.Invalid("CsrWeights.row_ptr[" + std::to_string(rows) + "] = " + std::to_string(row_ptr->Get(rows)) +
                          " does not equal nnz = " + std::to_string(nnz) + " (the length of col_idx)");
  }
  for (std::uint32_t r = 0; r < rows; ++r) {
    for (std::uint32_t k = row_ptr->Get(r); k < row_ptr->Get(r + 1); ++k) {
      const std::uint32_t col = col_idx->Get(k);
      if (col >= cols) {
        return report.Invalid("CsrWeights.col_idx[" + std::to_string(k) + "] = " + std::to_string(col) +
                              " (row " + std::to_string(r) + ") is out of range [0, " + std::to_string(cols) + ")");
      }
      if (k > row_ptr->Get(r) && col <= col_idx->Get(k - 1)) {
        return report.Invalid("CsrWeights.col_idx[" + std::to_string(k) + "] = " + std::to_string(col) +
                              " (row " + std::to_string(r) + ") is not greater than col_idx[" + std::to_string(k - 1) +
                              "] = " + std::to_string(col_idx->Get(k - 1)) +
                              "; columns within a row must be strictly increasing");
      }
    }
  }
  if (Status status = CheckFinite(report, "CsrWeights.values", *values); !status.ok()) return status;

  layer->info.encoding = WeightEncoding::kCsr;
  layer->info.stored_values = nnz;
  layer->info.nonzeros = CountNonzeros(*values);
  layer->row_ptr = row_ptr->data();
  layer->col_idx = col_idx->data();
  layer->csr_values = values->data();
  return Status::Ok();
}

Status CheckCsc(const Reporter& report, const fb::CscWeights& weights, LayerView* layer) {
  const std::uint32_t rows = layer->info.output_size;
  const std::uint32_t cols = layer->info.input_size;
  const auto* col_ptr = weights.col_ptr();
  const auto* row_idx = weights.row_idx();
  const auto* values = weights.values();
  if (col_ptr == nullptr) return report.Invalid("CscWeights.col_ptr is missing");
  if (row_idx == nullptr) return report.Invalid("CscWeights.row_idx is missing");
  if (values == nullptr) return report.Invalid("CscWeights.values is missing");

  const std::uint64_t expected_col_ptr = std::uint64_t{cols} + 1;
  if (col_ptr->size() != expected_col_ptr) {
    return report.Invalid("CscWeights.col_ptr has " + std::to_string(col_ptr->size()) +
                          " entries, expected input_size + 1 = " + std::to_string(expected_col_ptr));
  }
  const std::uint32_t nnz = row_idx->size();
  if (values->size() != nnz) {
    return report.Invalid("CscWeights.values has " + std::to_string(values->size()) +
                          " values, expected nnz = " + std::to_string(nnz) + " (the length of row_idx)");
  }
  if (col_ptr->Get(0) != 0) {
    return report.Invalid("CscWeights.col_ptr[0] = " + std::to_string(col_ptr->Get(0)) + ", expected 0");
  }
  for (std::uint32_t c = 0; c < cols; ++c) {
    if (col_ptr->Get(c + 1) < col_ptr->Get(c)) {
      return report.Invalid("CscWeights.col_ptr[" + std::to_string(c + 1) + "] = " +
                            std::to_string(col_ptr->Get(c + 1)) + " is less than col_ptr[" + std::to_string(c) +
                            "] = " + std::to_string(col_ptr->Get(c)) + "; column pointers must not decrease");
    }
  }
  // Checked before any column is walked, so that col_ptr never indexes past row_idx.
  if (col_ptr->Get(cols) != nnz) {
    return report.Invalid("CscWeights.col_ptr[" + std::to_string(cols) + "] = " + std::to_string(col_ptr->Get(cols)) +
                          " does not equal nnz = " + std::to_string(nnz) + " (the length of row_idx)");
  }
  for (std::uint32_t c = 0; c < cols; ++c) {
    for (std::uint32_t k = col_ptr->Get(c); k < col_ptr->Get(c + 1); ++k) {
      const std::uint32_t row = row_idx->Get(k);
      if (row >= rows) {
        return report.Invalid("CscWeights.row_idx[" + std::to_string(k) + "] = " + std::to_string(row) +
                              " (column " + std::to_string(c) + ") is out of range [0, " + std::to_string(rows) + ")");
      }
      if (k > col_ptr->Get(c) && row <= row_idx->Get(k - 1)) {
        return report.Invalid("CscWeights.row_idx[" + std::to_string(k) + "] = " + std::to_string(row) +
                              " (column " + std::to_string(c) + ") is not greater than row_idx[" +
                              std::to_string(k - 1) + "] = " + std::to_string(row_idx->Get(k - 1)) +
                              "; rows within a column must be strictly increasing");
      }
    }
  }
  if (Status status = CheckFinite(report, "CscWeights.values", *values); !status.ok()) return status;

  layer->info.encoding = WeightEncoding::kCsc;
  layer->info.stored_values = nnz;
  layer->info.nonzeros = CountNonzeros(*values);
  layer->col_ptr = col_ptr->data();
  layer->row_idx = row_idx->data();
  layer->csc_values = values->data();
  return Status::Ok();
}

// Symmetric quantization maps weights to [-127, 127], because -128 has no positive counterpart.
constexpr int kInt8Max = 127;

// Checks the per-row scales of an int8 layer: output_size finite values >= 0.
Status CheckScales(const Reporter& report, const char* table, const flatbuffers::Vector<float>* scales,
                   std::uint32_t rows) {
  const std::string field = std::string(table) + ".scales";
  if (scales == nullptr) {
    return report.Invalid(field + " is missing; expected output_size = " + std::to_string(rows) + " values");
  }
  if (scales->size() != rows) {
    return report.Invalid(field + " has " + std::to_string(scales->size()) + " values, expected output_size = " +
                          std::to_string(rows));
  }
  for (std::uint32_t r = 0; r < rows; ++r) {
    const float scale = scales->Get(r);
    if (!std::isfinite(scale) || scale < 0.0f) {
      return report.Invalid(field + "[" + std::to_string(r) + "] = " + FormatFloat(scale) +
                            " must be finite and at least 0");
    }
  }
  return Status::Ok();
}

// Reads block k's column index from whichever of the two index vectors is present.
template <typename Vector>
std::uint32_t BlockColumn(const Vector& col_idx, std::uint32_t k) {
  return col_idx.Get(k);
}

// Checks the block column indices of every block row: each block fits in [0, input_size)
// and, within a block row, the indices are strictly increasing.
template <typename Vector>
Status CheckBlockColumns(const Reporter& report, const char* field, const Vector& col_idx,
                         const flatbuffers::Vector<std::uint32_t>& block_row_ptr, std::uint32_t block_cols,
                         std::uint32_t cols) {
  const std::uint32_t block_row_count = block_row_ptr.size() - 1;
  for (std::uint32_t b = 0; b < block_row_count; ++b) {
    for (std::uint32_t k = block_row_ptr.Get(b); k < block_row_ptr.Get(b + 1); ++k) {
      const std::uint64_t col = BlockColumn(col_idx, k);
      if (col + block_cols > cols) {
        return report.Invalid(std::string("BlockCsrWeights.") + field + "[" + std::to_string(k) + "] = " +
                              std::to_string(col) + " (block row " + std::to_string(b) + ") is out of range [0, " +
                              std::to_string(std::uint64_t{cols} - block_cols + 1) +
                              "): the block's " + std::to_string(block_cols) + " columns must lie within input_size = " +
                              std::to_string(cols));
      }
      if (k > block_row_ptr.Get(b) && col <= BlockColumn(col_idx, k - 1)) {
        return report.Invalid(std::string("BlockCsrWeights.") + field + "[" + std::to_string(k) + "] = " +
                              std::to_string(col) + " (block row " + std::to_string(b) + ") is not greater than " +
                              field + "[" + std::to_string(k - 1) + "] = " +
                              std::to_string(BlockColumn(col_idx, k - 1)) +
                              "; block columns within a block row must be strictly increasing");
      }
    }
  }
  return Status::Ok();
}

// Checks that values[begin, end) of row `row` are in [-127, 127], that each times the
// row's scale is finite, and that all are 0 when the scale is 0. Returns the count of values that are not 0 through *nonzeros.
Status CheckInt8Row(const Reporter& report, const char* table, const flatbuffers::Vector<std::int8_t>& values,
                    std::uint32_t begin, std::uint32_t end, std::uint32_t row, float scale,
                    std::uint64_t* nonzeros) {
  for (std::uint32_t k = begin; k < end; ++k) {
    const int value = values.Get(k);
    if (value < -kInt8Max) {
      return report.Invalid(std::string(table) + ".values[" + std::to_string(k) + "] = " + std::to_string(value) +
                            " (row " + std::to_string(row) + ") is out of range [-127, 127]");
    }
    // A weight is scale x value. A scale near FLT_MAX makes it infinite, which float
    // files cannot store, so int8 files may not either.
    if (!std::isfinite(scale * static_cast<float>(value))) {
      return report.Invalid(std::string(table) + ".values[" + std::to_string(k) + "] = " + std::to_string(value) +
                            " (row " + std::to_string(row) + ") times scales[" + std::to_string(row) + "] = " +
                            FormatFloat(scale) + " is not finite; weights must be finite");
    }
    if (value != 0 && scale == 0.0f) {
      return report.Invalid(std::string(table) + ".values[" + std::to_string(k) + "] = " + std::to_string(value) +
                            " (row " + std::to_string(row) + ") is not 0, but scales[" + std::to_string(row) +
                            "] = 0; a row with scale 0 must have every value 0");
    }
    *nonzeros += value != 0;
  }
  return Status::Ok();
}

Status CheckDenseInt8(const Reporter& report, const fb::DenseInt8Weights& weights, LayerView* layer) {
  const std::uint32_t rows = layer->info.output_size;
  const std::uint32_t cols = layer->info.input_size;
  const auto* values = weights.values();
  const std::uint64_t expected = std::uint64_t{rows} * cols;
  if (values == nullptr) {
    return report.Invalid("DenseInt8Weights.values is missing; expected output_size x input_size = " +
                          std::to_string(expected) + " values");
  }
  if (values->size() != expected) {
    return report.Invalid("DenseInt8Weights.values has " + std::to_string(values->size()) +
                          " values, expected output_size x input_size = " + std::to_string(expected));
  }
  const auto* scales = weights.scales();
  if (Status status = CheckScales(report, "DenseInt8Weights", scales, rows); !status.ok()) return status;
  std::uint64_t nonzeros = 0;
  for (std::uint32_t r = 0; r < rows; ++r) {
    if (Status status = CheckInt8Row(report, "DenseInt8Weights", *values, r * cols, (r + 1) * cols, r,
                                     scales->Get(r), &nonzeros);
        !status.ok()) {
      return status;
    }
  }

  layer->info.encoding = WeightEncoding::kDenseInt8;
  layer->info.stored_values = values->size();
  layer->info.nonzeros = nonzeros;
  layer->int8_values = values->data();
  layer->scales = scales->data();
  return Status::Ok();
}

// The CSR invariants are those of CsrWeights. Only the values and scales differ.
Status CheckCsrInt8(const Reporter& report, const fb::CsrInt8Weights& weights, LayerView* layer) {
  const std::uint32_t rows = layer->info.output_size;
  const std::uint32_t cols = layer->info.input_size;
  const auto* row_ptr = weights.row_ptr();
  const auto* col_idx = weights.col_idx();
  const auto* values = weights.values();
  if (row_ptr == nullptr) return report.Invalid("CsrInt8Weights.row_ptr is missing");
  if (col_idx == nullptr) return report.Invalid("CsrInt8Weights.col_idx is missing");
  if (values == nullptr) return report.Invalid("CsrInt8Weights.values is missing");

  const std::uint64_t expected_row_ptr = std::uint64_t{rows} + 1;
  if (row_ptr->size() != expected_row_ptr) {
    return report.Invalid("CsrInt8Weights.row_ptr has " + std::to_string(row_ptr->size()) +
                          " entries, expected output_size + 1 = " + std::to_string(expected_row_ptr));
  }
  const std::uint32_t nnz = col_idx->size();
  if (values->size() != nnz) {
    return report.Invalid("CsrInt8Weights.values has " + std::to_string(values->size()) +
                          " values, expected nnz = " + std::to_string(nnz) + " (the length of col_idx)");
  }
  const auto* scales = weights.scales();
  if (Status status = CheckScales(report, "CsrInt8Weights", scales, rows); !status.ok()) return status;
  if (row_ptr->Get(0) != 0) {
    return report.Invalid("CsrInt8Weights.row_ptr[0] = " + std::to_string(row_ptr->Get(0)) + ", expected 0");
  }
  for (std::uint32_t r = 0; r < rows; ++r) {
    if (row_ptr->Get(r + 1) < row_ptr->Get(r)) {
      return report.Invalid("CsrInt8Weights.row_ptr[" + std::to_string(r + 1) + "] = " +
                            std::to_string(row_ptr->Get(r + 1)) + " is less than row_ptr[" + std::to_string(r) +
                            "] = " + std::to_string(row_ptr->Get(r)) + "; row pointers must not decrease");
    }
  }
  // Checked before any row is walked, so that row_ptr never indexes past col_idx.
  if (row_ptr->Get(rows) != nnz) {
    return report.Invalid("CsrInt8Weights.row_ptr[" + std::to_string(rows) + "] = " +
                          std::to_string(row_ptr->Get(rows)) + " does not equal nnz = " + std::to_string(nnz) +
                          " (the length of col_idx)");
  }
  std::uint64_t nonzeros = 0;
  for (std::uint32_t r = 0; r < rows; ++r) {
    for (std::uint32_t k = row_ptr->Get(r); k < row_ptr->Get(r + 1); ++k) {
      const std::uint32_t col = col_idx->Get(k);
      if (col >= cols) {
        return report.Invalid("CsrInt8Weights.col_idx[" + std::to_string(k) + "] = " + std::to_string(col) +
                              " (row " + std::to_string(r) + ") is out of range [0, " + std::to_string(cols) + ")");
      }
      if (k > row_ptr->Get(r) && col <= col_idx->Get(k - 1)) {
        return report.Invalid("CsrInt8Weights.col_idx[" + std::to_string(k) + "] = " + std::to_string(col) +
                              " (row " + std::to_string(r) + ") is not greater than col_idx[" + std::to_string(k - 1) +
                              "] = " + std::to_string(col_idx->Get(k - 1)) +
                              "; columns within a row must be strictly increasing");
      }
    }
    if (Status status = CheckInt8Row(report, "CsrInt8Weights", *values, row_ptr->Get(r), row_ptr->Get(r + 1), r,
                                     scales->Get(r), &nonzeros);
        !status.ok()) {
      return status;
    }
  }

  layer->info.encoding = WeightEncoding::kCsrInt8;
  layer->info.stored_values = nnz;
  layer->info.nonzeros = nonzeros;
  layer->row_ptr = row_ptr->data();
  layer->col_idx = col_idx->data();
  layer->int8_values = values->data();
  layer->scales = scales->data();
  return Status::Ok();
}

Status CheckBlockCsr(const Reporter& report, const fb::BlockCsrWeights& weights, LayerView* layer) {
  const std::uint32_t rows = layer->info.output_size;
  const std::uint32_t cols = layer->info.input_size;
  const std::uint32_t block_rows = weights.block_rows();
  const std::uint32_t block_cols = weights.block_cols();
  if (!kernels::IsSupportedBlockShape(block_rows, block_cols)) {
    return report.Unsupported("BlockCsrWeights block shape block_rows x block_cols = " + std::to_string(block_rows) +
                              "x" + std::to_string(block_cols) +
                              " is not supported; this runtime runs 1x1, 4x1, 8x1 and 1x4 blocks");
  }
  const auto* block_row_ptr = weights.block_row_ptr();
  const auto* col_u16 = weights.block_col_idx_u16();
  const auto* col_u32 = weights.block_col_idx_u32();
  const auto* values = weights.values();
  if (block_row_ptr == nullptr) return report.Invalid("BlockCsrWeights.block_row_ptr is missing");
  if (col_u16 == nullptr && col_u32 == nullptr) {
    return report.Invalid("BlockCsrWeights has neither block_col_idx_u16 nor block_col_idx_u32; expected exactly one");
  }
  if (col_u16 != nullptr && col_u32 != nullptr) {
    return report.Invalid("BlockCsrWeights has both block_col_idx_u16 and block_col_idx_u32; expected exactly one");
  }
  if (values == nullptr) return report.Invalid("BlockCsrWeights.values is missing");

  // At most output_size, so it fits uint32.
  const std::uint32_t block_row_count =
      static_cast<std::uint32_t>((std::uint64_t{rows} + block_rows - 1) / block_rows);
  if (block_row_ptr->size() != std::uint64_t{block_row_count} + 1) {
    return report.Invalid("BlockCsrWeights.block_row_ptr has " + std::to_string(block_row_ptr->size()) +
                          " entries, expected ceil(output_size / block_rows) + 1 = " +
                          std::to_string(std::uint64_t{block_row_count} + 1));
  }
  const char* col_field = col_u16 != nullptr ? "block_col_idx_u16" : "block_col_idx_u32";
  const std::uint32_t blocks = col_u16 != nullptr ? col_u16->size() : col_u32->size();
  const std::uint64_t block_size = std::uint64_t{block_rows} * block_cols;
  if (values->size() != std::uint64_t{blocks} * block_size) {
    return report.Invalid("BlockCsrWeights.values has " + std::to_string(values->size()) +
                          " values, expected blocks x block_rows x block_cols = " +
                          std::to_string(std::uint64_t{blocks} * block_size) + " (" + std::to_string(blocks) +
                          " blocks, the length of " + col_field + ")");
  }
  if (block_row_ptr->Get(0) != 0) {
    return report.Invalid("BlockCsrWeights.block_row_ptr[0] = " + std::to_string(block_row_ptr->Get(0)) +
                          ", expected 0");
  }
  for (std::uint32_t b = 0; b < block_row_count; ++b) {
    if (block_row_ptr->Get(b + 1) < block_row_ptr->Get(b)) {
      return report.Invalid("BlockCsrWeights.block_row_ptr[" + std::to_string(b + 1) + "] = " +
                            std::to_string(block_row_ptr->Get(b + 1)) + " is less than block_row_ptr[" +
                            std::to_string(b) + "] = " + std::to_string(block_row_ptr->Get(b)) +
                            "; block row pointers must not decrease");
    }
  }
  // Checked before any block row is walked, so that block_row_ptr never indexes past the
  // column indices.
  const std::uint32_t last = block_row_ptr->Get(block_row_count);
  if (last != blocks) {
    return report.Invalid("BlockCsrWeights.block_row_ptr[" + std::to_string(block_row_count) + "] = " +
                          std::to_string(last) + " does not equal the block count " + std::to_string(blocks) +
                          " (the length of " + col_field + ")");
  }
  const Status columns = col_u16 != nullptr
                             ? CheckBlockColumns(report, col_field, *col_u16, *block_row_ptr, block_cols, cols)
                             : CheckBlockColumns(report, col_field, *col_u32, *block_row_ptr, block_cols, cols);
  if (!columns.ok()) return columns;
  if (Status status = CheckFinite(report, "BlockCsrWeights.values", *values); !status.ok()) return status;
  // The last block row's rows past output_size are padding. They must hold zeros, so
  // that no weight in the file is silently ignored.
  const std::uint32_t padding_rows = static_cast<std::uint32_t>(std::uint64_t{block_row_count} * block_rows - rows);
  if (padding_rows > 0) {
    for (std::uint32_t k = block_row_ptr->Get(block_row_count - 1); k < blocks; ++k) {
      for (std::uint32_t i = block_rows - padding_rows; i < block_rows; ++i) {
        for (std::uint32_t j = 0; j < block_cols; ++j) {
          const std::uint64_t index = k * block_size + i * block_cols + j;
          const float value = values->Get(static_cast<flatbuffers::uoffset_t>(index));
          if (value != 0.0f) {
            return report.Invalid("BlockCsrWeights.values[" + std::to_string(index) + "] = " + FormatFloat(value) +
                                  " lies in row " + std::to_string(std::uint64_t{block_row_count - 1} * block_rows + i) +
                                  ", past output_size = " + std::to_string(rows) +
                                  "; padding rows of the last block row must be 0");
          }
        }
      }
    }
  }

  layer->info.encoding = WeightEncoding::kBlockCsr;
  layer->info.stored_values = values->size();
  layer->info.nonzeros = CountNonzeros(*values);
  layer->info.block_rows = block_rows;
  layer->info.block_cols = block_cols;
  layer->block_row_ptr = block_row_ptr->data();
  layer->block_col_u16 = col_u16 != nullptr ? col_u16->data() : nullptr;
  layer->block_col_u32 = col_u32 != nullptr ? col_u32->data() : nullptr;
  layer->block_values = values->data();
  return Status::Ok();
}

Status CheckDenseColumns(const Reporter& report, const fb::DenseColumnWeights& weights, LayerView* layer) {
  const std::uint32_t rows = layer->info.output_size;
  const std::uint32_t cols = layer->info.input_size;
  const std::uint64_t stride = DenseColumnStride(rows);
  const auto* values = weights.values();
  const std::uint64_t expected = cols * stride;
  if (values == nullptr) {
    return report.Invalid("DenseColumnWeights.values is missing; expected input_size x row_stride = " +
                          std::to_string(expected) + " values (row_stride = " + std::to_string(stride) +
                          ", output_size rounded up to a multiple of " + std::to_string(kDenseColumnRowAlign) + ")");
  }
  if (values->size() != expected) {
    return report.Invalid("DenseColumnWeights.values has " + std::to_string(values->size()) +
                          " values, expected input_size x row_stride = " + std::to_string(expected) +
                          " (row_stride = " + std::to_string(stride) + ", output_size rounded up to a multiple of " +
                          std::to_string(kDenseColumnRowAlign) + ")");
  }
  if (Status status = CheckFinite(report, "DenseColumnWeights.values", *values); !status.ok()) return status;
  // Kernels multiply the padding rows with full vectors and drop the results, so any
  // finite value would do. Zeros keep the stored form unique and the nonzero count true.
  for (std::uint32_t c = 0; c < cols; ++c) {
    for (std::uint64_t r = rows; r < stride; ++r) {
      const std::uint64_t k = c * stride + r;
      if (values->Get(static_cast<flatbuffers::uoffset_t>(k)) != 0.0f) {
        return report.Invalid("DenseColumnWeights.values[" + std::to_string(k) + "] = " +
                              FormatFloat(values->Get(static_cast<flatbuffers::uoffset_t>(k))) + " (column " +
                              std::to_string(c) + ", padding row " + std::to_string(r) +
                              ") is not 0; padding rows must hold zeros");
      }
    }
  }

  layer->info.encoding = WeightEncoding::kDenseColumns;
  layer->info.stored_values = std::uint64_t{rows} * cols;
  layer->info.nonzeros = CountNonzeros(*values);
  layer->dense_column_values = values->data();
  return Status::Ok();
}

Status CheckLayer(const Reporter& report, const fb::FullyConnected& fc, std::uint32_t expected_input,
                  std::size_t index, std::uint32_t format_version, LayerView* layer) {
  LayerInfo& info = layer->info;
  info.name = fc.name() != nullptr ? fc.name()->str() : std::string();
  info.input_size = fc.input_size();
  info.output_size = fc.output_size();

  if (info.input_size == 0) return report.Invalid("input_size = 0 must be at least 1");
  if (info.output_size == 0) return report.Invalid("output_size = 0 must be at least 1");
  if (index > 0 && info.input_size != expected_input) {
    return report.Invalid("input_size = " + std::to_string(info.input_size) + " does not match layer " +
                          std::to_string(index - 1) + "'s output_size = " + std::to_string(expected_input));
  }
  const std::uint64_t weight_count = std::uint64_t{info.input_size} * info.output_size;
  if (weight_count > std::numeric_limits<std::uint32_t>::max()) {
    return report.Unsupported("input_size x output_size = " + std::to_string(weight_count) +
                              " exceeds the runtime's index limit " +
                              std::to_string(std::numeric_limits<std::uint32_t>::max()));
  }

  switch (fc.activation()) {
    case fb::Activation::None: info.activation = Activation::kNone; break;
    case fb::Activation::Relu: info.activation = Activation::kRelu; break;
    default:
      return report.Invalid("activation = " + std::to_string(static_cast<int>(fc.activation())) +
                            " is not a known value (None = 0, Relu = 1)");
  }

  const auto* bias = fc.bias();
  if (bias == nullptr) {
    return report.Invalid("bias is missing; expected output_size = " + std::to_string(info.output_size) + " values");
  }
  if (bias->size() != info.output_size) {
    return report.Invalid("bias has " + std::to_string(bias->size()) + " values, expected output_size = " +
                          std::to_string(info.output_size));
  }
  if (Status status = CheckFinite(report, "bias", *bias); !status.ok()) return status;
  layer->bias = bias->data();

  // The generated verifier accepts union members it does not know without looking at
  // them, so the type is checked before the weights are touched.
  switch (fc.weights_type()) {
    case fb::Weights::DenseWeights:
      if (fc.weights() == nullptr) return report.Invalid("weights is missing");
      return CheckDense(report, *fc.weights_as_DenseWeights(), layer);
    case fb::Weights::CsrWeights:
      if (fc.weights() == nullptr) return report.Invalid("weights is missing");
      return CheckCsr(report, *fc.weights_as_CsrWeights(), layer);
    case fb::Weights::CscWeights:
      if (format_version < kCscFormatVersion) {
        return report.Invalid("weights_type = CscWeights needs format_version = 3, but the file has format_version = " +
                              std::to_string(format_version));
      }
      if (fc.weights() == nullptr) return report.Invalid("weights is missing");
      return CheckCsc(report, *fc.weights_as_CscWeights(), layer);
    case fb::Weights::DenseInt8Weights:
    case fb::Weights::CsrInt8Weights: {
      const bool dense = fc.weights_type() == fb::Weights::DenseInt8Weights;
      if (format_version < kFormatVersion4) {
        return report.Invalid(std::string("weights_type = ") + (dense ? "DenseInt8Weights" : "CsrInt8Weights") +
                              " needs format_version = 4, but the file has format_version = " +
                              std::to_string(format_version));
      }
      if (fc.weights() == nullptr) return report.Invalid("weights is missing");
      if (dense) return CheckDenseInt8(report, *fc.weights_as_DenseInt8Weights(), layer);
      return CheckCsrInt8(report, *fc.weights_as_CsrInt8Weights(), layer);
    }
    case fb::Weights::BlockCsrWeights:
      if (format_version < kFormatVersion4) {
        return report.Invalid(
            "weights_type = BlockCsrWeights needs format_version = 4, but the file has format_version = " +
            std::to_string(format_version));
      }
      if (fc.weights() == nullptr) return report.Invalid("weights is missing");
      return CheckBlockCsr(report, *fc.weights_as_BlockCsrWeights(), layer);
    case fb::Weights::DenseColumnWeights:
      if (format_version < kFormatVersion4) {
        return report.Invalid("weights_type = DenseColumnWeights needs format_version = 4, but the file has "
                              "format_version = " + std::to_string(format_version));
      }
      if (fc.weights() == nullptr) return report.Invalid("weights is missing");
      return CheckDenseColumns(report, *fc.weights_as_DenseColumnWeights(), layer);
    case fb::Weights::NONE:
      return report.Invalid(
          "weights is missing; expected DenseWeights, CsrWeights, CscWeights, DenseColumnWeights, BlockCsrWeights, "
          "DenseInt8Weights or CsrInt8Weights");
    default:
      return report.Invalid("weights_type = " + std::to_string(static_cast<int>(fc.weights_type())) +
                            " is not a known encoding (DenseWeights = 1, CsrWeights = 2, CscWeights = 3, "
                            "DenseColumnWeights = 4, BlockCsrWeights = 5, DenseInt8Weights = 6, "
                            "CsrInt8Weights = 7)");
  }
}

Status CheckStructure(const std::uint8_t* data, std::size_t size, std::string_view source,
                      const LoadOptions& options) {
  const Reporter report(source);
  if (size == 0) return report.Invalid("file is empty; a .frugal model starts with an 8-byte FlatBuffers header");
  if (size < kHeaderBytes) {
    return report.Invalid("file is " + std::to_string(size) +
                          " bytes, too short to be a .frugal model (the FlatBuffers header alone is 8 bytes)");
  }
  if (!fb::ModelBufferHasIdentifier(data)) {
    return report.Invalid("file identifier is " + QuoteIdentifier(data + 4) +
                          ", expected \"FRGL\"; this is not a .frugal model");
  }
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return report.Unsupported("file is " + std::to_string(size) + " bytes; FlatBuffers are limited to " +
                              std::to_string(FLATBUFFERS_MAX_BUFFER_SIZE) + " bytes");
  }
  flatbuffers::Verifier::Options verifier_options;
  verifier_options.max_depth = options.max_depth;
  verifier_options.max_tables = options.max_tables;
  verifier_options.check_alignment = true;
  flatbuffers::Verifier verifier(data, size, verifier_options);
  if (!fb::VerifyModelBuffer(verifier)) {
    return report.Invalid("FlatBuffers verification failed on " + std::to_string(size) +
                          " bytes: the file is truncated, corrupt, or deeper or larger than the limits (max_depth " +
                          std::to_string(options.max_depth) + ", max_tables " + std::to_string(options.max_tables) +
                          ")");
  }
  return Status::Ok();
}

// Checks the input gather against layer 0: required in format 2, optional in formats 3
// and 4, absent in format 1.
Status CheckInputIndices(const Reporter& report, const fb::Model& model, ModelView* view) {
  const std::uint32_t layer_inputs = view->layers.front().info.input_size;
  const auto* indices = model.input_indices();
  const std::uint32_t original = model.original_input_size();
  if (model.format_version() == kFormatVersion) {
    if (indices != nullptr || original != 0) {
      return report.Invalid("format_version = 1 has input_indices or original_input_size = " +
                            std::to_string(original) + "; these fields need format_version = 2 or later");
    }
    view->input_size = layer_inputs;
    return Status::Ok();
  }
  if (model.format_version() >= kCscFormatVersion && indices == nullptr) {
    if (original != 0) {
      return report.Invalid("original_input_size = " + std::to_string(original) +
                            " without input_indices; expected 0 when input_indices is absent");
    }
    view->input_size = layer_inputs;
    return Status::Ok();
  }
  if (indices == nullptr) return report.Invalid("format_version = 2 needs input_indices, which is missing");
  if (original == 0) return report.Invalid("original_input_size = 0 must be at least 1");
  if (indices->size() != layer_inputs) {
    return report.Invalid("input_indices has " + std::to_string(indices->size()) +
                          " entries, expected layer 0's input_size = " + std::to_string(layer_inputs));
  }
  for (flatbuffers::uoffset_t k = 0; k < indices->size(); ++k) {
    const std::uint32_t index = indices->Get(k);
    if (index >= original) {
      return report.Invalid("input_indices[" + std::to_string(k) + "] = " + std::to_string(index) +
                            " is out of range [0, " + std::to_string(original) + ")");
    }
    if (k > 0 && index <= indices->Get(k - 1)) {
      return report.Invalid("input_indices[" + std::to_string(k) + "] = " + std::to_string(index) +
                            " is not greater than input_indices[" + std::to_string(k - 1) + "] = " +
                            std::to_string(indices->Get(k - 1)) + "; indices must be strictly increasing");
    }
  }
  view->input_size = original;
  view->input_indices = indices->data();
  return Status::Ok();
}

}  // namespace

Status VerifyModel(const std::uint8_t* data, std::size_t size, std::string_view source,
                   const LoadOptions& options, ModelView* view) {
  if (Status status = CheckStructure(data, size, source, options); !status.ok()) return status;

  const fb::Model& model = *fb::GetModel(data);
  Reporter report(source);
  if (model.format_version() < kFormatVersion || model.format_version() > kLatestFormatVersion) {
    return report.Unsupported("format_version = " + std::to_string(model.format_version()) +
                              " is not supported; this runtime reads versions " + std::to_string(kFormatVersion) +
                              " to " + std::to_string(kLatestFormatVersion));
  }
  const auto* layers = model.layers();
  if (layers == nullptr || layers->size() == 0) {
    return report.Invalid("layers is missing or empty; a model needs at least 1 layer");
  }

  ModelView result;
  if (const fb::Metadata* metadata = model.metadata(); metadata != nullptr) {
    result.input_scale = metadata->input_scale();
    result.class_count = metadata->class_count();
    if (metadata->producer() != nullptr) result.producer = metadata->producer()->str();
    if (metadata->description() != nullptr) result.description = metadata->description()->str();
  }
  if (!std::isfinite(result.input_scale) || !(result.input_scale > 0.0f)) {
    return report.Invalid("metadata.input_scale = " + FormatFloat(result.input_scale) +
                          " must be finite and greater than 0");
  }

  result.layers.resize(layers->size());
  std::uint32_t previous_output = 0;
  for (flatbuffers::uoffset_t i = 0; i < layers->size(); ++i) {
    const fb::FullyConnected* fc = layers->Get(i);
    report.SetLayer(i, fc->name());
    if (Status status = CheckLayer(report, *fc, previous_output, i, model.format_version(), &result.layers[i]);
        !status.ok()) {
      return status;
    }
    previous_output = fc->output_size();
  }

  Reporter model_report(source);
  if (Status status = CheckInputIndices(model_report, model, &result); !status.ok()) return status;

  // The interpreter allocates the model's input size in floats. Every other buffer is
  // backed by bytes of the file (a bias value per output), and so is a dense layer 0's
  // input, but neither a CSR layer 0's input_size nor original_input_size is: without
  // this limit a file of a few hundred bytes could make the interpreter allocate 16 GiB.
  const std::uint64_t input_bytes = std::uint64_t{result.input_size} * sizeof(float);
  if (input_bytes > options.max_file_bytes) {
    const bool gathered = result.input_indices != nullptr;
    if (!gathered) report.SetLayer(0, layers->Get(0)->name());
    return (gathered ? model_report : report)
        .Invalid(std::string(gathered ? "original_input_size" : "input_size") + " = " +
                 std::to_string(result.input_size) + " needs a " + std::to_string(input_bytes) +
                 "-byte input buffer, over the limit max_file_bytes = " + std::to_string(options.max_file_bytes));
  }
  if (result.class_count != 0 && result.class_count != previous_output) {
    return model_report.Invalid("metadata.class_count = " + std::to_string(result.class_count) +
                                " does not match the last layer's output_size = " + std::to_string(previous_output) +
                                " (expected 0 or " + std::to_string(previous_output) + ")");
  }

  *view = std::move(result);
  return Status::Ok();
}

}  // namespace frugal::internal
