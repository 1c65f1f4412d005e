// frugal-run: runs a .frugal model at batch 1 over IDX images and prints predictions or,
// given labels, the accuracy.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/idx.h"
#include "frugal/runtime.h"

namespace {

constexpr char kUsage[] = R"usage(Usage: frugal-run MODEL.frugal --images FILE [options]

Runs a .frugal model at batch 1 over IDX images. Raw pixels are multiplied by the
model's input_scale. Results go to stdout, the model summary and errors to stderr.

Options:
  --images FILE  IDX image file (unsigned bytes, 3 dimensions, for example
                 t10k-images-idx3-ubyte; gzip-compressed files work when built with
                 zlib). Required. Each image must have the model's input_size pixels.
  --labels FILE  IDX label file with one label per image. Prints the accuracy as
                 "accuracy: CORRECT/TOTAL (PERCENT%)" on the last line.
  --limit N      Use only the first N images (N >= 1). Default: all images.
  --show N       Print the predicted class, the label and the logits (9 significant
                 digits, enough to restore the float exactly) of the first N
                 images. Default: 0. Without --labels and --show, one line per image
                 with its index and predicted class is printed instead.
  --mode MODE    "auto" runs each sparse layer with the CSR kernel, or dense when its
                 density is above the kernel's crossover; "stored" runs each layer with
                 the kernel of its stored encoding; "dense" expands sparse layers to
                 dense first. Default: auto.
  -h, --help     Print this help and exit.
)usage";

struct Options {
  std::string model_path;
  std::string images_path;
  std::string labels_path;
  std::uint64_t limit = 0;  // 0 means all images
  std::uint64_t show = 0;
  frugal::ExecutionMode mode = frugal::ExecutionMode::kAuto;
};

void PrintError(const std::string& message) { std::fprintf(stderr, "frugal-run: %s\n", message.c_str()); }

bool ParseCount(std::string_view flag, std::string_view text, std::uint64_t min, std::uint64_t* value) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, *value);
  if (error != std::errc() || ptr != end || *value < min) {
    PrintError(std::string(flag) + ": \"" + std::string(text) + "\" is not an integer in [" + std::to_string(min) +
               ", " + std::to_string(std::numeric_limits<std::uint64_t>::max()) + "]");
    return false;
  }
  return true;
}

// Returns 0 to run, 1 on a usage error, 2 after --help.
int ParseArguments(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 2;
    }
    const bool takes_value = arg == "--images" || arg == "--labels" || arg == "--limit" || arg == "--show" ||
                             arg == "--mode";
    if (takes_value) {
      if (i + 1 >= argc) {
        PrintError(std::string(arg) + " needs a value; see --help");
        return 1;
      }
      const std::string_view value = argv[++i];
      if (arg == "--images") {
        options->images_path = value;
      } else if (arg == "--labels") {
        options->labels_path = value;
      } else if (arg == "--limit") {
        if (!ParseCount(arg, value, 1, &options->limit)) return 1;
      } else if (arg == "--show") {
        if (!ParseCount(arg, value, 0, &options->show)) return 1;
      } else if (value == "auto") {
        options->mode = frugal::ExecutionMode::kAuto;
      } else if (value == "stored") {
        options->mode = frugal::ExecutionMode::kAsStored;
      } else if (value == "dense") {
        options->mode = frugal::ExecutionMode::kDense;
      } else {
        PrintError("--mode: \"" + std::string(value) + "\" is not one of auto, stored, dense");
        return 1;
      }
    } else if (arg.starts_with("-")) {
      PrintError("unknown option " + std::string(arg) + "; see --help");
      return 1;
    } else if (options->model_path.empty()) {
      options->model_path = arg;
    } else {
      PrintError("unexpected argument \"" + std::string(arg) + "\"; only one model file is accepted");
      return 1;
    }
  }
  if (options->model_path.empty()) {
    PrintError("missing MODEL.frugal; see --help");
    return 1;
  }
  if (options->images_path.empty()) {
    PrintError("missing --images FILE; see --help");
    return 1;
  }
  return 0;
}

const char* EncodingName(frugal::WeightEncoding encoding) {
  switch (encoding) {
    case frugal::WeightEncoding::kCsr:
      return "csr";
    case frugal::WeightEncoding::kCsc:
      return "csc";
    case frugal::WeightEncoding::kDenseInt8:
      return "dense int8";
    case frugal::WeightEncoding::kCsrInt8:
      return "csr int8";
    case frugal::WeightEncoding::kBlockCsr:
      return "block-csr";
    case frugal::WeightEncoding::kDenseColumns:
      return "dense-columns";
    case frugal::WeightEncoding::kDense:
      break;
  }
  return "dense";
}

void PrintSummary(const frugal::Model& model) {
  std::uint64_t weights = 0;
  std::uint64_t nonzeros = 0;
  for (std::size_t i = 0; i < model.layer_count(); ++i) {
    weights += std::uint64_t{model.layer(i).input_size} * model.layer(i).output_size;
    nonzeros += model.layer(i).nonzeros;
  }
  std::fprintf(stderr, "%s: %zu layers, %zu inputs, %zu outputs, %zu bytes, input_scale %g, %llu of %llu weights non-zero",
               model.source_name().c_str(), model.layer_count(), model.input_size(), model.output_size(),
               model.file_bytes(), static_cast<double>(model.input_scale()),
               static_cast<unsigned long long>(nonzeros), static_cast<unsigned long long>(weights));
  if (!model.producer().empty()) std::fprintf(stderr, ", producer \"%s\"", model.producer().c_str());
  std::fputc('\n', stderr);
  for (std::size_t i = 0; i < model.layer_count(); ++i) {
    const frugal::LayerInfo& layer = model.layer(i);
    const double total = static_cast<double>(layer.input_size) * layer.output_size;
    std::fprintf(stderr, "  layer %zu%s%s: %s %u -> %u, %s, %llu stored values, %llu non-zeros (%.2f%%)\n", i,
                 layer.name.empty() ? "" : " ", layer.name.c_str(), EncodingName(layer.encoding), layer.input_size,
                 layer.output_size, layer.activation == frugal::Activation::kRelu ? "relu" : "no activation",
                 static_cast<unsigned long long>(layer.stored_values), static_cast<unsigned long long>(layer.nonzeros),
                 100.0 * static_cast<double>(layer.nonzeros) / total);
  }
}

void PrintShown(std::size_t index, std::size_t predicted, const std::vector<std::uint8_t>* labels,
                std::span<const float> logits) {
  std::printf("image %zu: predicted %zu", index, predicted);
  if (labels != nullptr) std::printf(", label %u", static_cast<unsigned>((*labels)[index]));
  std::printf(", logits");
  for (float logit : logits) std::printf(" %.9g", static_cast<double>(logit));
  std::printf("\n");
}

int Run(const Options& options) {
  std::unique_ptr<frugal::Model> model;
  if (frugal::Status status = frugal::Model::FromFile(options.model_path, &model); !status.ok()) {
    PrintError(status.message());
    return 1;
  }
  PrintSummary(*model);

  const frugal::idx::Images images = frugal::idx::ReadImages(options.images_path);
  if (images.pixels_per_image() != model->input_size()) {
    PrintError(options.images_path + ": " + std::to_string(images.rows) + " x " + std::to_string(images.cols) + " = " +
               std::to_string(images.pixels_per_image()) + " pixels per image does not match " +
               options.model_path + "'s input_size = " + std::to_string(model->input_size()));
    return 1;
  }
  std::vector<std::uint8_t> labels;
  const bool has_labels = !options.labels_path.empty();
  if (has_labels) {
    labels = frugal::idx::ReadLabels(options.labels_path);
    if (labels.size() != images.count) {
      PrintError(options.labels_path + ": " + std::to_string(labels.size()) + " labels do not match the " +
                 std::to_string(images.count) + " images in " + options.images_path);
      return 1;
    }
  }

  std::size_t count = images.count;
  if (options.limit != 0 && options.limit < count) count = static_cast<std::size_t>(options.limit);
  if (has_labels) {
    for (std::size_t i = 0; i < count; ++i) {
      if (labels[i] >= model->output_size()) {
        PrintError(options.labels_path + ": label[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                   " is out of range [0, " + std::to_string(model->output_size()) + ") for " + options.model_path);
        return 1;
      }
    }
  }

  std::unique_ptr<frugal::Interpreter> planned;
  if (frugal::Status status = frugal::Interpreter::Create(*model, {options.mode}, &planned); !status.ok()) {
    PrintError(status.message());
    return 1;
  }
  frugal::Interpreter& interpreter = *planned;
  const std::span<float> input = interpreter.input();
  const float scale = model->input_scale();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* pixels = images.image(i);
    for (std::size_t p = 0; p < input.size(); ++p) input[p] = static_cast<float>(pixels[p]) * scale;
    if (frugal::Status status = interpreter.Invoke(); !status.ok()) {
      PrintError(status.message());
      return 1;
    }
    const std::size_t predicted = frugal::ArgMax(interpreter.output());
    if (has_labels && predicted == labels[i]) ++correct;
    if (i < options.show) {
      PrintShown(i, predicted, has_labels ? &labels : nullptr, interpreter.output());
    } else if (!has_labels && options.show == 0) {
      std::printf("%zu %zu\n", i, predicted);
    }
  }

  if (has_labels) {
    const double percent = count == 0 ? 0.0 : 100.0 * static_cast<double>(correct) / static_cast<double>(count);
    std::printf("accuracy: %zu/%zu (%.2f%%)\n", correct, count, percent);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int parsed = ParseArguments(argc, argv, &options); parsed != 0) return parsed == 2 ? 0 : 1;
  try {
    return Run(options);
  } catch (const frugal::idx::IdxError& error) {
    PrintError(error.what());
  } catch (const std::exception& error) {
    PrintError(std::string("unexpected error: ") + error.what());
  }
  return 1;
}
