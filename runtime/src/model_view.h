// A verified model as the interpreter sees it: per-layer descriptions plus pointers into
// the model's bytes. Internal to the runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/runtime.h"

namespace frugal::internal {

// One layer. The pointers point into the verified FlatBuffer and are valid as long as its
// bytes are. For kDense only dense_values is set, for kCsr only the three CSR arrays,
// for kCsc only the three CSC arrays, for kDenseColumns only dense_column_values, for
// kBlockCsr the block arrays (one of the two column index arrays) and info.block_rows and
// info.block_cols. kDenseInt8 sets int8_values and scales, and kCsrInt8 sets row_ptr,
// col_idx, int8_values and scales.
struct LayerView {
  LayerInfo info;
  const float* bias = nullptr;            // info.output_size values
  const float* dense_values = nullptr;    // output_size * input_size values, row-major
  const std::uint32_t* row_ptr = nullptr; // output_size + 1 entries
  const std::uint32_t* col_idx = nullptr; // nnz entries
  const float* csr_values = nullptr;      // nnz entries
  const std::uint32_t* col_ptr = nullptr; // input_size + 1 entries
  const std::uint32_t* row_idx = nullptr; // nnz entries
  const float* csc_values = nullptr;      // nnz entries
  const std::int8_t* int8_values = nullptr;  // kDenseInt8: output_size * input_size; kCsrInt8: nnz
  const float* scales = nullptr;              // output_size entries, for both int8 encodings
  const std::uint32_t* block_row_ptr = nullptr;  // ceil(output_size / block_rows) + 1 entries
  const std::uint16_t* block_col_u16 = nullptr;  // one per block, or null
  const std::uint32_t* block_col_u32 = nullptr;  // one per block, or null
  const float* block_values = nullptr;           // blocks x block_rows x block_cols entries
  // input_size * DenseColumnStride(output_size) values, column-major, zero padding rows.
  const float* dense_column_values = nullptr;
};

struct ModelView {
  std::vector<LayerView> layers;
  // The caller's input count: layer 0's input_size, or original_input_size in format 2.
  std::uint32_t input_size = 0;
  // Format 2: layer 0's input k is input[input_indices[k]]; layers[0].info.input_size
  // entries in the verified buffer. Null in format 1.
  const std::uint32_t* input_indices = nullptr;
  float input_scale = 1.0f;
  std::uint32_t class_count = 0;
  std::string producer;
  std::string description;
};

// Runs the FlatBuffers verifier over data[0, size) with the limits in `options`, then
// checks every invariant of schema/README.md. On success fills *view; on failure returns
// kInvalidModel or kUnsupported with a message that starts with `source`.
Status VerifyModel(const std::uint8_t* data, std::size_t size, std::string_view source,
                   const LoadOptions& options, ModelView* view);

}  // namespace frugal::internal

namespace frugal {

// Defined here so that the interpreter can read the view of the model it runs.
struct Model::Impl {
  std::vector<std::uint8_t> owned_bytes;  // the file's bytes for FromFile; empty for FromBuffer
  std::size_t file_bytes = 0;
  std::string source_name;
  internal::ModelView view;
};

}  // namespace frugal
