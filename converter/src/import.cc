// Format detection, the checks every reader shares, and .npz archives without
// architecture.json (a PyTorch state_dict or Keras weights saved with numpy.savez).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "frugal/converter/import.h"

namespace frugal::converter {
namespace {

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw ConvertError(source + ": " + what);
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const char* ActivationText(Activation activation) { return activation == Activation::kRelu ? "relu" : "none"; }

// The weight and bias arrays of one layer of a state_dict.
struct NamedLayer {
  std::string name;
  const npz::Array* weight = nullptr;
  const npz::Array* bias = nullptr;
};

// Groups the arrays by layer in archive order. PyTorch names are "<layer>.weight" and
// "<layer>.bias"; Keras names are "<layer>/kernel" and "<layer>/bias".
std::vector<NamedLayer> GroupLayers(const npz::Archive& archive, WeightLayout layout, const std::string& source) {
  const std::string weight_suffix = layout == WeightLayout::kPytorch ? ".weight" : "/kernel";
  const std::string bias_suffix = layout == WeightLayout::kPytorch ? ".bias" : "/bias";
  std::vector<NamedLayer> layers;
  auto find_or_add = [&layers](const std::string& name) -> NamedLayer& {
    for (NamedLayer& layer : layers) {
      if (layer.name == name) return layer;
    }
    layers.push_back({name});
    return layers.back();
  };
  for (const npz::Array& array : archive.arrays) {
    if (EndsWith(array.name, weight_suffix)) {
      find_or_add(array.name.substr(0, array.name.size() - weight_suffix.size())).weight = &array;
    } else if (EndsWith(array.name, bias_suffix)) {
      find_or_add(array.name.substr(0, array.name.size() - bias_suffix.size())).bias = &array;
    } else {
      Fail(source, "array " + array.name + " is neither <layer>" + weight_suffix + " nor <layer>" + bias_suffix +
                       " (" + (layout == WeightLayout::kPytorch ? "PyTorch" : "Keras") +
                       " layout); only fully connected layers are supported");
    }
  }
  for (const NamedLayer& layer : layers) {
    if (layer.weight == nullptr) Fail(source, "array " + layer.name + bias_suffix + " has no " + layer.name + weight_suffix);
  }
  if (layers.empty()) Fail(source, "the archive holds no arrays and no architecture.json");
  return layers;
}

}  // namespace

namespace internal {

std::string NumberText(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

std::string ShapeText(const std::vector<std::size_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

void CheckFinite(const std::vector<float>& values, const std::vector<std::size_t>& shape, const std::string& tensor,
                 const std::string& source) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    std::string index = std::to_string(i);
    if (shape.size() == 2) index = std::to_string(i / shape[1]) + ", " + std::to_string(i % shape[1]);
    Fail(source, tensor + "[" + index + "] = " + NumberText(values[i]) + "; weights and biases must be finite");
  }
}

std::vector<float> Transpose(const std::vector<float>& values, std::size_t rows, std::size_t cols) {
  std::vector<float> result(values.size());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) result[c * rows + r] = values[r * cols + c];
  }
  return result;
}

Checkpoint FinishImport(Checkpoint model, bool activations_known, const ImportOptions& options,
                        const std::string& source) {
  if (model.layers.empty()) Fail(source, "the model has no fully connected layers");
  model.input_size = model.layers.front().input_size;

  std::set<std::string> names;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& layer = model.layers[i];
    if (!names.insert(layer.name).second) Fail(source, "layer name " + layer.name + " is used by two layers");
    if (i > 0 && layer.input_size != model.layers[i - 1].output_size) {
      Fail(source, "layer " + layer.name + " has " + std::to_string(layer.input_size) + " inputs, but layer " +
                       model.layers[i - 1].name + " before it has " +
                       std::to_string(model.layers[i - 1].output_size) + " outputs");
    }
    const std::uint64_t count = std::uint64_t{layer.input_size} * layer.output_size;
    if (count > std::numeric_limits<std::uint32_t>::max()) {
      Fail(source, "layer " + layer.name + ": " + std::to_string(count) +
                       " weights exceed the runtime's limit of 4294967295");
    }
  }

  if (!options.activations.empty()) {
    if (options.activations.size() != model.layers.size()) {
      Fail(source, "--activations lists " + std::to_string(options.activations.size()) +
                       " activations, but the model has " + std::to_string(model.layers.size()) + " layers");
    }
    for (std::size_t i = 0; i < model.layers.size(); ++i) model.layers[i].activation = options.activations[i];
  } else if (!activations_known) {
    std::string listed;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      model.layers[i].activation = i + 1 < model.layers.size() ? Activation::kRelu : Activation::kNone;
      if (i > 0) listed += ",";
      listed += ActivationText(model.layers[i].activation);
    }
    model.warnings.push_back(source + ": the file does not give activations; assuming " + listed +
                             " (set them with --activations)");
  }

  if (options.input_scale) {
    if (!std::isfinite(*options.input_scale) || !(*options.input_scale > 0.0f)) {
      Fail(source, "input scale " + NumberText(*options.input_scale) + " is not a finite number > 0");
    }
    model.input_scale = *options.input_scale;
  }
  if (options.class_count) model.class_count = *options.class_count;
  const std::uint32_t outputs = model.layers.back().output_size;
  if (model.class_count != 0 && model.class_count != outputs) {
    Fail(source, "class count " + std::to_string(model.class_count) + " is neither 0 nor the last layer's " +
                     std::to_string(outputs) + " outputs");
  }
  return model;
}

}  // namespace internal

Checkpoint ParseArchive(const npz::Archive& archive, const std::string& source, const ImportOptions& options) {
  if (archive.FindRaw("architecture.json") != nullptr) {
    return internal::FinishImport(ParseCheckpoint(archive, source), /*activations_known=*/true, options, source);
  }

  WeightLayout layout = options.layout;
  if (layout == WeightLayout::kAuto) {
    layout = WeightLayout::kKeras;
    for (const npz::Array& array : archive.arrays) {
      if (EndsWith(array.name, ".weight")) layout = WeightLayout::kPytorch;
    }
  }
  const bool pytorch = layout == WeightLayout::kPytorch;

  Checkpoint model;
  model.producer = pytorch ? "numpy.savez (PyTorch state_dict)" : "numpy.savez (Keras weights)";
  for (const NamedLayer& named : GroupLayers(archive, layout, source)) {
    const npz::Array& weight = *named.weight;
    if (weight.shape.size() != 2) {
      Fail(source, weight.name + ": shape " + internal::ShapeText(weight.shape) + " is not 2-D; expected " +
                       (pytorch ? "[outputs, inputs]" : "[inputs, outputs]"));
    }
    Layer layer;
    layer.name = named.name;
    layer.output_size = static_cast<std::uint32_t>(pytorch ? weight.shape[0] : weight.shape[1]);
    layer.input_size = static_cast<std::uint32_t>(pytorch ? weight.shape[1] : weight.shape[0]);
    if (weight.shape[0] > std::numeric_limits<std::uint32_t>::max() ||
        weight.shape[1] > std::numeric_limits<std::uint32_t>::max() || layer.output_size == 0 ||
        layer.input_size == 0) {
      Fail(source, weight.name + ": shape " + internal::ShapeText(weight.shape) +
                       " has a dimension outside [1, 4294967295]");
    }
    if (!model.layers.empty() && layer.input_size != model.layers.back().output_size) {
      Fail(source, weight.name + ": shape " + internal::ShapeText(weight.shape) + " reads " +
                       std::to_string(layer.input_size) + " inputs, but the layer before, " +
                       model.layers.back().name + ", has " + std::to_string(model.layers.back().output_size) +
                       " outputs" + (pytorch ? "" : " (is this a PyTorch [outputs, inputs] weight? try --layout pytorch)"));
    }
    internal::CheckFinite(weight.data, weight.shape, weight.name, source);
    // .frugal rows are outputs: PyTorch's orientation, the transpose of Keras's.
    layer.weights = pytorch ? weight.data : internal::Transpose(weight.data, weight.shape[0], weight.shape[1]);

    if (named.bias == nullptr) {
      layer.bias.assign(layer.output_size, 0.0f);  // a layer built with bias=False
    } else {
      const npz::Array& bias = *named.bias;
      if (bias.shape != std::vector<std::size_t>{layer.output_size}) {
        Fail(source, bias.name + ": shape " + internal::ShapeText(bias.shape) + " is not [" +
                         std::to_string(layer.output_size) + "], the outputs of " + weight.name);
      }
      internal::CheckFinite(bias.data, bias.shape, bias.name, source);
      layer.bias = bias.data;
    }
    model.layers.push_back(std::move(layer));
  }
  return internal::FinishImport(std::move(model), /*activations_known=*/false, options, source);
}

InputFormat DetectFormat(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, "cannot open the file for reading");
  char magic[8] = {};
  in.read(magic, sizeof magic);
  const std::string head(magic, static_cast<std::size_t>(in.gcount()));
  if (head.rfind("PK", 0) == 0) return InputFormat::kNpz;
  if (head == std::string("\x89HDF\r\n\x1a\n", 8)) return InputFormat::kHdf5;
  if (EndsWith(path, ".onnx")) return InputFormat::kOnnx;
  Fail(path, "unknown file type: not a ZIP (.npz) or HDF5 file, and the name does not end in .onnx");
}

bool FormatSupported(InputFormat format) {
  switch (format) {
    case InputFormat::kNpz:
      return true;
    case InputFormat::kOnnx:
#ifdef FRUGAL_WITH_ONNX
      return true;
#else
      return false;
#endif
    case InputFormat::kHdf5:
#ifdef FRUGAL_WITH_HDF5
      return true;
#else
      return false;
#endif
  }
  return false;
}

Checkpoint ReadModel(const std::string& path, const ImportOptions& options) {
  const InputFormat format = DetectFormat(path);
  switch (format) {
    case InputFormat::kNpz: {
      npz::Archive archive;
      try {
        archive = npz::Read(path);
      } catch (const npz::NpzError& error) {
        throw ConvertError(error.what());
      }
      return ParseArchive(archive, path, options);
    }
    case InputFormat::kOnnx: {
      std::ifstream in(path, std::ios::binary);
      if (!in) Fail(path, "cannot open the file for reading");
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (in.bad()) Fail(path, "read failed");
      return ParseOnnx(bytes, path, options);
    }
    case InputFormat::kHdf5:
      return ReadKerasHdf5(path, options);
  }
  Fail(path, "unknown input format");
}

#ifndef FRUGAL_WITH_ONNX
Checkpoint ParseOnnx(const std::string&, const std::string& source, const ImportOptions&) {
  Fail(source, "this frugal-convert was built without ONNX support (configure with FRUGAL_WITH_ONNX=ON and "
               "libonnx-dev installed)");
}
#endif

#ifndef FRUGAL_WITH_HDF5
Checkpoint ReadKerasHdf5(const std::string& path, const ImportOptions&) {
  Fail(path, "this frugal-convert was built without HDF5 support (configure with FRUGAL_WITH_HDF5=ON and "
             "libhdf5-dev installed)");
}
#endif

}  // namespace frugal::converter
