// Conversion between the in-memory MLP and the .npz checkpoint with architecture.json.
#include "frugal/trainer/checkpoint.h"

#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "frugal/npz.h"
#include "frugal/trainer/data.h"

#ifndef FRUGAL_VERSION_STRING
#define FRUGAL_VERSION_STRING "unknown"
#endif

namespace frugal::trainer {
namespace {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw TrainerError(path + ": " + what);
}

std::string ShapeText(const std::vector<std::size_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// The JSON text of a field for messages, or "(missing)".
std::string FieldText(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? std::string("(missing)") : it->dump();
}

// Reads a positive integer field of the architecture record.
std::size_t PositiveField(const nlohmann::json& object, const char* key, const std::string& path,
                          const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) Fail(path, where + ": \"" + key + "\" is missing");
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) {
    Fail(path, where + ": \"" + key + "\" = " + it->dump() + " is not a positive integer");
  }
  return it->get<std::size_t>();
}

const npz::Array& FindArray(const npz::Archive& archive, const std::string& name,
                            const std::vector<std::size_t>& shape, const std::string& path) {
  const npz::Array* array = archive.FindArray(name);
  if (array == nullptr) Fail(path, "array " + name + " is missing");
  if (array->shape != shape) {
    Fail(path, name + ": shape " + ShapeText(array->shape) + " does not match the expected " +
                   ShapeText(shape) + " from architecture.json");
  }
  for (std::size_t i = 0; i < array->data.size(); ++i) {
    if (!std::isfinite(array->data[i])) {
      Fail(path, name + ": element " + std::to_string(i) + " = " + std::to_string(array->data[i]) +
                     " is not finite");
    }
  }
  return *array;
}

nlohmann::json ParseArchitecture(const npz::Archive& archive, const std::string& path) {
  const npz::RawMember* member = archive.FindRaw("architecture.json");
  if (member == nullptr) Fail(path, "member architecture.json is missing");
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(member->bytes);
  } catch (const nlohmann::json::exception& error) {
    Fail(path, std::string("architecture.json is not valid JSON: ") + error.what());
  }
  if (!record.is_object()) Fail(path, "architecture.json is not a JSON object");
  if (FieldText(record, "format") != "\"frugal-checkpoint\"") {
    Fail(path, "architecture.json: \"format\" = " + FieldText(record, "format") +
                   " is not \"frugal-checkpoint\"");
  }
  if (FieldText(record, "version") != "1") {
    Fail(path, "architecture.json: \"version\" = " + FieldText(record, "version") +
                   " is not supported (this build reads version 1)");
  }
  return record;
}

}  // namespace

void SaveCheckpoint(const std::string& path, const Mlp& model, const std::string& description) {
  npz::Archive archive;
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const DenseLayer& layer : model.layers) {
    const RowMajorMatrix kernel = layer.kernel;
    npz::Array kernel_array;
    kernel_array.name = layer.name + "/kernel";
    kernel_array.shape = {static_cast<std::size_t>(kernel.rows()),
                          static_cast<std::size_t>(kernel.cols())};
    kernel_array.data.assign(kernel.data(), kernel.data() + kernel.size());
    archive.arrays.push_back(std::move(kernel_array));

    npz::Array bias_array;
    bias_array.name = layer.name + "/bias";
    bias_array.shape = {static_cast<std::size_t>(layer.bias.size())};
    bias_array.data.assign(layer.bias.data(), layer.bias.data() + layer.bias.size());
    archive.arrays.push_back(std::move(bias_array));

    nlohmann::ordered_json record;
    record["name"] = layer.name;
    record["units"] = layer.kernel.cols();
    record["activation"] = ActivationName(layer.activation);
    layers.push_back(std::move(record));
  }

  nlohmann::ordered_json architecture;
  architecture["format"] = "frugal-checkpoint";
  architecture["version"] = 1;
  architecture["input_size"] = model.input_size();
  architecture["input_scale"] = model.input_scale;
  architecture["class_count"] = model.class_count();
  architecture["layers"] = std::move(layers);
  architecture["producer"] = std::string("frugal-train ") + FRUGAL_VERSION_STRING;
  architecture["description"] = description;
  archive.raw_members.push_back({"architecture.json", architecture.dump(2) + "\n"});

  try {
    npz::Write(path, archive);
  } catch (const std::exception& error) {
    throw TrainerError(error.what());
  }
}

Mlp LoadCheckpoint(const std::string& path) {
  npz::Archive archive;
  try {
    archive = npz::Read(path);
  } catch (const std::exception& error) {
    throw TrainerError(error.what());
  }
  const nlohmann::json record = ParseArchitecture(archive, path);

  Mlp model;
  const std::size_t input_size = PositiveField(record, "input_size", path, "architecture.json");
  const std::size_t class_count = PositiveField(record, "class_count", path, "architecture.json");
  const auto scale = record.find("input_scale");
  if (scale == record.end() || !scale->is_number() || !(scale->get<double>() > 0.0) ||
      !std::isfinite(scale->get<double>())) {
    Fail(path, "architecture.json: \"input_scale\" = " + FieldText(record, "input_scale") +
                   " is not a positive finite number");
  }
  model.input_scale = scale->get<double>();

  const auto layers = record.find("layers");
  if (layers == record.end() || !layers->is_array() || layers->empty()) {
    Fail(path, "architecture.json: \"layers\" must be a non-empty array");
  }
  std::size_t inputs = input_size;
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const nlohmann::json& entry = (*layers)[i];
    const std::string where = "architecture.json: layers[" + std::to_string(i) + "]";
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) {
      Fail(path, where + " has no string \"name\"");
    }
    DenseLayer layer;
    layer.name = entry["name"].get<std::string>();
    const std::size_t units = PositiveField(entry, "units", path, where + " (" + layer.name + ")");
    const std::string activation = FieldText(entry, "activation");
    if (activation == "\"relu\"") {
      layer.activation = Activation::kRelu;
    } else if (activation == "\"none\"") {
      layer.activation = Activation::kNone;
    } else {
      Fail(path, where + " (" + layer.name + "): \"activation\" = " + activation +
                     " is not \"relu\" or \"none\"");
    }

    const npz::Array& kernel = FindArray(archive, layer.name + "/kernel", {inputs, units}, path);
    const npz::Array& bias = FindArray(archive, layer.name + "/bias", {units}, path);
    const Eigen::Index rows = static_cast<Eigen::Index>(inputs);
    const Eigen::Index cols = static_cast<Eigen::Index>(units);
    layer.kernel = Eigen::Map<const RowMajorMatrix>(kernel.data.data(), rows, cols);
    layer.bias = Eigen::Map<const Eigen::VectorXf>(bias.data.data(), cols);
    model.layers.push_back(std::move(layer));
    inputs = units;
  }
  if (inputs != class_count) {
    Fail(path, "architecture.json: \"class_count\" = " + std::to_string(class_count) +
                   " does not match the last layer's " + std::to_string(inputs) + " units");
  }
  return model;
}

}  // namespace frugal::trainer
