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
