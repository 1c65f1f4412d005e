// Reads a training checkpoint (.npz with architecture.json, see docs/checkpoint.md) and
// checks everything the .frugal invariants need before any conversion starts.
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "frugal/converter/converter.h"
#include "frugal/converter/import.h"

namespace frugal::converter {
namespace {

using internal::NumberText;
using internal::ShapeText;

using Json = nlohmann::json;

constexpr const char* kRecordName = "architecture.json";
constexpr const char* kOptimizerPrefix = "optimizer/";

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw ConvertError(source + ": " + what);
}

// The JSON text of a field for messages, or "(missing)".
std::string FieldText(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? std::string("(missing)") : it->dump();
}

// An integer field in [minimum, uint32 max].
std::uint32_t ReadUint32(const Json& object, const char* key, std::uint32_t minimum,
                         const std::string& source, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) Fail(source, where + ": \"" + key + "\" is missing");
  constexpr std::uint64_t kMaximum = std::numeric_limits<std::uint32_t>::max();
  bool in_range = false;
  if (it->is_number_unsigned()) {
    const std::uint64_t value = it->get<std::uint64_t>();
    in_range = value >= minimum && value <= kMaximum;
  } else if (it->is_number_integer()) {
    // nlohmann::json stores only negative integers as signed.
    const std::int64_t value = it->get<std::int64_t>();
    in_range = value >= std::int64_t{minimum} && value <= static_cast<std::int64_t>(kMaximum);
  }
  if (!in_range) {
    Fail(source, where + ": \"" + key + "\" = " + it->dump() + " is not an integer in [" +
                     std::to_string(minimum) + ", " +
                     std::to_string(std::numeric_limits<std::uint32_t>::max()) + "]");
  }
  return static_cast<std::uint32_t>(it->get<std::uint64_t>());
}

// An optional string field; absent gives "".
std::string ReadOptionalString(const Json& object, const char* key, const std::string& source,
                               const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) return "";
  if (!it->is_string()) Fail(source, where + ": \"" + key + "\" = " + it->dump() + " is not a string");
  return it->get<std::string>();
}

Json ParseRecord(const npz::Archive& archive, const std::string& source) {
  const npz::RawMember* member = archive.FindRaw(kRecordName);
  if (member == nullptr) {
    Fail(source, "member architecture.json is missing; a checkpoint needs it to describe its layers "
                 "(frugal-train writes it)");
  }
  Json record;
  try {
    record = Json::parse(member->bytes);
  } catch (const Json::exception& error) {
    Fail(source, std::string("architecture.json is not valid JSON: ") + error.what());
  }
  if (!record.is_object()) Fail(source, "architecture.json is not a JSON object");
  if (FieldText(record, "format") != "\"frugal-checkpoint\"") {
    Fail(source, "architecture.json: \"format\" = " + FieldText(record, "format") +
                     " is not \"frugal-checkpoint\"");
  }
  if (FieldText(record, "version") != "1") {
    Fail(source, "architecture.json: \"version\" = " + FieldText(record, "version") +
                     " is not supported (this converter reads version 1)");
  }
  return record;
}

float ReadInputScale(const Json& record, const std::string& source) {
  const auto it = record.find("input_scale");
  const bool valid = it != record.end() && it->is_number() && std::isfinite(it->get<double>()) &&
                     it->get<double>() > 0.0;
  // The metadata stores a float, so the value must stay finite and positive as one.
  const float scale = valid ? static_cast<float>(it->get<double>()) : 0.0f;
  if (!valid || !std::isfinite(scale) || !(scale > 0.0f)) {
    Fail(source, "architecture.json: \"input_scale\" = " + FieldText(record, "input_scale") +
                     " is not a finite number in (0, 3.4e38]");
  }
  return scale;
}

Activation ReadActivation(const Json& entry, const std::string& source, const std::string& where) {
  const std::string text = FieldText(entry, "activation");
  if (text == "\"relu\"") return Activation::kRelu;
  if (text == "\"none\"") return Activation::kNone;
  Fail(source, where + ": \"activation\" = " + text + " is not \"relu\" or \"none\"");
}

const npz::Array& FindArray(const npz::Archive& archive, const std::string& name, const std::string& source) {
  const npz::Array* array = archive.FindArray(name);
  if (array == nullptr) Fail(source, "array " + name + " is missing");
  // npz::Read guarantees this; an archive built in memory might not.
  std::size_t count = 1;
  for (const std::size_t dimension : array->shape) count *= dimension;
  if (array->data.size() != count) {
    Fail(source, name + ": shape " + ShapeText(array->shape) + " has " + std::to_string(count) +
                     " elements, but the array holds " + std::to_string(array->data.size()));
  }
  return *array;
}

// Rejects NaN and infinity, naming the element by its index in the stored array.
void CheckFinite(const npz::Array& array, const std::string& source) {
  for (std::size_t i = 0; i < array.data.size(); ++i) {
    if (std::isfinite(array.data[i])) continue;
    std::string index;
    if (array.shape.size() == 2) {
      index = std::to_string(i / array.shape[1]) + ", " + std::to_string(i % array.shape[1]);
    } else {
      index = std::to_string(i);
    }
    Fail(source, array.name + "[" + index + "] = " + NumberText(array.data[i]) +
                     "; weights and biases must be finite");
  }
}

// Builds layer `position` (0-based) from its record entry and arrays. `input_size` is
// the previous layer's output size, or the model's input size for the first layer.
// `names` collects the layer names seen so far, so that duplicates are rejected.
Layer ReadLayer(const npz::Archive& archive, const Json& entry, std::size_t position,
                std::uint32_t input_size, const std::string& previous, std::set<std::string>& names,
                const std::string& source) {
  const std::string where = "architecture.json: layers[" + std::to_string(position) + "]";
  if (!entry.is_object()) Fail(source, where + " is not a JSON object");
  Layer layer;
  layer.name = ReadOptionalString(entry, "name", source, where);
  if (layer.name.empty()) Fail(source, where + ": \"name\" is missing or empty");
  if (!names.insert(layer.name).second) {
    Fail(source, where + ": name \"" + layer.name + "\" is used by an earlier layer");
  }
  const std::string named = where + " (" + layer.name + ")";
  layer.output_size = ReadUint32(entry, "units", 1, source, named);
  layer.activation = ReadActivation(entry, source, named);
  layer.input_size = input_size;

  // The runtime indexes weights with uint32, so rows * columns must fit.
  const std::uint64_t weight_count = std::uint64_t{layer.input_size} * layer.output_size;
  if (weight_count > std::numeric_limits<std::uint32_t>::max()) {
    Fail(source, layer.name + ": " + std::to_string(layer.input_size) + " x " +
                     std::to_string(layer.output_size) + " = " + std::to_string(weight_count) +
                     " weights exceed the runtime's limit of 4294967295");
  }

  const npz::Array& kernel = FindArray(archive, layer.name + "/kernel", source);
  const std::vector<std::size_t> kernel_shape = {layer.input_size, layer.output_size};
  if (kernel.shape != kernel_shape) {
    Fail(source, kernel.name + ": shape " + ShapeText(kernel.shape) + " is not [inputs, outputs] = " +
                     ShapeText(kernel_shape) + " (inputs from " + previous + ", outputs from \"units\")");
  }
  const npz::Array& bias = FindArray(archive, layer.name + "/bias", source);
  if (bias.shape != std::vector<std::size_t>{layer.output_size}) {
    Fail(source, bias.name + ": shape " + ShapeText(bias.shape) + " is not [" +
                     std::to_string(layer.output_size) + "], the layer's \"units\"");
  }
  CheckFinite(kernel, source);
  CheckFinite(bias, source);

  // Keras stores [inputs, outputs]; .frugal rows are outputs.
  layer.weights.resize(weight_count);
  for (std::size_t in = 0; in < layer.input_size; ++in) {
    for (std::size_t out = 0; out < layer.output_size; ++out) {
      layer.weights[out * layer.input_size + in] = kernel.data[in * layer.output_size + out];
    }
  }
  layer.bias = bias.data;
  return layer;
}

}  // namespace

Checkpoint ParseCheckpoint(const npz::Archive& archive, const std::string& source) {
  const Json record = ParseRecord(archive, source);

  Checkpoint checkpoint;
  checkpoint.input_size = ReadUint32(record, "input_size", 1, source, kRecordName);
  checkpoint.input_scale = ReadInputScale(record, source);
  checkpoint.class_count = ReadUint32(record, "class_count", 0, source, kRecordName);
  checkpoint.producer = ReadOptionalString(record, "producer", source, kRecordName);
  checkpoint.description = ReadOptionalString(record, "description", source, kRecordName);

  const auto layers = record.find("layers");
  if (layers == record.end() || !layers->is_array() || layers->empty()) {
    Fail(source, "architecture.json: \"layers\" = " + FieldText(record, "layers") +
                     " is not a non-empty array");
  }

  std::set<std::string> names;
  std::uint32_t inputs = checkpoint.input_size;
  std::string previous = "\"input_size\"";
  for (std::size_t i = 0; i < layers->size(); ++i) {
    Layer layer = ReadLayer(archive, (*layers)[i], i, inputs, previous, names, source);
    inputs = layer.output_size;
    previous = layer.name + "'s \"units\"";
    checkpoint.layers.push_back(std::move(layer));
  }

  // Every array outside optimizer/ must belong to a layer of the record, so a checkpoint
  // with more layers than its record declares is rejected instead of silently truncated.
  for (const npz::Array& array : archive.arrays) {
    if (array.name.rfind(kOptimizerPrefix, 0) == 0) continue;
    const std::size_t slash = array.name.rfind('/');
    const std::string owner = slash == std::string::npos ? "" : array.name.substr(0, slash);
    const std::string role = slash == std::string::npos ? array.name : array.name.substr(slash + 1);
    if (names.count(owner) == 0 || (role != "kernel" && role != "bias")) {
      std::string listed;
      for (const Layer& layer : checkpoint.layers) listed += (listed.empty() ? "" : ", ") + layer.name;
      Fail(source, "array " + array.name + " belongs to no layer in architecture.json (layers: " + listed +
                       "); a layer needs a record entry, <name>/kernel and <name>/bias");
    }
  }

  const std::uint32_t outputs = checkpoint.layers.back().output_size;
  if (checkpoint.class_count != 0 && checkpoint.class_count != outputs) {
    Fail(source, "architecture.json: \"class_count\" = " + std::to_string(checkpoint.class_count) +
                     " is neither 0 nor the last layer's " + std::to_string(outputs) + " units");
  }
  return checkpoint;
}

Checkpoint ReadCheckpoint(const std::string& path) {
  npz::Archive archive;
  try {
    archive = npz::Read(path);
  } catch (const npz::NpzError& error) {
    throw ConvertError(error.what());
  }
  return ParseCheckpoint(archive, path);
}

}  // namespace frugal::converter
