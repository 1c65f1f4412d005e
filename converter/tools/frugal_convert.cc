// frugal-convert: converts a trained model (.npz, ONNX or Keras HDF5) into a .frugal
// model and prints per-layer sizes and encodings.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstdint>
#include <exception>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/converter/converter.h"
#include "frugal/converter/import.h"
#include "frugal/idx.h"

namespace {

constexpr char kUsage[] = R"usage(Usage: frugal-convert MODEL -o MODEL.frugal [options]

Converts a trained fully connected network into a .frugal model. MODEL is one of
  - a .npz checkpoint written by frugal-train (with architecture.json),
  - a .npz of a PyTorch state_dict (<layer>.weight [outputs, inputs], <layer>.bias)
    or of Keras weights (<layer>/kernel [inputs, outputs], <layer>/bias), saved with
    numpy.savez in layer order,
  - an ONNX model (.onnx) of Gemm, MatMul + Add, Relu, Identity, Flatten and Reshape,
  - a Keras HDF5 file (.h5): a whole model or weights only.
The per-layer table goes to stdout, progress, warnings and errors to stderr. On any
error no output file is created and an existing one is left unchanged.

Options:
  -o, --output FILE     The .frugal file to write. Required.
  --threshold T         Weights with |w| <= T become zeros before encoding; biases
                        are kept. T is in the weights' own units, a finite number
                        >= 0. Default: 0, which drops only exact zeros.
  --target-density D    After the threshold, keeps the fraction D in (0, 1] of each
                        layer's weights with the largest magnitude. Per layer:
                        NAME=D[,NAME=D...]; unlisted layers are not pruned further.
  --no-eliminate-dead-units
                        Keeps hidden units with all-zero incoming or outgoing
                        weights and inputs that no weight reads. By default they are
                        removed (a dead unit's constant output is folded into the next
                        layer's bias), which gives the same outputs with fewer rows.
  --encoding MODE       "auto" stores a layer as CSR when that takes fewer bytes than
                        dense (about density < 50%) and its density is at most 0.15,
                        else dense. With --calibration-images it stores CSC where
                        skipping zero inputs leaves at most half of the nonzeros to
                        multiply, and dense columns where their estimated time is at
                        most 3/4 of that choice's. Otherwise "auto" stores a layer as
                        block-sparse rows when the estimated kernel time of its best
                        block shape is below 0.9x that of dense and of CSR. "dense",
                        "csr", "csc", "dense-columns" and "block-csr" force one
                        encoding for every layer. CSC files need format version 3,
                        dense-columns and block-sparse files version 4. Default:
                        auto. With int8 layers, "auto" picks dense int8 or CSR int8
                        (CSR below about 20% density), and "csc", "dense-columns"
                        and "block-csr" are rejected, because they have no int8 form.
  --quantize TYPE       Stores weight values as TYPE: "int8" (one float scale per
                        row, values in [-127, 127], format version 4) or "float32".
                        Per layer: NAME=TYPE[,NAME=TYPE...]; repeat --quantize to
                        combine both, and a per-layer TYPE overrides the global one.
                        Default: float32.
  --block RxC           With --encoding block-csr, the block shape of every layer,
                        rows x columns: 1x1 (CSR with 16-bit column indices), 4x1,
                        8x1 or 1x4. Default: the shape with the lowest estimated
                        time for each layer's weights, zeros filled in.
  --calibration-images FILE
                        IDX images (MNIST format, optionally gzip-compressed) on which
                        "auto" measures each layer's zero inputs; the first 1000 are
                        used. Each image must have the model's input size in pixels.
  --layout MODE         For a .npz without architecture.json: "pytorch", "keras", or
                        "auto" (PyTorch when a name ends in ".weight"). Default: auto.
  --activations LIST    Comma-separated activation per layer, "relu" or "none", for
                        example relu,relu,none. Replaces what the file says. Default
                        for files without activations: relu on hidden layers, none on
                        the last.
  --input-scale S       Factor applied to raw inputs before the first layer, stored in
                        the metadata, for example 0.00392156862745098 (1/255) for a
                        model trained on pixels in [0, 1]. Default: the checkpoint's, or 1.
  --class-count N       Number of classes when the outputs are class logits, or 0.
                        Default: the checkpoint's, or 0.
  --description TEXT    Description stored in the model's metadata. Default: the
                        file's description.
  -h, --help            Print this help and exit.
)usage";

struct Options {
  std::string input;
  std::string output;
  frugal::converter::ConvertOptions convert;
  frugal::converter::ImportOptions import;
  std::string calibration_images;  // empty: no calibration
};

// Calibration images beyond this many change the measured fractions very little.
constexpr std::size_t kMaxCalibrationImages = 1000;

// Reads up to kMaxCalibrationImages images as raw pixel values, 0 to 255.
std::vector<std::vector<float>> ReadCalibrationInputs(const std::string& path) {
  const frugal::idx::Images images = frugal::idx::ReadImages(path);
  std::vector<std::vector<float>> inputs;
  for (std::size_t i = 0; i < std::min(images.count, kMaxCalibrationImages); ++i) {
    const std::uint8_t* pixels = images.image(i);
    inputs.emplace_back(pixels, pixels + images.pixels_per_image());
  }
  return inputs;
}

void PrintError(const std::string& message) { std::fprintf(stderr, "frugal-convert: %s\n", message.c_str()); }

// Parses a whole string as a finite float in [minimum, maximum].
bool ParseFloat(const std::string& text, double minimum, double maximum, double* value) {
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(parsed) ||
      parsed < minimum || parsed > maximum) {
    return false;
  }
  *value = parsed;
  return true;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(separator, begin);
    parts.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

// Parses "int8" or "float32" (also "f32").
bool ParseWeightType(const std::string& text, frugal::converter::WeightType* type) {
  if (text == "int8") {
    *type = frugal::converter::WeightType::kInt8;
  } else if (text == "float32" || text == "f32") {
    *type = frugal::converter::WeightType::kFloat32;
  } else {
    return false;
  }
  return true;
}

// A global type "int8" or a per-layer list "dense_1=int8,dense_3=float32".
bool ParseQuantize(const std::string& text, frugal::converter::ConvertOptions* options) {
  if (text.find('=') == std::string::npos) {
    if (!ParseWeightType(text, &options->weight_type)) {
      PrintError("--quantize: \"" + text + "\" is not int8, float32 or a NAME=TYPE list");
      return false;
    }
    return true;
  }
  for (const std::string& entry : Split(text, ',')) {
    const std::size_t equals = entry.find('=');
    frugal::converter::WeightType type = frugal::converter::WeightType::kFloat32;
    if (equals == std::string::npos || equals == 0 || !ParseWeightType(entry.substr(equals + 1), &type)) {
      PrintError("--quantize: \"" + entry + "\" is not NAME=TYPE with TYPE int8 or float32");
      return false;
    }
    options->layer_weight_type[entry.substr(0, equals)] = type;
  }
  return true;
}

// A global density "0.1" or a per-layer list "dense_1=0.05,dense_2=0.2".
bool ParseTargetDensity(const std::string& text, frugal::converter::ConvertOptions* options) {
  double density = 0.0;
  if (text.find('=') == std::string::npos) {
    if (!ParseFloat(text, 0.0, 1.0, &density) || density == 0.0) {
      PrintError("--target-density: \"" + text + "\" is not a number in (0, 1] or a NAME=D list");
      return false;
    }
    options->target_density = density;
    return true;
  }
  for (const std::string& entry : Split(text, ',')) {
    const std::size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0 ||
        !ParseFloat(entry.substr(equals + 1), 0.0, 1.0, &density) || density == 0.0) {
      PrintError("--target-density: \"" + entry + "\" is not NAME=D with D in (0, 1]");
      return false;
    }
    options->layer_target_density[entry.substr(0, equals)] = density;
  }
  return true;
}

bool ParseActivations(const std::string& text, std::vector<frugal::converter::Activation>* activations) {
  using frugal::converter::Activation;
  for (const std::string& name : Split(text, ',')) {
    if (name == "relu") {
      activations->push_back(Activation::kRelu);
    } else if (name == "none" || name == "linear") {
      activations->push_back(Activation::kNone);
    } else {
      PrintError("--activations: \"" + name + "\" is not relu or none (in \"" + text + "\")");
      return false;
    }
  }
  return true;
}

// Parses --block RxC into one of the block shapes the runtime runs.
bool ParseBlockShape(const std::string& value, frugal::converter::ConvertOptions* convert) {
  for (const frugal::converter::BlockShape shape : frugal::converter::kBlockShapes) {
    if (value == std::to_string(shape.rows) + "x" + std::to_string(shape.cols)) {
      convert->block_shape = shape;
      return true;
    }
  }
  PrintError("--block: \"" + value + "\" is not one of 1x1, 4x1, 8x1, 1x4");
  return false;
}

// Applies one option that takes a value. Returns false after printing an error.
bool ApplyValue(std::string_view arg, const std::string& value, Options* options) {
  using frugal::converter::EncodingPolicy;
  using frugal::converter::WeightLayout;
  double number = 0.0;
  if (arg == "-o" || arg == "--output") {
    options->output = value;
  } else if (arg == "--threshold") {
    if (!ParseFloat(value, 0.0, 3.4e38, &number)) {
      PrintError("--threshold: \"" + value + "\" is not a finite number >= 0");
      return false;
    }
    options->convert.threshold = static_cast<float>(number);
  } else if (arg == "--target-density") {
    return ParseTargetDensity(value, &options->convert);
  } else if (arg == "--description") {
    options->convert.description = value;
  } else if (arg == "--activations") {
    return ParseActivations(value, &options->import.activations);
  } else if (arg == "--input-scale") {
    if (!ParseFloat(value, 0.0, 3.4e38, &number) || number == 0.0) {
      PrintError("--input-scale: \"" + value + "\" is not a finite number > 0");
      return false;
    }
    options->import.input_scale = static_cast<float>(number);
  } else if (arg == "--class-count") {
    if (!ParseFloat(value, 0.0, 4294967295.0, &number) || number != std::floor(number)) {
      PrintError("--class-count: \"" + value + "\" is not an integer in [0, 4294967295]");
      return false;
    }
    options->import.class_count = static_cast<std::uint32_t>(number);
  } else if (arg == "--layout") {
    if (value == "auto") {
      options->import.layout = WeightLayout::kAuto;
    } else if (value == "keras") {
      options->import.layout = WeightLayout::kKeras;
    } else if (value == "pytorch") {
      options->import.layout = WeightLayout::kPytorch;
    } else {
      PrintError("--layout: \"" + value + "\" is not one of auto, keras, pytorch");
      return false;
    }
  } else if (arg == "--calibration-images") {
    options->calibration_images = value;
  } else if (arg == "--quantize") {
    return ParseQuantize(value, &options->convert);
  } else if (arg == "--block") {
    return ParseBlockShape(value, &options->convert);
  } else if (value == "auto") {
    options->convert.encoding = EncodingPolicy::kAuto;
  } else if (value == "dense") {
    options->convert.encoding = EncodingPolicy::kDense;
  } else if (value == "csr") {
    options->convert.encoding = EncodingPolicy::kCsr;
  } else if (value == "csc") {
    options->convert.encoding = EncodingPolicy::kCsc;
  } else if (value == "block-csr") {
    options->convert.encoding = EncodingPolicy::kBlockCsr;
  } else if (value == "dense-columns") {
    options->convert.encoding = EncodingPolicy::kDenseColumns;
  } else {
    PrintError("--encoding: \"" + value + "\" is not one of auto, dense, csr, csc, dense-columns, block-csr");
    return false;
  }
  return true;
}

// Returns 0 to run, 1 on a usage error, 2 after --help.
int ParseArguments(int argc, char** argv, Options* options) {
  static const std::set<std::string_view> kTakesValue = {
      "-o", "--output", "--threshold", "--target-density", "--encoding", "--description",
      "--layout", "--activations", "--input-scale", "--class-count", "--calibration-images", "--quantize",
      "--block"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 2;
    }
    if (kTakesValue.count(arg) != 0) {
      if (i + 1 >= argc) {
        PrintError(std::string(arg) + " needs a value; see --help");
        return 1;
      }
      if (!ApplyValue(arg, argv[++i], options)) return 1;
    } else if (arg == "--no-eliminate-dead-units") {
      options->convert.eliminate_dead_units = false;
    } else if (arg == "--eliminate-dead-units") {
      options->convert.eliminate_dead_units = true;
    } else if (arg.starts_with("-")) {
      PrintError("unknown option " + std::string(arg) + "; see --help");
      return 1;
    } else if (options->input.empty()) {
      options->input = arg;
    } else {
      PrintError("unexpected argument \"" + std::string(arg) + "\"; only one input model is accepted");
      return 1;
    }
  }
  if (options->input.empty()) {
    PrintError("missing input MODEL; see --help");
    return 1;
  }
  if (options->output.empty()) {
    PrintError("missing -o MODEL.frugal; see --help");
    return 1;
  }
  if (options->convert.block_shape.has_value() &&
      options->convert.encoding != frugal::converter::EncodingPolicy::kBlockCsr) {
    PrintError("--block needs --encoding block-csr");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  const int parsed = ParseArguments(argc, argv, &options);
  if (parsed == 2) return 0;
  if (parsed != 0) return 2;

  try {
    if (!options.calibration_images.empty()) {
      options.convert.calibration_inputs = ReadCalibrationInputs(options.calibration_images);
      options.convert.calibration_source = options.calibration_images;
      std::fprintf(stderr, "frugal-convert: read %zu calibration images from %s\n",
                   options.convert.calibration_inputs.size(), options.calibration_images.c_str());
    }
    std::fprintf(stderr, "frugal-convert: converting %s\n", options.input.c_str());
    const frugal::converter::Conversion conversion =
        frugal::converter::ConvertFile(options.input, options.output, options.convert, options.import);
    for (const std::string& warning : conversion.warnings) std::fprintf(stderr, "frugal-convert: warning: %s\n", warning.c_str());
    std::fputs(frugal::converter::FormatSummary(conversion).c_str(), stdout);
    std::fprintf(stderr, "frugal-convert: wrote %s (%zu bytes)\n", options.output.c_str(),
                 conversion.buffer.size());
  } catch (const std::exception& error) {
    PrintError(error.what());
    return 1;
  }
  return 0;
}
