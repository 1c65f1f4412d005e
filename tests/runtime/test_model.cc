// Builds .frugal test buffers with the flatc-generated API.
#include "test_model.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "frugal/frugal_model_generated.h"

namespace frugal::testing {
namespace {

// A layer with its name, sizes and activation set, and no weights yet.
TestLayer NamedLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size, bool relu) {
  TestLayer layer;
  layer.name = std::move(name);
  layer.input_size = input_size;
  layer.output_size = output_size;
  layer.relu = relu;
  return layer;
}

}  // namespace

TestLayer DenseLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                     std::vector<float> weights, std::vector<float> bias, bool relu) {
  TestLayer layer = NamedLayer(std::move(name), input_size, output_size, relu);
  layer.dense_values = std::move(weights);
  layer.bias = std::move(bias);
  return layer;
}

TestLayer CsrLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                   const std::vector<float>& weights, std::vector<float> bias, bool relu) {
  TestLayer layer = NamedLayer(std::move(name), input_size, output_size, relu);
  layer.csr = true;
  layer.bias = std::move(bias);
  layer.row_ptr.push_back(0);
  for (std::uint32_t r = 0; r < output_size; ++r) {
    for (std::uint32_t c = 0; c < input_size; ++c) {
      const float w = weights[static_cast<std::size_t>(r) * input_size + c];
      if (w != 0.0f) {
        layer.col_idx.push_back(c);
        layer.csr_values.push_back(w);
      }
    }
    layer.row_ptr.push_back(static_cast<std::uint32_t>(layer.col_idx.size()));
  }
  return layer;
}

TestLayer CscLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                   const std::vector<float>& weights, std::vector<float> bias, bool relu) {
  TestLayer layer = NamedLayer(std::move(name), input_size, output_size, relu);
  layer.csc = true;
  layer.bias = std::move(bias);
  layer.col_ptr.push_back(0);
  for (std::uint32_t c = 0; c < input_size; ++c) {
    for (std::uint32_t r = 0; r < output_size; ++r) {
      const float w = weights[static_cast<std::size_t>(r) * input_size + c];
      if (w != 0.0f) {
        layer.row_idx.push_back(r);
        layer.csc_values.push_back(w);
      }
    }
    layer.col_ptr.push_back(static_cast<std::uint32_t>(layer.row_idx.size()));
  }
  return layer;
}

TestLayer Int8Layer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                    const std::vector<float>& weights, std::vector<float> bias, bool relu, bool csr) {
  TestLayer layer = NamedLayer(std::move(name), input_size, output_size, relu);
  layer.int8 = true;
  layer.csr = csr;
  layer.bias = std::move(bias);
  if (csr) layer.row_ptr.push_back(0);
  for (std::uint32_t r = 0; r < output_size; ++r) {
    const float* row = weights.data() + static_cast<std::size_t>(r) * input_size;
    float max_abs = 0.0f;
    for (std::uint32_t c = 0; c < input_size; ++c) max_abs = std::max(max_abs, std::fabs(row[c]));
    const float scale = max_abs / 127.0f;
    layer.scales.push_back(scale);
    for (std::uint32_t c = 0; c < input_size; ++c) {
      const float q = scale == 0.0f ? 0.0f : std::clamp(std::nearbyint(row[c] / scale), -127.0f, 127.0f);
      if (!csr) {
        layer.int8_values.push_back(static_cast<std::int8_t>(q));
      } else if (q != 0.0f) {
        layer.col_idx.push_back(c);
        layer.int8_values.push_back(static_cast<std::int8_t>(q));
      }
    }
    if (csr) layer.row_ptr.push_back(static_cast<std::uint32_t>(layer.col_idx.size()));
  }
  return layer;
}

TestLayer BlockCsrLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                        const std::vector<float>& weights, std::vector<float> bias, bool relu,
                        std::uint32_t block_rows, std::uint32_t block_cols, bool narrow) {
  TestLayer layer = NamedLayer(std::move(name), input_size, output_size, relu);
  layer.block_csr = true;
  layer.block_rows = block_rows;
  layer.block_cols = block_cols;
  layer.bias = std::move(bias);
  std::vector<std::uint32_t> columns;
  auto weight = [&](std::uint32_t r, std::uint32_t c) {
    return r < output_size ? weights[static_cast<std::size_t>(r) * input_size + c] : 0.0f;
  };
  layer.block_row_ptr.push_back(0);
  for (std::uint32_t base = 0; base < output_size; base += block_rows) {
    std::uint32_t covered = 0;  // columns below this are in an earlier block of this block row
    for (std::uint32_t c = 0; c < input_size; ++c) {
      bool nonzero = false;
      for (std::uint32_t i = 0; i < block_rows; ++i) nonzero = nonzero || weight(base + i, c) != 0.0f;
      if (!nonzero || c < covered) continue;
      const std::uint32_t start = std::min(c, input_size - block_cols);
      columns.push_back(start);
      for (std::uint32_t i = 0; i < block_rows; ++i) {
        for (std::uint32_t j = 0; j < block_cols; ++j) {
          layer.block_values.push_back(start + j < covered ? 0.0f : weight(base + i, start + j));
        }
      }
      covered = start + block_cols;
    }
    layer.block_row_ptr.push_back(static_cast<std::uint32_t>(columns.size()));
  }
  if (narrow) {
    layer.block_col_u16.emplace(columns.begin(), columns.end());
  } else {
    layer.block_col_u32 = columns;
  }
  return layer;
}

TestLayer DenseColumnsLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                            const std::vector<float>& weights, std::vector<float> bias, bool relu) {
  TestLayer layer = NamedLayer(std::move(name), input_size, output_size, relu);
  layer.dense_columns = true;
  layer.bias = std::move(bias);
  const std::size_t stride = (std::size_t{output_size} + 7) / 8 * 8;
  layer.column_values.assign(stride * input_size, 0.0f);
  for (std::uint32_t c = 0; c < input_size; ++c) {
    for (std::uint32_t r = 0; r < output_size; ++r) {
      layer.column_values[c * stride + r] = weights[static_cast<std::size_t>(r) * input_size + c];
    }
  }
  return layer;
}

std::vector<float> RandomWeights(std::mt19937& rng, std::size_t count, double zero_fraction) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::bernoulli_distribution zero(zero_fraction);
  std::vector<float> weights(count);
  for (float& w : weights) {
    const float v = value(rng);
    w = zero(rng) ? 0.0f : v;
  }
  return weights;
}

TestModel RandomModel(std::uint32_t seed, const std::vector<std::uint32_t>& sizes,
                      const std::vector<bool>& csr, double zero_fraction) {
  std::mt19937 rng(seed);
  TestModel model;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    const std::uint32_t in = sizes[i];
    const std::uint32_t out = sizes[i + 1];
    std::vector<float> weights = RandomWeights(rng, std::size_t{in} * out, zero_fraction);
    std::vector<float> bias = RandomWeights(rng, out, 0.0);
    const bool relu = i + 2 < sizes.size();
    const std::string name = "fc" + std::to_string(i + 1);
    model.layers.push_back(csr[i] ? CsrLayer(name, in, out, weights, std::move(bias), relu)
                                  : DenseLayer(name, in, out, std::move(weights), std::move(bias), relu));
  }
  return model;
}

std::vector<std::uint8_t> Serialize(const TestModel& model) {
  flatbuffers::FlatBufferBuilder builder;
  std::vector<flatbuffers::Offset<fb::FullyConnected>> layers;
  for (const TestLayer& layer : model.layers) {
    const auto name = builder.CreateString(layer.name);
    flatbuffers::Offset<void> weights;
    fb::Weights type = fb::Weights::NONE;
    if (!layer.omit_weights) {
      const std::vector<float>* scales = layer.omit_scales ? nullptr : &layer.scales;
      if (layer.int8 && layer.csr) {
        weights =
            fb::CreateCsrInt8WeightsDirect(builder, &layer.row_ptr, &layer.col_idx, &layer.int8_values, scales).Union();
        type = fb::Weights::CsrInt8Weights;
      } else if (layer.int8) {
        weights = fb::CreateDenseInt8WeightsDirect(builder, &layer.int8_values, scales).Union();
        type = fb::Weights::DenseInt8Weights;
      } else if (layer.block_csr) {
        const auto row_ptr = builder.CreateVector(layer.block_row_ptr);
        flatbuffers::Offset<flatbuffers::Vector<std::uint16_t>> col_u16;
        flatbuffers::Offset<flatbuffers::Vector<std::uint32_t>> col_u32;
        if (layer.block_col_u16.has_value()) col_u16 = builder.CreateVector(*layer.block_col_u16);
        if (layer.block_col_u32.has_value()) col_u32 = builder.CreateVector(*layer.block_col_u32);
        const auto values = builder.CreateVector(layer.block_values);
        weights = fb::CreateBlockCsrWeights(builder, layer.block_rows, layer.block_cols, row_ptr, col_u16, col_u32,
                                            values)
                      .Union();
        type = fb::Weights::BlockCsrWeights;
      } else if (layer.dense_columns) {
        // An empty column_values writes no values vector, for the loader's rejection tests.
        const std::vector<float>* values = layer.column_values.empty() ? nullptr : &layer.column_values;
        weights = fb::CreateDenseColumnWeightsDirect(builder, values).Union();
        type = fb::Weights::DenseColumnWeights;
      } else if (layer.csc) {
        weights = fb::CreateCscWeightsDirect(builder, &layer.col_ptr, &layer.row_idx, &layer.csc_values).Union();
        type = fb::Weights::CscWeights;
      } else if (layer.csr) {
        weights = fb::CreateCsrWeightsDirect(builder, &layer.row_ptr, &layer.col_idx, &layer.csr_values).Union();
        type = fb::Weights::CsrWeights;
      } else {
        weights = fb::CreateDenseWeightsDirect(builder, &layer.dense_values).Union();
        type = fb::Weights::DenseWeights;
      }
    }
    if (layer.weights_type.has_value()) type = static_cast<fb::Weights>(*layer.weights_type);
    const auto bias = layer.omit_bias ? flatbuffers::Offset<flatbuffers::Vector<float>>()
                                      : builder.CreateVector(layer.bias);
    const auto activation = layer.activation.has_value() ? static_cast<fb::Activation>(*layer.activation)
                                                         : (layer.relu ? fb::Activation::Relu : fb::Activation::None);
    layers.push_back(fb::CreateFullyConnected(builder, name, layer.input_size, layer.output_size, activation, type,
                                              weights, bias));
  }
  const auto layer_vector = model.omit_layers ? flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::FullyConnected>>>()
                                              : builder.CreateVector(layers);
  flatbuffers::Offset<fb::Metadata> metadata;
  if (!model.omit_metadata) {
    metadata = fb::CreateMetadataDirect(builder, model.producer.c_str(), model.input_scale, model.class_count,
                                        "built by the runtime tests");
  }
  const auto root = fb::CreateModel(builder, model.format_version, layer_vector, metadata);
  builder.Finish(root, model.file_identifier.c_str());
  const std::uint8_t* data = builder.GetBufferPointer();
  return std::vector<std::uint8_t>(data, data + builder.GetSize());
}

void WriteBytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error(path.string() + ": cannot write the test file");
}

}  // namespace frugal::testing
