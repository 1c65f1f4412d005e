// Builds random .frugal multilayer perceptrons with FlatBufferBuilder.
#include "random_model.h"

#include <random>
#include <string>

#include "frugal/frugal_model_generated.h"

namespace frugal::bench {

std::vector<std::uint8_t> BuildRandomMlp(const std::vector<std::uint32_t>& sizes, double sparsity, bool csr,
                                         std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> weight(-1.0f, 1.0f);
  std::uniform_real_distribution<float> bias_value(-0.1f, 0.1f);
  std::bernoulli_distribution zero(sparsity);

  flatbuffers::FlatBufferBuilder builder;
  std::vector<flatbuffers::Offset<fb::FullyConnected>> layers;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    const std::uint32_t cols = sizes[i];
    const std::uint32_t rows = sizes[i + 1];
    std::vector<float> dense(std::size_t{rows} * cols);
    for (float& w : dense) w = zero(rng) ? 0.0f : weight(rng);
    std::vector<float> bias(rows);
    for (float& b : bias) b = bias_value(rng);

    flatbuffers::Offset<void> weights;
    fb::Weights weights_type = fb::Weights::DenseWeights;
    if (csr) {
      std::vector<std::uint32_t> row_ptr{0}, col_idx;
      std::vector<float> values;
      for (std::uint32_t r = 0; r < rows; ++r) {
        for (std::uint32_t c = 0; c < cols; ++c) {
          if (const float w = dense[std::size_t{r} * cols + c]; w != 0.0f) {
            col_idx.push_back(c);
            values.push_back(w);
          }
        }
        row_ptr.push_back(static_cast<std::uint32_t>(col_idx.size()));
      }
      weights = fb::CreateCsrWeightsDirect(builder, &row_ptr, &col_idx, &values).Union();
      weights_type = fb::Weights::CsrWeights;
    } else {
      weights = fb::CreateDenseWeightsDirect(builder, &dense).Union();
    }
    const bool last = i + 2 == sizes.size();
    const std::string name = "fc" + std::to_string(i + 1);
    layers.push_back(fb::CreateFullyConnectedDirect(builder, name.c_str(), cols, rows,
                                                    last ? fb::Activation::None : fb::Activation::Relu,
                                                    weights_type, weights, &bias));
  }
  const auto metadata = fb::CreateMetadataDirect(builder, "frugal bench random MLP", 1.0f / 255.0f, sizes.back());
  builder.Finish(fb::CreateModelDirect(builder, 1, &layers, metadata), "FRGL");
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

}  // namespace frugal::bench
