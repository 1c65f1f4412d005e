// Turns a validated checkpoint into a .frugal FlatBuffer: threshold pruning, per-layer
// dense or CSR encoding, metadata, and a final check by the runtime's own loader.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "frugal/atomic_file.h"
#include "frugal/converter/converter.h"
#include "frugal/frugal_model_generated.h"
#include "frugal/runtime.h"

#ifndef FRUGAL_VERSION_STRING
#define FRUGAL_VERSION_STRING "unknown"
#endif

namespace frugal::converter {
namespace {

constexpr std::uint32_t kFormatVersion = 1;

// FlatBuffers offsets are signed 32-bit, so a buffer must stay below 2 GiB. Tables,
// strings and vector lengths add a little to the array bytes counted here.
constexpr std::uint64_t kMaxPayloadBytes = (std::uint64_t{1} << 31) - (std::uint64_t{1} << 20);

// A layer after thresholding, with its chosen encoding.
struct PreparedLayer {
  const Layer* layer = nullptr;
  std::vector<float> weights;  // thresholded, row-major [output_size, input_size]
  std::uint64_t nonzeros = 0;
  Encoding encoding = Encoding::kDense;
};

PreparedLayer Prepare(const Layer& layer, const ConvertOptions& options) {
  PreparedLayer prepared;
  prepared.layer = &layer;
  prepared.weights = layer.weights;
  for (float& weight : prepared.weights) {
    // -0.0f also becomes +0.0f here, so every stored zero is the same bit pattern.
    if (std::fabs(weight) <= options.threshold) weight = 0.0f;
    if (weight != 0.0f) ++prepared.nonzeros;
  }
  prepared.encoding = ChooseEncoding(options.encoding, layer.output_size, layer.input_size, prepared.nonzeros);
  return prepared;
}

std::uint64_t WeightBytes(const PreparedLayer& prepared) {
  const Layer& layer = *prepared.layer;
  return prepared.encoding == Encoding::kCsr ? CsrWeightBytes(layer.output_size, prepared.nonzeros)
                                             : DenseWeightBytes(layer.output_size, layer.input_size);
}

fb::Activation ToSchema(Activation activation) {
  return activation == Activation::kRelu ? fb::Activation::Relu : fb::Activation::None;
}

// Builds the file with each layer's chosen encoding, or with every layer dense when
// `all_dense` is set (for the size comparison in the report).
std::vector<std::uint8_t> BuildBuffer(const Checkpoint& checkpoint, const std::vector<PreparedLayer>& layers,
                                      const std::string& description, bool all_dense) {
  flatbuffers::FlatBufferBuilder builder(1024);
  std::vector<flatbuffers::Offset<fb::FullyConnected>> layer_offsets;
  for (const PreparedLayer& prepared : layers) {
    const Layer& layer = *prepared.layer;
    const auto name = builder.CreateString(layer.name);
    flatbuffers::Offset<void> weights;
    fb::Weights weights_type;
    if (prepared.encoding == Encoding::kCsr && !all_dense) {
      const CsrMatrix csr = PackCsr(prepared.weights, layer.output_size, layer.input_size);
      const auto row_ptr = builder.CreateVector(csr.row_ptr);
      const auto col_idx = builder.CreateVector(csr.col_idx);
      const auto values = builder.CreateVector(csr.values);
      weights = fb::CreateCsrWeights(builder, row_ptr, col_idx, values).Union();
      weights_type = fb::Weights::CsrWeights;
    } else {
      const auto values = builder.CreateVector(prepared.weights);
      weights = fb::CreateDenseWeights(builder, values).Union();
      weights_type = fb::Weights::DenseWeights;
    }
    const auto bias = builder.CreateVector(layer.bias);
    layer_offsets.push_back(fb::CreateFullyConnected(builder, name, layer.input_size, layer.output_size,
                                                     ToSchema(layer.activation), weights_type, weights,
                                                     bias));
  }
  const auto layer_vector = builder.CreateVector(layer_offsets);
  const auto producer = builder.CreateString(std::string("frugal-convert ") + FRUGAL_VERSION_STRING);
  const auto description_offset = builder.CreateString(description);
  const auto metadata = fb::CreateMetadata(builder, producer, checkpoint.input_scale, checkpoint.class_count,
                                           description_offset);
  fb::FinishModelBuffer(builder, fb::CreateModel(builder, kFormatVersion, layer_vector, metadata));
  return std::vector<std::uint8_t>(builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize());
}

// Loads the buffer with the runtime, which runs the FlatBuffers verifier and checks every
// .frugal invariant, and compares the nonzero counts it reports with what was built.
void CheckWithRuntime(const std::vector<std::uint8_t>& buffer, const std::vector<PreparedLayer>& layers,
                      const std::string& output_name) {
  std::unique_ptr<Model> model;
  const Status status = Model::FromBuffer(buffer.data(), buffer.size(), &model, LoadOptions{}, output_name);
  if (!status.ok()) {
    throw ConvertError("internal error (a converter bug; please report it): the runtime rejects the "
                       "converted model: " + status.message());
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerInfo& info = model->layer(i);
    if (info.nonzeros != layers[i].nonzeros) {
      throw ConvertError("internal error: " + output_name + ": layer " + std::to_string(i) + " (" +
                         info.name + ") has " + std::to_string(info.nonzeros) + " nonzeros after loading, " +
                         "but " + std::to_string(layers[i].nonzeros) + " were written");
    }
  }
}

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100.0 * fraction);
  return text;
}

}  // namespace

const char* EncodingName(Encoding encoding) { return encoding == Encoding::kCsr ? "csr" : "dense"; }

CsrMatrix PackCsr(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols) {
  CsrMatrix csr;
  csr.row_ptr.reserve(std::size_t{rows} + 1);
  csr.row_ptr.push_back(0);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = weights.data() + r * cols;
    for (std::uint32_t c = 0; c < cols; ++c) {
      if (row[c] == 0.0f) continue;
      csr.col_idx.push_back(c);
      csr.values.push_back(row[c]);
    }
    csr.row_ptr.push_back(static_cast<std::uint32_t>(csr.values.size()));
  }
  return csr;
}

std::uint64_t DenseWeightBytes(std::uint32_t rows, std::uint32_t cols) {
  return std::uint64_t{rows} * cols * sizeof(float);
}

std::uint64_t CsrWeightBytes(std::uint32_t rows, std::uint64_t nonzeros) {
  return (std::uint64_t{rows} + 1) * sizeof(std::uint32_t) + nonzeros * (sizeof(std::uint32_t) + sizeof(float));
}

Encoding ChooseEncoding(EncodingPolicy policy, std::uint32_t rows, std::uint32_t cols, std::uint64_t nonzeros) {
  switch (policy) {
    case EncodingPolicy::kDense:
      return Encoding::kDense;
    case EncodingPolicy::kCsr:
      return Encoding::kCsr;
    case EncodingPolicy::kAuto:
      break;
  }
  return CsrWeightBytes(rows, nonzeros) < DenseWeightBytes(rows, cols) ? Encoding::kCsr : Encoding::kDense;
}

Conversion Convert(const Checkpoint& checkpoint, const ConvertOptions& options, const std::string& output_name) {
  if (!std::isfinite(options.threshold) || options.threshold < 0.0f) {
    throw ConvertError("threshold " + std::to_string(options.threshold) + " is not a finite number >= 0");
  }
  if (checkpoint.layers.empty()) throw ConvertError(output_name + ": the checkpoint has no layers");

  std::vector<PreparedLayer> layers;
  std::uint64_t payload = 0;  // of the larger of the chosen and the all-dense encoding
  for (const Layer& layer : checkpoint.layers) {
    layers.push_back(Prepare(layer, options));
    payload += std::max(WeightBytes(layers.back()), DenseWeightBytes(layer.output_size, layer.input_size)) +
               std::uint64_t{layer.output_size} * sizeof(float);
  }
  if (payload > kMaxPayloadBytes) {
    throw ConvertError(output_name + ": the model needs " + std::to_string(payload) +
                       " bytes of arrays, more than a FlatBuffer can hold (2 GiB)");
  }

  const std::string description = options.description.value_or(checkpoint.description);
  Conversion conversion;
  conversion.buffer = BuildBuffer(checkpoint, layers, description, /*all_dense=*/false);
  conversion.dense_file_bytes = BuildBuffer(checkpoint, layers, description, /*all_dense=*/true).size();
  CheckWithRuntime(conversion.buffer, layers, output_name);

  for (const PreparedLayer& prepared : layers) {
    const Layer& layer = *prepared.layer;
    conversion.layers.push_back({layer.name, layer.output_size, layer.input_size, prepared.nonzeros,
                                 prepared.encoding,
                                 WeightBytes(prepared) + std::uint64_t{layer.output_size} * sizeof(float)});
  }
  return conversion;
}

Conversion ConvertFile(const std::string& input, const std::string& output, const ConvertOptions& options) {
  std::error_code error;
  if (std::filesystem::equivalent(input, output, error)) {
    throw ConvertError(output + ": the output path is the input checkpoint; choose another output file");
  }
  const Checkpoint checkpoint = ReadCheckpoint(input);
  Conversion conversion = Convert(checkpoint, options, output);
  try {
    WriteFileAtomically(output, std::string_view(reinterpret_cast<const char*>(conversion.buffer.data()),
                                                 conversion.buffer.size()));
  } catch (const std::runtime_error& failure) {
    throw ConvertError(failure.what());
  }
  return conversion;
}

std::string FormatSummary(const Conversion& conversion) {
  std::size_t name_width = 5;  // "layer"
  for (const LayerSummary& layer : conversion.layers) name_width = std::max(name_width, layer.name.size());

  std::string text;
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %8s %8s %10s %8s %8s %12s\n", static_cast<int>(name_width), "layer",
                "rows", "columns", "nonzeros", "density", "encoding", "bytes");
  text += line;
  std::uint64_t weights = 0;
  std::uint64_t nonzeros = 0;
  std::uint64_t bytes = 0;
  for (const LayerSummary& layer : conversion.layers) {
    const std::uint64_t count = std::uint64_t{layer.rows} * layer.columns;
    std::snprintf(line, sizeof line, "%-*s %8u %8u %10llu %8s %8s %12llu\n", static_cast<int>(name_width),
                  layer.name.c_str(), layer.rows, layer.columns, static_cast<unsigned long long>(layer.nonzeros),
                  Percent(static_cast<double>(layer.nonzeros) / static_cast<double>(count)).c_str(),
                  EncodingName(layer.encoding), static_cast<unsigned long long>(layer.bytes));
    text += line;
    weights += count;
    nonzeros += layer.nonzeros;
    bytes += layer.bytes;
  }
  std::snprintf(line, sizeof line, "%-*s %8s %8s %10llu %8s %8s %12llu\n", static_cast<int>(name_width), "total",
                "", "", static_cast<unsigned long long>(nonzeros),
                Percent(static_cast<double>(nonzeros) / static_cast<double>(weights)).c_str(), "",
                static_cast<unsigned long long>(bytes));
  text += line;
  std::snprintf(line, sizeof line, "file: %zu bytes; with every layer dense: %zu bytes (%.2fx)\n",
                conversion.buffer.size(), conversion.dense_file_bytes,
                static_cast<double>(conversion.dense_file_bytes) / static_cast<double>(conversion.buffer.size()));
  text += line;
  return text;
}

}  // namespace frugal::converter
