// frugal-run: runs a .frugal model over IDX images, one at a time or in batches, and
// prints predictions or, given labels, the accuracy.
#include <algorithm>
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

Runs a .frugal model over IDX images, at batch 1 or in batches. Raw pixels are
multiplied by the model's input_scale. Results go to stdout, the model summary and
errors to stderr.

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
  --mode MODE    "auto" runs each sparse layer (CSR, block CSR, int8 CSR) with its
                 kernel, or dense when its density is above that kernel's crossover,
                 a CSC layer with the CSC kernel on calls where skipping zero inputs
                 pays, and dense and dense-columns layers as stored. "stored" runs
                 each layer with the kernel of its stored encoding. "dense" expands
                 every layer to dense first (int8 layers to dense int8). Default: auto.
  --batch N      Run N images per call through Interpreter::InvokeBatch (1 <= N <=
                 65536); the last batch may be smaller. Predictions match batch 1 up
                 to float rounding. Default: 1, which runs Interpreter::Invoke.
  --threads N    Threads that run each batch, the calling one included (1 <= N <=
                 256). Batches are split in runs of 16 images, so at most
                 ceil(N_batch / 16) threads work. Default: 1.
  -h, --help     Print this help and exit.
)usage";

struct Options {
  std::string model_path;
  std::string images_path;
  std::string labels_path;
  std::uint64_t limit = 0;  // 0 means all images
  std::uint64_t show = 0;
  frugal::ExecutionMode mode = frugal::ExecutionMode::kAuto;
  std::uint64_t batch = 1;
  std::uint64_t threads = 1;
};

void PrintError(const std::string& message) { std::fprintf(stderr, "frugal-run: %s\n", message.c_str()); }

bool ParseCount(std::string_view flag, std::string_view text, std::uint64_t min, std::uint64_t* value,
                std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, *value);
  if (error != std::errc() || ptr != end || *value < min || *value > max) {
    PrintError(std::string(flag) + ": \"" + std::string(text) + "\" is not an integer in [" + std::to_string(min) +
               ", " + std::to_string(max) + "]");
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
                             arg == "--mode" || arg == "--batch" || arg == "--threads";
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
      } else if (arg == "--batch") {
        if (!ParseCount(arg, value, 1, &options->batch, frugal::InterpreterOptions::kMaxBatch)) return 1;
      } else if (arg == "--threads") {
        if (!ParseCount(arg, value, 1, &options->threads, frugal::InterpreterOptions::kMaxThreads)) return 1;
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

  frugal::InterpreterOptions interpreter_options;
  interpreter_options.mode = options.mode;
  interpreter_options.max_batch = static_cast<std::size_t>(options.batch);
  interpreter_options.threads = static_cast<std::size_t>(options.threads);
  std::unique_ptr<frugal::Interpreter> planned;
  if (frugal::Status status = frugal::Interpreter::Create(*model, interpreter_options, &planned); !status.ok()) {
    PrintError(status.message());
    return 1;
  }
  frugal::Interpreter& interpreter = *planned;
  const std::size_t input_size = model->input_size();
  const std::size_t output_size = model->output_size();
  const std::size_t batch_max = static_cast<std::size_t>(options.batch);
  std::vector<float> batch_inputs(batch_max > 1 ? batch_max * input_size : 0);
  std::vector<float> batch_outputs(batch_max > 1 ? batch_max * output_size : 0);
  const float scale = model->input_scale();
  std::size_t correct = 0;
  for (std::size_t first = 0; first < count; first += batch_max) {
    const std::size_t batch = std::min(batch_max, count - first);
    if (batch_max == 1) {
      // Batch 1 keeps the in-place path: the pixels go straight into input().
      const std::span<float> input = interpreter.input();
      const std::uint8_t* pixels = images.image(first);
      for (std::size_t p = 0; p < input_size; ++p) input[p] = static_cast<float>(pixels[p]) * scale;
      if (frugal::Status status = interpreter.Invoke(); !status.ok()) {
        PrintError(status.message());
        return 1;
      }
    } else {
      for (std::size_t b = 0; b < batch; ++b) {
        const std::uint8_t* pixels = images.image(first + b);
        float* input = batch_inputs.data() + b * input_size;
        for (std::size_t p = 0; p < input_size; ++p) input[p] = static_cast<float>(pixels[p]) * scale;
      }
      const frugal::Status status =
          interpreter.InvokeBatch(std::span<const float>(batch_inputs.data(), batch * input_size), batch,
                                  std::span<float>(batch_outputs.data(), batch * output_size));
      if (!status.ok()) {
        PrintError(status.message());
        return 1;
      }
    }
    for (std::size_t b = 0; b < batch; ++b) {
      const std::size_t i = first + b;
      const std::span<const float> logits =
          batch_max == 1 ? interpreter.output()
                         : std::span<const float>(batch_outputs.data() + b * output_size, output_size);
      const std::size_t predicted = frugal::ArgMax(logits);
      if (has_labels && predicted == labels[i]) ++correct;
      if (i < options.show) {
        PrintShown(i, predicted, has_labels ? &labels : nullptr, logits);
      } else if (!has_labels && options.show == 0) {
        std::printf("%zu %zu\n", i, predicted);
      }
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
