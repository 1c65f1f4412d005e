// Turns a validated checkpoint into a .frugal FlatBuffer: threshold pruning, per-layer
// dense, CSR, CSC or block CSR encoding, optional int8 quantization, metadata, and a final
// check by the runtime's own loader.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "frugal/atomic_file.h"
#include "frugal/converter/converter.h"
#include "frugal/converter/import.h"
#include "frugal/frugal_model_generated.h"
#include "frugal/runtime.h"

#ifndef FRUGAL_VERSION_STRING
#define FRUGAL_VERSION_STRING "unknown"
#endif

namespace frugal::converter {
namespace {

constexpr std::uint32_t kFormatVersion = 1;
// Written only when the model gathers a subset of its inputs (Model.input_indices).
constexpr std::uint32_t kGatherFormatVersion = 2;
// Written only when a layer is stored as CscWeights, with or without input_indices.
constexpr std::uint32_t kCscFormatVersion = 3;
// Written only when a layer is stored as DenseColumnWeights, BlockCsrWeights,
// DenseInt8Weights or CsrInt8Weights.
constexpr std::uint32_t kFormatVersion4 = 4;

// FlatBuffers offsets are signed 32-bit, so a buffer must stay below 2 GiB. Tables,
// strings and vector lengths add a little to the array bytes counted here.
constexpr std::uint64_t kMaxPayloadBytes = (std::uint64_t{1} << 31) - (std::uint64_t{1} << 20);

// A layer after pruning and elimination, with its chosen encoding.
struct PreparedLayer {
  const Layer* layer = nullptr;
  const std::vector<float>& weights() const { return layer->weights; }
  std::uint64_t nonzeros = 0;  // after quantization for int8 layers
  Encoding encoding = Encoding::kDense;
  WeightType weight_type = WeightType::kFloat32;
  QuantizedMatrix quantized;  // int8 layers only
  std::uint64_t rounded_to_zero = 0;
  // Block CSR only: the block shape and the number of blocks.
  BlockShape block_shape;
  std::uint64_t blocks = 0;
};

WeightType LayerWeightType(const Layer& layer, const ConvertOptions& options) {
  const auto it = options.layer_weight_type.find(layer.name);
  return it != options.layer_weight_type.end() ? it->second : options.weight_type;
}

// Rejects weight types the converter cannot write: a per-layer type for a layer the
// model does not have, and int8 with --encoding csc, which has no int8 form.
void CheckWeightTypes(const Checkpoint& model, const ConvertOptions& options) {
  for (const auto& [name, type] : options.layer_weight_type) {
    const bool found = std::any_of(model.layers.begin(), model.layers.end(),
                                   [&wanted = name](const Layer& layer) { return layer.name == wanted; });
    if (!found) {
      std::string listed;
      for (const Layer& layer : model.layers) listed += (listed.empty() ? "" : ", ") + layer.name;
      throw ConvertError("quantize names layer " + name + ", which the model does not have (layers: " + listed +
                         ")");
    }
  }
  if (options.encoding != EncodingPolicy::kCsc) return;
  for (const Layer& layer : model.layers) {
    if (LayerWeightType(layer, options) == WeightType::kInt8) {
      throw ConvertError("layer " + layer.name +
                         ": encoding csc cannot store int8 weights, because there is no int8 CSC encoding; use "
                         "encoding auto, dense or csr with int8, or keep the layer float32");
    }
  }
}

void CheckDensity(double density, const std::string& where) {
  if (!(density > 0.0 && density <= 1.0)) {
    throw ConvertError(where + " = " + std::to_string(density) + " is not in (0, 1]");
  }
}

// Applies the threshold and the target densities to every layer, in that order.
void Prune(Checkpoint& model, const ConvertOptions& options) {
  if (options.target_density) CheckDensity(*options.target_density, "target density");
  for (const auto& [name, density] : options.layer_target_density) {
    CheckDensity(density, "target density of layer " + name);
    const bool found = std::any_of(model.layers.begin(), model.layers.end(),
                                   [&wanted = name](const Layer& layer) { return layer.name == wanted; });
    if (!found) {
      std::string listed;
      for (const Layer& layer : model.layers) listed += (listed.empty() ? "" : ", ") + layer.name;
      throw ConvertError("target density names layer " + name + ", which the model does not have (layers: " +
                         listed + ")");
    }
  }
  for (Layer& layer : model.layers) {
    for (float& weight : layer.weights) {
      // -0.0f also becomes +0.0f here, so every stored zero is the same bit pattern.
      if (std::fabs(weight) <= options.threshold) weight = 0.0f;
    }
    const auto it = options.layer_target_density.find(layer.name);
    if (it != options.layer_target_density.end()) {
      PruneToDensity(layer, it->second);
    } else if (options.target_density) {
      PruneToDensity(layer, *options.target_density);
    }
  }
}

// Calibration results for one layer.
struct LayerCalibration {
  double input_zero_fraction = 0.0;
  double csc_work_fraction = 0.0;
  // Layer 0 only: the mean fraction of all the model's inputs (input_size, before the
  // gather of input_indices) that are exactly zero.
  double raw_input_zero_fraction = 0.0;
};

// Runs `model` on every calibration input, in double with float outputs as the runtime
// stores them, and measures per layer the fraction of zero inputs and the CSC work
// fraction. Returns nothing when there are no calibration inputs.
std::vector<LayerCalibration> Calibrate(const Checkpoint& model, const std::vector<std::vector<float>>& inputs,
                                        const std::string& source) {
  std::vector<LayerCalibration> result;
  if (inputs.empty()) return result;
  result.resize(model.layers.size());

  // Stored values per column of each layer: the CSC kernel's work for a non-zero input.
  std::vector<std::vector<std::uint64_t>> column_counts;
  std::vector<std::uint64_t> nonzeros;
  for (const Layer& layer : model.layers) {
    std::vector<std::uint64_t> counts(layer.input_size, 0);
    for (std::uint32_t r = 0; r < layer.output_size; ++r) {
      for (std::uint32_t c = 0; c < layer.input_size; ++c) {
        counts[c] += layer.weights[std::size_t{r} * layer.input_size + c] != 0.0f;
      }
    }
    std::uint64_t total = 0;
    for (std::uint64_t count : counts) total += count;
    column_counts.push_back(std::move(counts));
    nonzeros.push_back(total);
  }

  for (std::size_t n = 0; n < inputs.size(); ++n) {
    const std::vector<float>& raw = inputs[n];
    if (raw.size() != model.input_size) {
      throw ConvertError(source + ": calibration input " + std::to_string(n) + " has " +
                         std::to_string(raw.size()) + " values, expected the model's input_size = " +
                         std::to_string(model.input_size));
    }
    std::uint64_t raw_zeros = 0;
    for (float value : raw) raw_zeros += value * model.input_scale == 0.0f;
    result[0].raw_input_zero_fraction += static_cast<double>(raw_zeros) / static_cast<double>(raw.size());
    std::vector<float> x;
    if (model.input_indices.empty()) {
      for (float value : raw) x.push_back(value * model.input_scale);
    } else {
      for (std::uint32_t index : model.input_indices) x.push_back(raw[index] * model.input_scale);
    }
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      const Layer& layer = model.layers[i];
      std::uint64_t zeros = 0;
      std::uint64_t work = 0;
      for (std::uint32_t c = 0; c < layer.input_size; ++c) {
        if (x[c] == 0.0f) {
          ++zeros;
        } else {
          work += column_counts[i][c];
        }
      }
      result[i].input_zero_fraction += static_cast<double>(zeros) / layer.input_size;
      result[i].csc_work_fraction += nonzeros[i] == 0 ? 0.0 : static_cast<double>(work) / static_cast<double>(nonzeros[i]);

      std::vector<float> y(layer.output_size);
      for (std::uint32_t r = 0; r < layer.output_size; ++r) {
        double sum = layer.bias[r];
        for (std::uint32_t c = 0; c < layer.input_size; ++c) {
          sum += static_cast<double>(layer.weights[std::size_t{r} * layer.input_size + c]) * x[c];
        }
        const bool clamp = layer.activation == Activation::kRelu && sum < 0.0;
        y[r] = clamp ? 0.0f : static_cast<float>(sum);
      }
      x = std::move(y);
    }
  }
  for (LayerCalibration& layer : result) {
    layer.input_zero_fraction /= static_cast<double>(inputs.size());
    layer.csc_work_fraction /= static_cast<double>(inputs.size());
  }
  result[0].raw_input_zero_fraction /= static_cast<double>(inputs.size());
  return result;
}

std::uint64_t CountBlocks(const Layer& layer, BlockShape shape) {
  return PackBlockCsr(layer.weights, layer.output_size, layer.input_size, shape).col_idx.size();
}

// Sets block CSR on `prepared`: with the forced shape for EncodingPolicy::kBlockCsr, and
// for kAuto when the best shape's estimate beats dense and CSR by kBlockCsrMaxShareOfBest.
void ChooseBlockCsr(const Layer& layer, const ConvertOptions& options, PreparedLayer* prepared) {
  if (options.encoding == EncodingPolicy::kBlockCsr) {
    if (options.block_shape.has_value()) {
      const BlockShape shape = *options.block_shape;
      if (shape.cols > layer.input_size) {
        throw ConvertError("layer " + layer.name + " has input_size = " + std::to_string(layer.input_size) +
                           ", fewer columns than the block width " + std::to_string(shape.cols) +
                           "; choose a narrower block or leave the shape to the converter");
      }
      prepared->block_shape = shape;
      prepared->blocks = CountBlocks(layer, shape);
    } else {
      const BlockChoice choice = ChooseBlockShape(layer.weights, layer.output_size, layer.input_size);
      prepared->block_shape = choice.shape;
      prepared->blocks = choice.blocks;
    }
    prepared->encoding = Encoding::kBlockCsr;
    return;
  }
  if (options.encoding != EncodingPolicy::kAuto) return;
  // Calibration chose these because inputs are zero often enough; blocks skip no input.
  if (prepared->encoding == Encoding::kCsc || prepared->encoding == Encoding::kDenseColumns) return;
  const BlockChoice choice = ChooseBlockShape(layer.weights, layer.output_size, layer.input_size);
  const double best_other = std::min(EstimateDenseNs(layer.output_size, layer.input_size),
                                     EstimateCsrNs(layer.output_size, prepared->nonzeros));
  if (choice.estimated_ns < kBlockCsrMaxShareOfBest * best_other) {
    prepared->encoding = Encoding::kBlockCsr;
    prepared->block_shape = choice.shape;
    prepared->blocks = choice.blocks;
  }
}

PreparedLayer Prepare(const Layer& layer, const ConvertOptions& options,
                      const LayerCalibration* calibration = nullptr) {
  std::optional<double> csc_work_fraction;
  std::optional<double> input_zero_fraction;
  if (calibration != nullptr) {
    csc_work_fraction = calibration->csc_work_fraction;
    input_zero_fraction = calibration->input_zero_fraction;
  }
  PreparedLayer prepared;
  prepared.layer = &layer;
  prepared.nonzeros = static_cast<std::uint64_t>(
      std::count_if(layer.weights.begin(), layer.weights.end(), [](float w) { return w != 0.0f; }));
  prepared.weight_type = LayerWeightType(layer, options);
  if (prepared.weight_type == WeightType::kInt8) {
    prepared.quantized = QuantizeRows(layer.weights, layer.output_size, layer.input_size);
    const std::uint64_t float_nonzeros = prepared.nonzeros;
    prepared.nonzeros = static_cast<std::uint64_t>(std::count_if(
        prepared.quantized.values.begin(), prepared.quantized.values.end(), [](std::int8_t q) { return q != 0; }));
    prepared.rounded_to_zero = float_nonzeros - prepared.nonzeros;
    prepared.encoding = ChooseInt8Encoding(options.encoding, layer.output_size, layer.input_size, prepared.nonzeros);
    return prepared;
  }
  prepared.encoding = ChooseEncoding(options.encoding, layer.output_size, layer.input_size, prepared.nonzeros,
                                     csc_work_fraction, input_zero_fraction);
  ChooseBlockCsr(layer, options, &prepared);
  return prepared;
}

std::uint64_t EncodedBytes(Encoding encoding, WeightType type, std::uint32_t rows, std::uint32_t cols,
                           std::uint64_t nonzeros) {
  if (type == WeightType::kInt8) {
    return encoding == Encoding::kCsr ? CsrInt8WeightBytes(rows, nonzeros) : DenseInt8WeightBytes(rows, cols);
  }
  switch (encoding) {
    case Encoding::kCsr:
      return CsrWeightBytes(rows, nonzeros);
    case Encoding::kCsc:
      return CscWeightBytes(cols, nonzeros);
    case Encoding::kBlockCsr:
      // Callers pass block layers to WeightBytes, which has their block count.
      break;
    case Encoding::kDenseColumns:
      return DenseColumnWeightBytes(rows, cols);
    case Encoding::kDense:
      break;
  }
  return DenseWeightBytes(rows, cols);
}

std::uint64_t WeightBytes(const PreparedLayer& prepared) {
  const Layer& layer = *prepared.layer;
  if (prepared.encoding == Encoding::kBlockCsr) {
    return BlockCsrWeightBytes(layer.output_size, layer.input_size, prepared.block_shape, prepared.blocks);
  }
  return EncodedBytes(prepared.encoding, prepared.weight_type, layer.output_size, layer.input_size,
                      prepared.nonzeros);
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
  bool any_csc = false;
  bool any_int8 = false;
  bool any_block_csr = false;
  bool any_dense_columns = false;
  for (const PreparedLayer& prepared : layers) {
    const Layer& layer = *prepared.layer;
    const auto name = builder.CreateString(layer.name);
    flatbuffers::Offset<void> weights;
    fb::Weights weights_type;
    const bool int8 = prepared.weight_type == WeightType::kInt8 && !all_dense;
    if (int8 && prepared.encoding == Encoding::kCsr) {
      const CsrInt8Matrix csr = PackCsrInt8(prepared.quantized, layer.output_size, layer.input_size);
      const auto row_ptr = builder.CreateVector(csr.row_ptr);
      const auto col_idx = builder.CreateVector(csr.col_idx);
      const auto values = builder.CreateVector(csr.values);
      const auto scales = builder.CreateVector(csr.scales);
      weights = fb::CreateCsrInt8Weights(builder, row_ptr, col_idx, values, scales).Union();
      weights_type = fb::Weights::CsrInt8Weights;
      any_int8 = true;
    } else if (int8) {
      const auto values = builder.CreateVector(prepared.quantized.values);
      const auto scales = builder.CreateVector(prepared.quantized.scales);
      weights = fb::CreateDenseInt8Weights(builder, values, scales).Union();
      weights_type = fb::Weights::DenseInt8Weights;
      any_int8 = true;
    } else if (prepared.encoding == Encoding::kCsr && !all_dense) {
      const CsrMatrix csr = PackCsr(prepared.weights(), layer.output_size, layer.input_size);
      const auto row_ptr = builder.CreateVector(csr.row_ptr);
      const auto col_idx = builder.CreateVector(csr.col_idx);
      const auto values = builder.CreateVector(csr.values);
      weights = fb::CreateCsrWeights(builder, row_ptr, col_idx, values).Union();
      weights_type = fb::Weights::CsrWeights;
    } else if (prepared.encoding == Encoding::kCsc && !all_dense) {
      const CscMatrix csc = PackCsc(prepared.weights(), layer.output_size, layer.input_size);
      const auto col_ptr = builder.CreateVector(csc.col_ptr);
      const auto row_idx = builder.CreateVector(csc.row_idx);
      const auto values = builder.CreateVector(csc.values);
      weights = fb::CreateCscWeights(builder, col_ptr, row_idx, values).Union();
      weights_type = fb::Weights::CscWeights;
      any_csc = true;
    } else if (prepared.encoding == Encoding::kBlockCsr && !all_dense) {
      const BlockCsrMatrix blocks =
          PackBlockCsr(prepared.weights(), layer.output_size, layer.input_size, prepared.block_shape);
      const auto block_row_ptr = builder.CreateVector(blocks.block_row_ptr);
      flatbuffers::Offset<flatbuffers::Vector<std::uint16_t>> col_u16;
      flatbuffers::Offset<flatbuffers::Vector<std::uint32_t>> col_u32;
      if (BlockIndicesFitUint16(layer.input_size, prepared.block_shape)) {
        const std::vector<std::uint16_t> narrow(blocks.col_idx.begin(), blocks.col_idx.end());
        col_u16 = builder.CreateVector(narrow);
      } else {
        col_u32 = builder.CreateVector(blocks.col_idx);
      }
      const auto values = builder.CreateVector(blocks.values);
      weights = fb::CreateBlockCsrWeights(builder, blocks.shape.rows, blocks.shape.cols, block_row_ptr, col_u16,
                                          col_u32, values)
                    .Union();
      weights_type = fb::Weights::BlockCsrWeights;
      any_block_csr = true;
    } else if (prepared.encoding == Encoding::kDenseColumns && !all_dense) {
      const std::vector<float> columns = PackDenseColumns(prepared.weights(), layer.output_size, layer.input_size);
      const auto values = builder.CreateVector(columns);
      weights = fb::CreateDenseColumnWeights(builder, values).Union();
      weights_type = fb::Weights::DenseColumnWeights;
      any_dense_columns = true;
    } else {
      const auto values = builder.CreateVector(prepared.weights());
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
  // Each version is written only when the file needs it, so older runtimes read the rest.
  std::uint32_t new_table_version = 0;
  if (any_csc) new_table_version = kCscFormatVersion;
  if (any_int8 || any_block_csr || any_dense_columns) new_table_version = kFormatVersion4;
  if (checkpoint.input_indices.empty()) {
    const std::uint32_t version = new_table_version != 0 ? new_table_version : kFormatVersion;
    fb::FinishModelBuffer(builder, fb::CreateModel(builder, version, layer_vector, metadata));
  } else {
    const std::uint32_t version = new_table_version != 0 ? new_table_version : kGatherFormatVersion;
    const auto indices = builder.CreateVector(checkpoint.input_indices);
    fb::FinishModelBuffer(builder, fb::CreateModel(builder, version, layer_vector, metadata, indices,
                                                   checkpoint.input_size));
  }
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

// Weight and bias bytes per stored nonzero weight, or "-" for a layer without any.
std::string BytesPerNonzero(std::uint64_t bytes, std::uint64_t nonzeros) {
  if (nonzeros == 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(bytes) / static_cast<double>(nonzeros));
  return text;
}

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100.0 * fraction);
  return text;
}

// Whether reading only input_indices makes the file smaller. Each dropped column saves
// its stored values (rows floats when layer 0 is dense, a 4-byte column pointer when it
// is CSC, nothing when it is CSR, whose empty columns cost no bytes), and each kept
// input costs a 4-byte index. Dropped columns hold no weights, so the CSC work fraction
// is the same either way.
bool GatherSavesBytes(const Checkpoint& model, const ConvertOptions& options, const LayerCalibration* calibration) {
  const Layer& first = model.layers.front();
  const PreparedLayer gathered = Prepare(first, options, calibration);
  // Block CSR, like CSR, stores nothing for an unread input, so the gather only adds its
  // indices.
  if (gathered.encoding == Encoding::kBlockCsr) return false;
  const std::uint64_t gathered_bytes = WeightBytes(gathered) + model.input_indices.size() * sizeof(std::uint32_t);
  std::optional<double> csc_work_fraction;
  if (calibration != nullptr) csc_work_fraction = calibration->csc_work_fraction;
  const Encoding full_encoding =
      gathered.weight_type == WeightType::kInt8
          ? ChooseInt8Encoding(options.encoding, first.output_size, model.input_size, gathered.nonzeros)
          : ChooseEncoding(options.encoding, first.output_size, model.input_size, gathered.nonzeros,
                           csc_work_fraction);
  const std::uint64_t full_bytes =
      EncodedBytes(full_encoding, gathered.weight_type, first.output_size, model.input_size, gathered.nonzeros);
  return gathered_bytes < full_bytes;
}

// Whether a dense-columns layer 0 is expected to run faster on the gathered inputs than on
// all of them. The gather copies every kept input on each call. Without it the kernel
// lists every input, and multiplies the columns of dropped inputs that are not zero:
// their weights are zero, so the work is wasted, but on MNIST the dropped border pixels
// are zero. Without calibration every input counts as non-zero, so the gather wins.
bool GatherSavesTime(const Checkpoint& model, const LayerCalibration* calibration) {
  const Layer& first = model.layers.front();
  double kept_nonzero = 1.0;
  double all_nonzero = 1.0;
  if (calibration != nullptr) {
    kept_nonzero = 1.0 - calibration->input_zero_fraction;
    all_nonzero = 1.0 - calibration->raw_input_zero_fraction;
  }
  const double gathered_ns = first.input_size * kGatherNsPerInput + DenseColumnsNs(first.output_size, first.input_size, kept_nonzero);
  const double all_ns = DenseColumnsNs(first.output_size, model.input_size, all_nonzero);
  return gathered_ns < all_ns;
}

// Puts layer 0's columns back at their original input positions and clears input_indices.
void RestoreAllInputs(Checkpoint& model) {
  Layer& first = model.layers.front();
  std::vector<float> weights(std::size_t{first.output_size} * model.input_size, 0.0f);
  for (std::uint32_t r = 0; r < first.output_size; ++r) {
    for (std::size_t k = 0; k < model.input_indices.size(); ++k) {
      weights[std::size_t{r} * model.input_size + model.input_indices[k]] =
          first.weights[std::size_t{r} * first.input_size + k];
    }
  }
  first.weights = std::move(weights);
  first.input_size = model.input_size;
  model.input_indices.clear();
}

}  // namespace

const char* EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kCsr:
      return "csr";
    case Encoding::kCsc:
      return "csc";
    case Encoding::kBlockCsr:
      return "block-csr";
    case Encoding::kDenseColumns:
      return "dense-columns";
    case Encoding::kDense:
      break;
  }
  return "dense";
}

const char* WeightTypeName(WeightType type) { return type == WeightType::kInt8 ? "int8" : "f32"; }

QuantizedMatrix QuantizeRows(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols) {
  QuantizedMatrix quantized;
  quantized.values.resize(std::size_t{rows} * cols, 0);
  quantized.scales.resize(rows, 0.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = weights.data() + r * cols;
    float max_abs = 0.0f;
    for (std::uint32_t c = 0; c < cols; ++c) max_abs = std::max(max_abs, std::fabs(row[c]));
    if (max_abs == 0.0f) continue;
    const float scale = max_abs / 127.0f;
    quantized.scales[r] = scale;
    for (std::uint32_t c = 0; c < cols; ++c) {
      // The clamp only guards against rounding of row[c] / scale just past 127.
      const float q = std::clamp(std::nearbyint(row[c] / scale), -127.0f, 127.0f);
      quantized.values[r * cols + c] = static_cast<std::int8_t>(q);
    }
  }
  return quantized;
}

CsrInt8Matrix PackCsrInt8(const QuantizedMatrix& quantized, std::uint32_t rows, std::uint32_t cols) {
  CsrInt8Matrix csr;
  csr.scales = quantized.scales;
  csr.row_ptr.reserve(std::size_t{rows} + 1);
  csr.row_ptr.push_back(0);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int8_t* row = quantized.values.data() + r * cols;
    for (std::uint32_t c = 0; c < cols; ++c) {
      if (row[c] == 0) continue;
      csr.col_idx.push_back(c);
      csr.values.push_back(row[c]);
    }
    csr.row_ptr.push_back(static_cast<std::uint32_t>(csr.values.size()));
  }
  return csr;
}

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

CscMatrix PackCsc(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols) {
  CscMatrix csc;
  csc.col_ptr.reserve(std::size_t{cols} + 1);
  csc.col_ptr.push_back(0);
  for (std::uint32_t c = 0; c < cols; ++c) {
    for (std::uint32_t r = 0; r < rows; ++r) {
      const float value = weights[std::size_t{r} * cols + c];
      if (value == 0.0f) continue;
      csc.row_idx.push_back(r);
      csc.values.push_back(value);
    }
    csc.col_ptr.push_back(static_cast<std::uint32_t>(csc.values.size()));
  }
  return csc;
}

BlockCsrMatrix PackBlockCsr(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols,
                            BlockShape shape) {
  auto weight = [&](std::uint32_t r, std::uint32_t c) {
    return r < rows ? weights[std::size_t{r} * cols + c] : 0.0f;
  };
  BlockCsrMatrix blocks;
  blocks.shape = shape;
  blocks.block_row_ptr.push_back(0);
  for (std::uint32_t base = 0; base < rows; base += shape.rows) {
    std::uint32_t covered = 0;  // columns below this are in an earlier block of this block row
    for (std::uint32_t c = 0; c < cols; ++c) {
      if (c < covered) continue;
      bool nonzero = false;
      for (std::uint32_t i = 0; i < shape.rows && !nonzero; ++i) nonzero = weight(base + i, c) != 0.0f;
      if (!nonzero) continue;
      const std::uint32_t start = std::min(c, cols - shape.cols);
      blocks.col_idx.push_back(start);
      for (std::uint32_t i = 0; i < shape.rows; ++i) {
        for (std::uint32_t j = 0; j < shape.cols; ++j) {
          blocks.values.push_back(start + j < covered ? 0.0f : weight(base + i, start + j));
        }
      }
      covered = start + shape.cols;
    }
    blocks.block_row_ptr.push_back(static_cast<std::uint32_t>(blocks.col_idx.size()));
  }
  return blocks;
}

bool BlockIndicesFitUint16(std::uint32_t cols, BlockShape shape) {
  return cols - shape.cols <= std::numeric_limits<std::uint16_t>::max();
}

std::uint64_t BlockCsrWeightBytes(std::uint32_t rows, std::uint32_t cols, BlockShape shape, std::uint64_t blocks) {
  const std::uint64_t block_row_count = (std::uint64_t{rows} + shape.rows - 1) / shape.rows;
  const std::uint64_t index_bytes = BlockIndicesFitUint16(cols, shape) ? sizeof(std::uint16_t) : sizeof(std::uint32_t);
  return (block_row_count + 1) * sizeof(std::uint32_t) +
         blocks * (index_bytes + std::uint64_t{shape.rows} * shape.cols * sizeof(float));
}

namespace {

// Kernel costs in nanoseconds for the estimates below. They are medians of CPU time from
// one run of frugal_kernels_benchmark with AVX2 on layers of 64x64 to 300x784 with random
// zeros (docs/benchmarks.md, "Block-sparse rows"). Dense is f32_gemv_4x__avx2 per cell,
// CSR f32_csrmv__avx2 per value, and each f32_bsrmv_RxC__avx2 per block at 90% and 95%
// zeros.
// The per-row cost is CSR's for every shape: the fit of per-block-row costs was
// unreliable, because the per-block cost itself falls as blocks get denser.
constexpr double kDenseNsPerCell = 0.029;
// NOTE: this figure comes from the block-sparse run. The dense-columns rule in converter.h
// uses 0.45 ns per CSR value, from an earlier run of the same benchmark under other load.
constexpr double kBlockRunCsrNsPerValue = 0.25;
constexpr double kNsPerRow = 0.5;
struct BlockCost {
  BlockShape shape;
  double ns_per_block;
};
constexpr BlockCost kBlockCosts[] = {
    {{1, 1}, 0.26},
    {{4, 1}, 0.37},
    {{8, 1}, 0.39},
    {{1, 4}, 0.30},
};

}  // namespace

double EstimateDenseNs(std::uint32_t rows, std::uint32_t cols) {
  return kDenseNsPerCell * rows * cols;
}

double EstimateCsrNs(std::uint32_t rows, std::uint64_t nonzeros) {
  return kBlockRunCsrNsPerValue * static_cast<double>(nonzeros) + kNsPerRow * rows;
}

double EstimateBlockCsrNs(std::uint32_t rows, BlockShape shape, std::uint64_t blocks) {
  for (const BlockCost& cost : kBlockCosts) {
    if (cost.shape.rows != shape.rows || cost.shape.cols != shape.cols) continue;
    const double block_row_count = std::ceil(static_cast<double>(rows) / shape.rows);
    return cost.ns_per_block * static_cast<double>(blocks) + kNsPerRow * block_row_count;
  }
  return std::numeric_limits<double>::infinity();
}

BlockChoice ChooseBlockShape(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols) {
  BlockChoice best;
  best.estimated_ns = std::numeric_limits<double>::infinity();
  for (const BlockShape shape : kBlockShapes) {
    if (shape.cols > cols) continue;
    const std::uint64_t blocks = PackBlockCsr(weights, rows, cols, shape).col_idx.size();
    const double ns = EstimateBlockCsrNs(rows, shape, blocks);
    if (ns < best.estimated_ns) best = {shape, blocks, ns};
  }
  return best;
}

std::vector<float> PackDenseColumns(std::span<const float> weights, std::uint32_t rows, std::uint32_t cols) {
  const auto stride = static_cast<std::size_t>(DenseColumnStride(rows));
  std::vector<float> columns(stride * cols, 0.0f);
  for (std::uint32_t c = 0; c < cols; ++c) {
    for (std::uint32_t r = 0; r < rows; ++r) columns[c * stride + r] = weights[std::size_t{r} * cols + c];
  }
  return columns;
}

std::uint64_t DenseColumnWeightBytes(std::uint32_t rows, std::uint32_t cols) {
  return DenseColumnStride(rows) * cols * sizeof(float);
}

std::uint64_t DenseWeightBytes(std::uint32_t rows, std::uint32_t cols) {
  return std::uint64_t{rows} * cols * sizeof(float);
}

std::uint64_t CsrWeightBytes(std::uint32_t rows, std::uint64_t nonzeros) {
  return (std::uint64_t{rows} + 1) * sizeof(std::uint32_t) + nonzeros * (sizeof(std::uint32_t) + sizeof(float));
}

std::uint64_t CscWeightBytes(std::uint32_t cols, std::uint64_t nonzeros) {
  return (std::uint64_t{cols} + 1) * sizeof(std::uint32_t) + nonzeros * (sizeof(std::uint32_t) + sizeof(float));
}

std::uint64_t DenseInt8WeightBytes(std::uint32_t rows, std::uint32_t cols) {
  return std::uint64_t{rows} * cols + std::uint64_t{rows} * sizeof(float);
}

std::uint64_t CsrInt8WeightBytes(std::uint32_t rows, std::uint64_t nonzeros) {
  return (std::uint64_t{rows} + 1) * sizeof(std::uint32_t) + std::uint64_t{rows} * sizeof(float) +
         nonzeros * (sizeof(std::uint32_t) + sizeof(std::int8_t));
}

Encoding ChooseInt8Encoding(EncodingPolicy policy, std::uint32_t rows, std::uint32_t cols, std::uint64_t nonzeros) {
  switch (policy) {
    case EncodingPolicy::kDense:
      return Encoding::kDense;
    case EncodingPolicy::kCsr:
      return Encoding::kCsr;
    case EncodingPolicy::kCsc:
      throw ConvertError("encoding csc cannot store int8 weights, because there is no int8 CSC encoding");
    case EncodingPolicy::kBlockCsr:
      throw ConvertError(
          "encoding block-csr cannot store int8 weights, because there is no int8 block-sparse encoding");
    case EncodingPolicy::kDenseColumns:
      throw ConvertError(
          "encoding dense-columns cannot store int8 weights, because there is no int8 dense-columns encoding");
    case EncodingPolicy::kAuto:
      break;
  }
  return CsrInt8WeightBytes(rows, nonzeros) < DenseInt8WeightBytes(rows, cols) ? Encoding::kCsr : Encoding::kDense;
}

Encoding ChooseEncoding(EncodingPolicy policy, std::uint32_t rows, std::uint32_t cols, std::uint64_t nonzeros,
                        std::optional<double> csc_work_fraction, std::optional<double> input_zero_fraction) {
  switch (policy) {
    case EncodingPolicy::kDense:
      return Encoding::kDense;
    case EncodingPolicy::kCsr:
      return Encoding::kCsr;
    case EncodingPolicy::kCsc:
      return Encoding::kCsc;
    case EncodingPolicy::kBlockCsr:
      return Encoding::kBlockCsr;
    case EncodingPolicy::kDenseColumns:
      return Encoding::kDenseColumns;
    case EncodingPolicy::kAuto:
      break;
  }
  const double cells = static_cast<double>(rows) * cols;
  const double density = static_cast<double>(nonzeros) / cells;
  Encoding choice = Encoding::kCsr;
  double choice_ns = 0.0;
  if (CsrWeightBytes(rows, nonzeros) >= DenseWeightBytes(rows, cols) || density > kCsrMaxDensity) {
    choice = Encoding::kDense;
    choice_ns = cells * kDenseNsPerWeight;
  } else if (csc_work_fraction.has_value() && *csc_work_fraction <= kCscMaxWorkFraction) {
    choice = Encoding::kCsc;
    const double nonzero_inputs = (1.0 - input_zero_fraction.value_or(0.0)) * cols;
    choice_ns = *csc_work_fraction * static_cast<double>(nonzeros) * kCscNsPerWeight + nonzero_inputs * kCscNsPerInput;
  } else {
    choice_ns = density > kSimdCsrMaxDensity ? cells * kDenseNsPerWeight : static_cast<double>(nonzeros) * kCsrNsPerValue;
  }
  const double columns_ns = DenseColumnsNs(rows, cols, 1.0 - input_zero_fraction.value_or(0.0));
  if (columns_ns <= kColumnsMaxShare * choice_ns) return Encoding::kDenseColumns;
  return choice;
}

double DenseColumnsNs(std::uint32_t rows, std::uint32_t cols, double input_nonzero_fraction) {
  const double tiles = (rows + 63) / 64;
  const double vectors = static_cast<double>(DenseColumnStride(rows)) / 8.0;
  const double nonzero_inputs = input_nonzero_fraction * cols;
  return cols * kColumnsNsPerInput + nonzero_inputs * (tiles * kColumnsNsPerColumnTile + vectors * kColumnsNsPerVector);
}

Conversion Convert(const Checkpoint& checkpoint, const ConvertOptions& options, const std::string& output_name) {
  if (!std::isfinite(options.threshold) || options.threshold < 0.0f) {
    throw ConvertError("threshold " + std::to_string(options.threshold) + " is not a finite number >= 0");
  }
  if (checkpoint.layers.empty()) throw ConvertError(output_name + ": the checkpoint has no layers");

  CheckWeightTypes(checkpoint, options);
  Checkpoint pruned = checkpoint;
  Prune(pruned, options);
  Checkpoint model = options.eliminate_dead_units ? EliminateDeadUnits(pruned) : pruned;
  const std::string& calibration_source =
      options.calibration_source.empty() ? output_name : options.calibration_source;
  std::vector<LayerCalibration> calibration = Calibrate(model, options.calibration_inputs, calibration_source);
  auto layer_calibration = [&calibration](std::size_t i) -> const LayerCalibration* {
    return calibration.empty() ? nullptr : &calibration[i];
  };
  if (!model.input_indices.empty()) {
    // A dense-columns layer 0 keeps the gather when that is faster, any other when it
    // makes the file smaller.
    const bool columns = Prepare(model.layers.front(), options, layer_calibration(0)).encoding == Encoding::kDenseColumns;
    const bool keep = columns ? GatherSavesTime(model, layer_calibration(0))
                              : GatherSavesBytes(model, options, layer_calibration(0));
    if (!keep) {
      RestoreAllInputs(model);
      // Layer 0's zero fraction and CSC work now cover every input.
      calibration = Calibrate(model, options.calibration_inputs, calibration_source);
    }
  }

  std::vector<PreparedLayer> layers;
  std::uint64_t payload = 0;  // of the larger of the chosen and the all-dense encoding
  for (const Layer& layer : model.layers) {
    layers.push_back(Prepare(layer, options, layer_calibration(layers.size())));
    payload += std::max(WeightBytes(layers.back()), DenseWeightBytes(layer.output_size, layer.input_size)) +
               std::uint64_t{layer.output_size} * sizeof(float);
  }
  if (payload > kMaxPayloadBytes) {
    throw ConvertError(output_name + ": the model needs " + std::to_string(payload) +
                       " bytes of arrays, more than a FlatBuffer can hold (2 GiB)");
  }

  const std::string description = options.description.value_or(checkpoint.description);
  Conversion conversion;
  conversion.buffer = BuildBuffer(model, layers, description, /*all_dense=*/false);
  conversion.dense_file_bytes = BuildBuffer(model, layers, description, /*all_dense=*/true).size();
  std::vector<PreparedLayer> unshrunk;
  ConvertOptions float_options = options;
  float_options.weight_type = WeightType::kFloat32;
  float_options.layer_weight_type.clear();
  for (const Layer& layer : pruned.layers) unshrunk.push_back(Prepare(layer, float_options));
  conversion.original_dense_file_bytes = BuildBuffer(pruned, unshrunk, description, /*all_dense=*/true).size();
  CheckWithRuntime(conversion.buffer, layers, output_name);

  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& before = checkpoint.layers[i];
    const Layer& layer = *layers[i].layer;
    conversion.layers.push_back({layer.name, before.output_size, before.input_size, layer.output_size,
                                 layer.input_size, layers[i].nonzeros, layers[i].encoding,
                                 layers[i].weight_type, layers[i].rounded_to_zero,
                                 WeightBytes(layers[i]) + std::uint64_t{layer.output_size} * sizeof(float),
                                 std::nullopt, std::nullopt, BlockShape{}, 0, 0, 0});
    if (layers[i].rounded_to_zero > 0) {
      conversion.warnings.push_back(output_name + ": layer " + std::to_string(i) + " (" + layer.name + "): " +
                                    std::to_string(layers[i].rounded_to_zero) +
                                    " non-zero weights are at most half their row's int8 step in magnitude and were stored as 0");
    }
    if (layers[i].encoding == Encoding::kBlockCsr) {
      LayerSummary& summary = conversion.layers.back();
      const BlockShape shape = layers[i].block_shape;
      summary.block_shape = shape;
      summary.blocks = layers[i].blocks;
      summary.stored_values = layers[i].blocks * shape.rows * shape.cols;
      summary.index_bytes = BlockIndicesFitUint16(layer.input_size, shape) ? 2 : 4;
    }
    if (!calibration.empty()) {
      conversion.layers.back().input_zero_fraction = calibration[i].input_zero_fraction;
      conversion.layers.back().csc_work_fraction = calibration[i].csc_work_fraction;
    }
    if (layers[i].nonzeros == 0) {
      conversion.warnings.push_back(output_name + ": layer " + std::to_string(i) + " (" + layer.name +
                                    ") has no non-zero weights, so it is constant: its outputs are "
                                    "activation(bias) whatever the input");
    }
  }
  conversion.input_size = checkpoint.input_size;
  conversion.inputs_read = model.layers.front().input_size;
  conversion.calibration_count = options.calibration_inputs.size();
  return conversion;
}

Conversion ConvertFile(const std::string& input, const std::string& output, const ConvertOptions& options) {
  return ConvertFile(input, output, options, ImportOptions{});
}

Conversion ConvertFile(const std::string& input, const std::string& output, const ConvertOptions& options,
                       const ImportOptions& import_options) {
  std::error_code error;
  if (std::filesystem::equivalent(input, output, error)) {
    throw ConvertError(output + ": the output path is the input checkpoint; choose another output file");
  }
  const Checkpoint checkpoint = ReadModel(input, import_options);
  Conversion conversion = Convert(checkpoint, options, output);
  conversion.warnings.insert(conversion.warnings.begin(), checkpoint.warnings.begin(), checkpoint.warnings.end());
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
  const int width = static_cast<int>(name_width);

  std::string text;
  char line[320];
  std::snprintf(line, sizeof line, "%-*s %13s %13s %10s %8s %13s %5s %12s %8s\n", width, "layer", "before", "after",
                "nonzeros", "density", "encoding", "dtype", "bytes", "bytes/nz");
  text += line;
  std::uint64_t weights = 0;
  std::uint64_t nonzeros = 0;
  std::uint64_t bytes = 0;
  for (const LayerSummary& layer : conversion.layers) {
    const std::uint64_t count = std::uint64_t{layer.rows} * layer.columns;
    const std::string before = std::to_string(layer.rows_before) + "x" + std::to_string(layer.columns_before);
    const std::string after = std::to_string(layer.rows) + "x" + std::to_string(layer.columns);
    std::snprintf(line, sizeof line, "%-*s %13s %13s %10llu %8s %13s %5s %12llu %8s\n", width, layer.name.c_str(),
                  before.c_str(), after.c_str(), static_cast<unsigned long long>(layer.nonzeros),
                  Percent(static_cast<double>(layer.nonzeros) / static_cast<double>(count)).c_str(),
                  EncodingName(layer.encoding), WeightTypeName(layer.weight_type),
                  static_cast<unsigned long long>(layer.bytes),
                  BytesPerNonzero(layer.bytes, layer.nonzeros).c_str());
    text += line;
    weights += count;
    nonzeros += layer.nonzeros;
    bytes += layer.bytes;
  }
  std::snprintf(line, sizeof line, "%-*s %13s %13s %10llu %8s %13s %5s %12llu %8s\n", width, "total", "", "",
                static_cast<unsigned long long>(nonzeros),
                Percent(static_cast<double>(nonzeros) / static_cast<double>(weights)).c_str(), "", "",
                static_cast<unsigned long long>(bytes), BytesPerNonzero(bytes, nonzeros).c_str());
  text += line;
  std::snprintf(line, sizeof line, "inputs: %u, of which layer 0 reads %u\n", conversion.input_size,
                conversion.inputs_read);
  text += line;
  for (const LayerSummary& layer : conversion.layers) {
    if (layer.encoding != Encoding::kBlockCsr) continue;
    const double fill_in = layer.nonzeros == 0 ? 0.0 : static_cast<double>(layer.stored_values) /
                                                          static_cast<double>(layer.nonzeros);
    std::snprintf(line, sizeof line,
                  "block-csr %s: %ux%u blocks, %u rows, %llu blocks, %llu stored values for %llu nonzeros "
                  "(fill-in %.2fx), uint%u column indices\n",
                  layer.name.c_str(), layer.block_shape.rows, layer.block_shape.cols, layer.rows,
                  static_cast<unsigned long long>(layer.blocks), static_cast<unsigned long long>(layer.stored_values),
                  static_cast<unsigned long long>(layer.nonzeros), fill_in, layer.index_bytes * 8);
    text += line;
  }
  if (conversion.calibration_count > 0) {
    std::snprintf(line, sizeof line,
                  "calibration on %zu inputs (csc when CSR would be chosen and work <= %s; dense-columns when "
                  "its estimate is <= %.0f%% of the other choice's):\n",
                  conversion.calibration_count, Percent(kCscMaxWorkFraction).c_str(), 100.0 * kColumnsMaxShare);
    text += line;
    for (const LayerSummary& layer : conversion.layers) {
      std::snprintf(line, sizeof line, "  %-*s %8s of inputs zero, csc work %8s of nonzeros\n", width,
                    layer.name.c_str(), Percent(layer.input_zero_fraction.value_or(0.0)).c_str(),
                    Percent(layer.csc_work_fraction.value_or(0.0)).c_str());
      text += line;
    }
  }
  std::snprintf(line, sizeof line,
                "file: %zu bytes; with every layer dense: %zu bytes (%.2fx); dense before elimination: %zu bytes "
                "(%.2fx)\n",
                conversion.buffer.size(), conversion.dense_file_bytes,
                static_cast<double>(conversion.dense_file_bytes) / static_cast<double>(conversion.buffer.size()),
                conversion.original_dense_file_bytes,
                static_cast<double>(conversion.original_dense_file_bytes) /
                    static_cast<double>(conversion.buffer.size()));
  text += line;
  return text;
}

}  // namespace frugal::converter
