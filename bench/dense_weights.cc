// Expands the layers of a verified .frugal buffer into dense matrices.
#include "dense_weights.h"

#include "frugal/frugal_model_generated.h"
#include "frugal/runtime.h"

namespace frugal::bench {

std::vector<DenseLayer> ExtractDenseLayers(const std::uint8_t* data, std::size_t size) {
  (void)size;  // the buffer was verified against its size when the model was loaded
  const fb::Model* model = fb::GetModel(data);
  std::vector<DenseLayer> layers;
  for (const fb::FullyConnected* source : *model->layers()) {
    DenseLayer layer;
    layer.rows = source->output_size();
    layer.cols = source->input_size();
    layer.relu = source->activation() == fb::Activation::Relu;
    layer.bias.assign(source->bias()->begin(), source->bias()->end());
    layer.weights.assign(std::size_t{layer.rows} * layer.cols, 0.0f);
    if (const fb::DenseWeights* dense = source->weights_as_DenseWeights()) {
      layer.weights.assign(dense->values()->begin(), dense->values()->end());
    } else if (const fb::CsrWeights* csr = source->weights_as_CsrWeights()) {
      const auto& row_ptr = *csr->row_ptr();
      const auto& col_idx = *csr->col_idx();
      const auto& values = *csr->values();
      for (std::uint32_t r = 0; r < layer.rows; ++r) {
        for (std::uint32_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
          layer.weights[std::size_t{r} * layer.cols + col_idx[k]] = values[k];
        }
      }
    } else if (const fb::CscWeights* csc = source->weights_as_CscWeights()) {
      const auto& col_ptr = *csc->col_ptr();
      const auto& row_idx = *csc->row_idx();
      const auto& values = *csc->values();
      for (std::uint32_t c = 0; c < layer.cols; ++c) {
        for (std::uint32_t k = col_ptr[c]; k < col_ptr[c + 1]; ++k) {
          layer.weights[std::size_t{row_idx[k]} * layer.cols + c] = values[k];
        }
      }
    } else if (const fb::DenseInt8Weights* int8 = source->weights_as_DenseInt8Weights()) {
      // Int8 layers are dequantized (scale * value), so the float baselines compute the
      // same function as the int8 kernels, up to float rounding.
      const auto& values = *int8->values();
      const auto& scales = *int8->scales();
      for (std::uint32_t r = 0; r < layer.rows; ++r) {
        for (std::uint32_t c = 0; c < layer.cols; ++c) {
          const std::size_t cell = std::size_t{r} * layer.cols + c;
          layer.weights[cell] = scales[r] * static_cast<float>(values[static_cast<flatbuffers::uoffset_t>(cell)]);
        }
      }
    } else if (const fb::CsrInt8Weights* csr_int8 = source->weights_as_CsrInt8Weights()) {
      const auto& row_ptr = *csr_int8->row_ptr();
      const auto& col_idx = *csr_int8->col_idx();
      const auto& values = *csr_int8->values();
      const auto& scales = *csr_int8->scales();
      for (std::uint32_t r = 0; r < layer.rows; ++r) {
        for (std::uint32_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
          layer.weights[std::size_t{r} * layer.cols + col_idx[k]] = scales[r] * static_cast<float>(values[k]);
        }
      }
    } else if (const fb::BlockCsrWeights* blocks = source->weights_as_BlockCsrWeights()) {
      // Blocks may overlap, with 0 where an earlier block holds the weight, so values add.
      const std::uint32_t block_rows = blocks->block_rows();
      const std::uint32_t block_cols = blocks->block_cols();
      const auto& block_row_ptr = *blocks->block_row_ptr();
      const auto* col_u16 = blocks->block_col_idx_u16();
      const auto* col_u32 = blocks->block_col_idx_u32();
      const auto& values = *blocks->values();
      for (std::uint32_t b = 0; b + 1 < block_row_ptr.size(); ++b) {
        for (std::uint32_t k = block_row_ptr[b]; k < block_row_ptr[b + 1]; ++k) {
          const std::uint32_t col = col_u16 != nullptr ? col_u16->Get(k) : col_u32->Get(k);
          for (std::uint32_t i = 0; i < block_rows && b * block_rows + i < layer.rows; ++i) {
            for (std::uint32_t j = 0; j < block_cols; ++j) {
              const std::size_t index = (std::size_t{k} * block_rows + i) * block_cols + j;
              layer.weights[std::size_t{b * block_rows + i} * layer.cols + col + j] +=
                  values[static_cast<flatbuffers::uoffset_t>(index)];
            }
          }
        }
      }
    } else if (const fb::DenseColumnWeights* columns = source->weights_as_DenseColumnWeights()) {
      const auto& values = *columns->values();
      const auto stride = static_cast<std::size_t>(DenseColumnStride(layer.rows));
      for (std::uint32_t c = 0; c < layer.cols; ++c) {
        for (std::uint32_t r = 0; r < layer.rows; ++r) {
          layer.weights[std::size_t{r} * layer.cols + c] = values[static_cast<flatbuffers::uoffset_t>(c * stride + r)];
        }
      }
    }
    layers.push_back(std::move(layer));
  }

  // A model that reads only some inputs (format 2) gathers them before layer 0. The dense
  // baselines instead see every input, with zero weights in the columns it never reads.
  if (const auto* indices = model->input_indices(); indices != nullptr && !layers.empty()) {
    DenseLayer& first = layers.front();
    const std::uint32_t full_cols = model->original_input_size();
    std::vector<float> widened(std::size_t{first.rows} * full_cols, 0.0f);
    for (std::uint32_t r = 0; r < first.rows; ++r) {
      for (std::uint32_t c = 0; c < first.cols; ++c) {
        widened[std::size_t{r} * full_cols + indices->Get(c)] = first.weights[std::size_t{r} * first.cols + c];
      }
    }
    first.weights = std::move(widened);
    first.cols = full_cols;
  }
  return layers;
}

}  // namespace frugal::bench
