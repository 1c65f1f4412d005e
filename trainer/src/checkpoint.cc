// Conversion between the in-memory MLP and the .npz checkpoint with architecture.json.
#include "frugal/trainer/checkpoint.h"

#include <array>
#include <cmath>
#include <cstdint>
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

npz::Archive ModelArchive(const Mlp& model, const std::string& description) {
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
  return archive;
}

void WriteArchive(const std::string& path, const npz::Archive& archive) {
  try {
    npz::Write(path, archive);
  } catch (const std::exception& error) {
    throw TrainerError(error.what());
  }
}

npz::Archive ReadArchive(const std::string& path) {
  try {
    return npz::Read(path);
  } catch (const std::exception& error) {
    throw TrainerError(error.what());
  }
}

Mlp ModelFromArchive(const npz::Archive& archive, const std::string& path) {
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

constexpr const char* kTrainingRecord = "optimizer/training.json";

// Name and shape of variable `variable` (kernel of layer i at 2i, bias at 2i + 1).
std::pair<std::string, std::vector<std::size_t>> VariableShape(const Mlp& model, std::size_t variable) {
  const DenseLayer& layer = model.layers[variable / 2];
  if (variable % 2 == 0) {
    return {layer.name + "/kernel",
            {static_cast<std::size_t>(layer.kernel.rows()), static_cast<std::size_t>(layer.kernel.cols())}};
  }
  return {layer.name + "/bias", {static_cast<std::size_t>(layer.bias.size())}};
}

// Converts a variable-sized array from the trainer's memory order (column-major for
// kernels) into a C-order .npy array shaped like the variable.
npz::Array ToNpyArray(const std::string& name, const std::vector<std::size_t>& shape,
                      const std::vector<float>& values) {
  npz::Array array;
  array.name = name;
  array.shape = shape;
  if (shape.size() == 2) {
    const Eigen::Index rows = static_cast<Eigen::Index>(shape[0]);
    const Eigen::Index cols = static_cast<Eigen::Index>(shape[1]);
    const RowMajorMatrix row_major = Eigen::Map<const Eigen::MatrixXf>(values.data(), rows, cols);
    array.data.assign(row_major.data(), row_major.data() + row_major.size());
  } else {
    array.data = values;
  }
  return array;
}

// The inverse of ToNpyArray, after FindArray checked the shape.
std::vector<float> FromNpyArray(const npz::Array& array) {
  if (array.shape.size() != 2) return array.data;
  const Eigen::Index rows = static_cast<Eigen::Index>(array.shape[0]);
  const Eigen::Index cols = static_cast<Eigen::Index>(array.shape[1]);
  const Eigen::MatrixXf column_major = Eigen::Map<const RowMajorMatrix>(array.data.data(), rows, cols);
  return std::vector<float>(column_major.data(), column_major.data() + column_major.size());
}

}  // namespace

void SaveCheckpoint(const std::string& path, const Mlp& model, const std::string& description) {
  WriteArchive(path, ModelArchive(model, description));
}

Mlp LoadCheckpoint(const std::string& path) { return ModelFromArchive(ReadArchive(path), path); }

void SaveTrainState(const std::string& path, const TrainState& state, const std::string& description) {
  npz::Archive archive = ModelArchive(state.model, description);
  const std::size_t variables = 2 * state.model.layers.size();

  nlohmann::ordered_json record;
  record["format"] = "frugal-training-state";
  record["version"] = 1;
  record["epochs_done"] = state.epochs_done;
  record["rng_state"] = state.rng_state;
  record["optimizer"] = state.optimizer_name;
  record["slots"] = state.optimizer_slots;
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (std::size_t v = 0; v < variables; ++v) {
    const bool stepped = v < state.optimizer_state.size() && !state.optimizer_state[v].slots.empty();
    const auto [name, shape] = VariableShape(state.model, v);
    steps.push_back(v < state.optimizer_state.size() ? state.optimizer_state[v].steps : 0);
    if (!stepped) continue;
    for (std::size_t k = 0; k < state.optimizer_slots.size(); ++k) {
      archive.arrays.push_back(ToNpyArray("optimizer/" + name + "/" + state.optimizer_slots[k], shape,
                                          state.optimizer_state[v].slots[k]));
    }
  }
  record["steps"] = std::move(steps);
  record["retraining"] = !state.mask.empty();
  // nlohmann::json writes the shortest decimal that reads back as the same double.
  record["l1_target_scale"] = state.l1_target_scale;
  for (std::size_t v = 0; v < state.mask.size(); ++v) {
    const auto [name, shape] = VariableShape(state.model, v);
    archive.arrays.push_back(ToNpyArray("optimizer/mask/" + name, shape, state.mask[v]));
  }
  archive.raw_members.push_back({kTrainingRecord, record.dump(2) + "\n"});
  WriteArchive(path, archive);
}

TrainState LoadTrainState(const std::string& path) {
  const npz::Archive archive = ReadArchive(path);
  TrainState state;
  state.model = ModelFromArchive(archive, path);

  const npz::RawMember* member = archive.FindRaw(kTrainingRecord);
  if (member == nullptr) {
    Fail(path, std::string("member ") + kTrainingRecord +
                   " is missing; only checkpoints written by frugal-train can be resumed");
  }
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(member->bytes);
  } catch (const nlohmann::json::exception& error) {
    Fail(path, std::string(kTrainingRecord) + " is not valid JSON: " + error.what());
  }
  const std::string where = kTrainingRecord;
  if (!record.is_object() || FieldText(record, "format") != "\"frugal-training-state\"" ||
      FieldText(record, "version") != "1") {
    Fail(path, where + " is not a version 1 \"frugal-training-state\" record");
  }
  const std::size_t variables = 2 * state.model.layers.size();
  try {
    state.epochs_done = record.at("epochs_done").get<std::size_t>();
    state.rng_state = record.at("rng_state").get<std::array<std::uint64_t, 4>>();
    state.optimizer_name = record.at("optimizer").get<std::string>();
    state.optimizer_slots = record.at("slots").get<std::vector<std::string>>();
    const auto steps = record.at("steps").get<std::vector<std::uint64_t>>();
    if (steps.size() != variables) {
      Fail(path, where + ": \"steps\" has " + std::to_string(steps.size()) + " entries for " +
                     std::to_string(variables) + " variables");
    }
    state.optimizer_state.resize(variables);
    for (std::size_t v = 0; v < variables; ++v) state.optimizer_state[v].steps = steps[v];
    if (record.at("retraining").get<bool>()) state.mask.resize(variables);
    // Absent from checkpoints written before the target mode, which had no L1 growth.
    state.l1_target_scale = record.value("l1_target_scale", 1.0);
    if (!(state.l1_target_scale > 0.0) || !std::isfinite(state.l1_target_scale)) {
      Fail(path, where + ": \"l1_target_scale\" = " + FieldText(record, "l1_target_scale") +
                     " must be positive and finite");
    }
  } catch (const nlohmann::json::exception& error) {
    Fail(path, where + ": " + error.what());
  }

  for (std::size_t v = 0; v < variables; ++v) {
    const auto [name, shape] = VariableShape(state.model, v);
    VariableState& entry = state.optimizer_state[v];
    // Slots exist for a variable once it has been stepped; an optimizer without slots
    // (sgd, proximal-sgd) stores none.
    if (entry.steps > 0) {
      for (const std::string& slot : state.optimizer_slots) {
        entry.slots.push_back(FromNpyArray(FindArray(archive, "optimizer/" + name + "/" + slot, shape, path)));
      }
    }
    if (!state.mask.empty()) {
      state.mask[v] = FromNpyArray(FindArray(archive, "optimizer/mask/" + name, shape, path));
    }
  }
  return state;
}

}  // namespace frugal::trainer
