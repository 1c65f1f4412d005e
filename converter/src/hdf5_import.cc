// Reads Dense layers from a Keras HDF5 file through the HDF5 C API: a whole model
// (model.save("m.h5"), weights under model_weights/ and the architecture in the
// model_config attribute) or weights only (model.save_weights("m.h5")). Layer order
// comes from the layer_names attribute and each layer's weights from weight_names.
#include <hdf5.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/converter/import.h"

namespace frugal::converter {
namespace {

using Json = nlohmann::json;
using internal::ShapeText;

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw ConvertError(source + ": " + what);
}

// Closes an HDF5 identifier on scope exit.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Reads a string attribute, scalar or 1-D, fixed or variable length. Returns nullopt
// when the object has no attribute of that name.
std::optional<std::vector<std::string>> ReadStrings(hid_t object, const char* name, const std::string& where,
                                                    const std::string& source) {
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  const Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  const Handle type(H5Aget_type(attribute.get()), H5Tclose);
  const Handle space(H5Aget_space(attribute.get()), H5Sclose);
  if (!attribute.valid() || !type.valid() || !space.valid()) Fail(source, where + ": cannot open attribute " + name);
  if (H5Tget_class(type.get()) != H5T_STRING) Fail(source, where + ": attribute " + name + " is not a string");
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) Fail(source, where + ": attribute " + name + " has no valid extent");

  std::vector<std::string> strings;
  if (count == 0) return strings;  // h5py writes an empty weight_names for layers without weights
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> pointers(static_cast<std::size_t>(count), nullptr);
    const Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
    if (H5Aread(attribute.get(), memory.get(), pointers.data()) < 0) Fail(source, where + ": cannot read attribute " + name);
    for (char* text : pointers) strings.emplace_back(text != nullptr ? text : "");
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, pointers.data());
  } else {
    const std::size_t size = H5Tget_size(type.get());
    std::vector<char> bytes(size * static_cast<std::size_t>(count));
    if (H5Aread(attribute.get(), type.get(), bytes.data()) < 0) Fail(source, where + ": cannot read attribute " + name);
    for (hssize_t i = 0; i < count; ++i) {
      const char* begin = bytes.data() + static_cast<std::size_t>(i) * size;
      std::size_t length = 0;
      while (length < size && begin[length] != '\0') ++length;  // numpy pads with NULs
      strings.emplace_back(begin, length);
    }
  }
  return strings;
}

struct Dataset {
  std::vector<std::size_t> shape;
  std::vector<float> data;
};

// Reads a floating-point dataset as float32; HDF5 converts float16 and float64.
Dataset ReadDataset(hid_t file, const std::string& path, const std::string& source) {
  if (H5Lexists(file, path.c_str(), H5P_DEFAULT) <= 0) Fail(source, "dataset " + path + " is missing");
  const Handle dataset(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) Fail(source, "cannot open dataset " + path);
  const Handle type(H5Dget_type(dataset.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT) {
    Fail(source, "dataset " + path + " has HDF5 type class " + std::to_string(static_cast<int>(H5Tget_class(type.get()))) +
                     ", expected a floating-point type (float16, float32 or float64)");
  }
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) Fail(source, "dataset " + path + " has no valid extent");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Dataset result;
  std::size_t count = 1;
  for (const hsize_t dim : dims) {
    result.shape.push_back(static_cast<std::size_t>(dim));
    count *= static_cast<std::size_t>(dim);
  }
  result.data.resize(count);
  if (count > 0 && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, result.data.data()) < 0) {
    Fail(source, "cannot read dataset " + path + " as float32");
  }
  return result;
}

// Keras layers that hold no weights and do not change a batch-1 vector at inference.
bool IsPassThrough(const std::string& class_name) {
  return class_name == "InputLayer" || class_name == "Flatten" || class_name == "Dropout" ||
         class_name == "Reshape";
}

Activation ParseActivation(const std::string& text, const std::string& layer, const std::string& source) {
  if (text == "relu") return Activation::kRelu;
  if (text == "linear" || text.empty()) return Activation::kNone;
  Fail(source, "layer " + layer + ": activation \"" + text + "\" is not supported (relu or linear)");
}

// The settings that model_config records for each Dense layer, by name.
struct DenseConfig {
  Activation activation = Activation::kNone;
  bool use_bias = true;
};

std::map<std::string, DenseConfig> ParseModelConfig(const std::string& text, const std::string& source) {
  Json config;
  try {
    config = Json::parse(text);
  } catch (const Json::exception& error) {
    Fail(source, std::string("attribute model_config is not valid JSON: ") + error.what());
  }
  const Json* layers = nullptr;
  if (config.contains("config") && config["config"].is_object() && config["config"].contains("layers")) {
    layers = &config["config"]["layers"];
  } else if (config.contains("config") && config["config"].is_array()) {
    layers = &config["config"];  // Keras 2.0-2.2 Sequential: a bare list of layers
  }
  if (layers == nullptr || !layers->is_array()) Fail(source, "attribute model_config has no config.layers list");

  std::map<std::string, DenseConfig> dense;
  std::string previous;
  for (const Json& entry : *layers) {
    const std::string class_name = entry.value("class_name", "");
    const Json layer_config = entry.value("config", Json::object());
    const std::string name = layer_config.value("name", "");
    if (class_name == "Dense") {
      DenseConfig& layer = dense[name];
      layer.activation = ParseActivation(layer_config.value("activation", "linear"), name, source);
      layer.use_bias = layer_config.value("use_bias", true);
      previous = name;
    } else if (class_name == "Activation" || class_name == "ReLU") {
      const std::string activation = class_name == "ReLU" ? "relu" : layer_config.value("activation", "");
      if (previous.empty() || dense[previous].activation != Activation::kNone) {
        Fail(source, "layer " + name + " (" + class_name + ") does not directly follow a Dense layer without activation");
      }
      dense[previous].activation = ParseActivation(activation, name, source);
    } else if (!IsPassThrough(class_name)) {
      Fail(source, "layer " + name + " (" + class_name +
                       ") is not supported; frugal-convert reads Dense, Activation, ReLU, InputLayer, Flatten, "
                       "Dropout and Reshape");
    }
  }
  return dense;
}

}  // namespace

Checkpoint ReadKerasHdf5(const std::string& path, const ImportOptions& options) {
  // The library's own error stack print is replaced by our messages.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) Fail(path, "cannot open as an HDF5 file");

  const std::optional<std::vector<std::string>> config_text = ReadStrings(file.get(), "model_config", "/", path);
  std::optional<std::map<std::string, DenseConfig>> config;
  if (config_text && !config_text->empty()) config = ParseModelConfig(config_text->front(), path);

  // Whole-model files keep the weights under model_weights/, weights files at the root.
  const bool whole_model = H5Lexists(file.get(), "model_weights", H5P_DEFAULT) > 0;
  const std::string root = whole_model ? "model_weights" : "/";
  const Handle weights_group(H5Gopen2(file.get(), root.c_str(), H5P_DEFAULT), H5Gclose);
  if (!weights_group.valid()) Fail(path, "cannot open group " + root);
  const std::optional<std::vector<std::string>> layer_names = ReadStrings(weights_group.get(), "layer_names", root, path);
  if (!layer_names) Fail(path, "group " + root + " has no layer_names attribute; this is not a Keras HDF5 file");

  Checkpoint model;
  model.producer = "Keras HDF5";
  const std::string prefix = whole_model ? "model_weights/" : "";
  for (const std::string& name : *layer_names) {
    const std::string group_path = prefix + name;
    const Handle group(H5Gopen2(file.get(), group_path.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) Fail(path, "group " + group_path + " (listed in layer_names) is missing");
    const std::vector<std::string> weight_names =
        ReadStrings(group.get(), "weight_names", group_path, path).value_or(std::vector<std::string>{});
    if (weight_names.empty()) continue;  // InputLayer, Flatten, Dropout, Activation

    std::optional<std::string> kernel_path;
    std::optional<std::string> bias_path;
    for (const std::string& weight : weight_names) {
      const std::string base = weight.substr(weight.rfind('/') == std::string::npos ? 0 : weight.rfind('/') + 1);
      const std::string dataset = group_path + "/" + weight;
      if (base.rfind("kernel", 0) == 0) {
        kernel_path = dataset;
      } else if (base.rfind("bias", 0) == 0) {
        bias_path = dataset;
      } else {
        Fail(path, "layer " + name + ": weight " + weight +
                       " is neither a kernel nor a bias; only Dense layers are supported");
      }
    }
    if (!kernel_path) Fail(path, "layer " + name + " has weights but no kernel; only Dense layers are supported");

    const Dataset kernel = ReadDataset(file.get(), *kernel_path, path);
    if (kernel.shape.size() != 2) {
      Fail(path, *kernel_path + ": shape " + ShapeText(kernel.shape) + " is not [inputs, outputs]");
    }
    internal::CheckFinite(kernel.data, kernel.shape, *kernel_path, path);
    Layer layer;
    layer.name = name;
    layer.input_size = static_cast<std::uint32_t>(kernel.shape[0]);
    layer.output_size = static_cast<std::uint32_t>(kernel.shape[1]);
    if (!model.layers.empty() && layer.input_size != model.layers.back().output_size) {
      Fail(path, *kernel_path + ": shape " + ShapeText(kernel.shape) + " reads " + std::to_string(layer.input_size) +
                     " inputs, but layer " + model.layers.back().name + " before it has " +
                     std::to_string(model.layers.back().output_size) + " outputs");
    }
    // Keras kernels are [inputs, outputs]; .frugal rows are outputs.
    layer.weights = internal::Transpose(kernel.data, kernel.shape[0], kernel.shape[1]);
    if (bias_path) {
      const Dataset bias = ReadDataset(file.get(), *bias_path, path);
      if (bias.shape != std::vector<std::size_t>{layer.output_size}) {
        Fail(path, *bias_path + ": shape " + ShapeText(bias.shape) + " is not [" + std::to_string(layer.output_size) +
                       "], the kernel's outputs");
      }
      internal::CheckFinite(bias.data, bias.shape, *bias_path, path);
      layer.bias = bias.data;
    } else {
      layer.bias.assign(layer.output_size, 0.0f);  // Dense(use_bias=False)
    }
    if (config) {
      const auto it = config->find(name);
      if (it == config->end()) Fail(path, "layer " + name + " has weights but is not a Dense layer in model_config");
      layer.activation = it->second.activation;
    }
    model.layers.push_back(std::move(layer));
  }
  return internal::FinishImport(std::move(model), /*activations_known=*/config.has_value(), options, path);
}

}  // namespace frugal::converter
