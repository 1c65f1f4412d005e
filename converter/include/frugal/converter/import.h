// Readers for the files that training frameworks write: .npz (frugal-train's checkpoint,
// or a PyTorch state_dict or Keras weights saved with numpy.savez), ONNX and Keras HDF5.
// Each returns a validated Checkpoint in the .frugal orientation ([outputs, inputs]).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frugal/converter/converter.h"
#include "frugal/npz.h"

namespace frugal::converter {

// How a .npz without architecture.json names and orients its weights.
enum class WeightLayout {
  kAuto,     // PyTorch when any array name ends in ".weight", else Keras
  kKeras,    // <layer>/kernel [inputs, outputs] and <layer>/bias
  kPytorch,  // <layer>.weight [outputs, inputs] and <layer>.bias (nn.Linear's state_dict)
};

enum class InputFormat { kNpz, kOnnx, kHdf5 };

// Architecture facts for files that do not carry them. Set fields replace the values
// in the file, for every input format.
struct ImportOptions {
  WeightLayout layout = WeightLayout::kAuto;
  // One per layer. When neither the file nor this list gives them, hidden layers get
  // ReLU and the last layer none, and the checkpoint's warnings report it.
  std::vector<Activation> activations;
  std::optional<float> input_scale;
  std::optional<std::uint32_t> class_count;
};

// Detects the format from the file's first bytes (ZIP for .npz, the HDF5 signature), and
// otherwise from the name (.onnx). Throws ConvertError naming the file.
InputFormat DetectFormat(const std::string& path);

// Whether this build reads the format (ONNX and HDF5 are optional dependencies).
bool FormatSupported(InputFormat format);

// Reads any supported file and applies `options`. Throws ConvertError naming the file.
Checkpoint ReadModel(const std::string& path, const ImportOptions& options = {});

// A .npz archive: frugal-train's checkpoint when it has architecture.json, else a
// PyTorch state_dict or Keras weights by array names, in archive order.
Checkpoint ParseArchive(const npz::Archive& archive, const std::string& source, const ImportOptions& options);

// An ONNX ModelProto in its serialized form. Throws ConvertError when the build has no
// ONNX support.
Checkpoint ParseOnnx(const std::string& bytes, const std::string& source, const ImportOptions& options);

// A Keras HDF5 file: a whole model (model.save("m.h5")) or weights only
// (model.save_weights("m.h5")). Throws ConvertError when the build has no HDF5 support.
Checkpoint ReadKerasHdf5(const std::string& path, const ImportOptions& options);

// ConvertFile (converter.h) with architecture options for files that lack them.
Conversion ConvertFile(const std::string& input, const std::string& output, const ConvertOptions& options,
                       const ImportOptions& import_options);

namespace internal {

// Shared by the readers: checks that sizes chain and every value is finite, fills in
// activations (from `options`, or the defaults) and the overrides, and returns the model.
// `activations_known` tells whether the layers' activations came from the file.
Checkpoint FinishImport(Checkpoint model, bool activations_known, const ImportOptions& options,
                        const std::string& source);

// Rejects NaN and infinity in `values`, naming `tensor` and the element's index in
// `shape` (row-major), for example "model.onnx: fc1.weight[2, 0] = nan".
void CheckFinite(const std::vector<float>& values, const std::vector<std::size_t>& shape, const std::string& tensor,
                 const std::string& source);

// Row-major [rows, cols] to row-major [cols, rows].
std::vector<float> Transpose(const std::vector<float>& values, std::size_t rows, std::size_t cols);

std::string ShapeText(const std::vector<std::size_t>& shape);
std::string NumberText(double value);

}  // namespace internal

}  // namespace frugal::converter
