// frugal-convert: converts a training checkpoint (.npz) into a .frugal model and prints
// per-layer sizes and encodings.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "frugal/converter/converter.h"

namespace {

constexpr char kUsage[] = R"usage(Usage: frugal-convert CHECKPOINT.npz -o MODEL.frugal [options]

Converts a checkpoint written by frugal-train (or by numpy.savez in the same layout)
into a .frugal model. The per-layer table goes to stdout, progress and errors to
stderr. On any error no output file is created and an existing one is left unchanged.

Options:
  -o, --output FILE     The .frugal file to write. Required.
  --threshold T         Weights with |w| <= T become zeros before encoding; biases
                        are kept. T is in the weights' own units, a finite number
                        >= 0. Default: 0, which drops only exact zeros.
  --encoding MODE       "auto" stores a layer as CSR when that takes fewer bytes than
                        dense (about density < 50%), "dense" and "csr" force one
                        encoding for every layer. Default: auto.
  --description TEXT    Description stored in the model's metadata. Default: the
                        checkpoint's description.
  -h, --help            Print this help and exit.
)usage";

struct Options {
  std::string input;
  std::string output;
  frugal::converter::ConvertOptions convert;
};

void PrintError(const std::string& message) { std::fprintf(stderr, "frugal-convert: %s\n", message.c_str()); }

bool ParseThreshold(std::string_view text, float* threshold) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const float value = std::strtof(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno == ERANGE || !std::isfinite(value) ||
      value < 0.0f) {
    PrintError("--threshold: \"" + copy + "\" is not a finite number >= 0");
    return false;
  }
  *threshold = value;
  return true;
}

// Returns 0 to run, 1 on a usage error, 2 after --help.
int ParseArguments(int argc, char** argv, Options* options) {
  using frugal::converter::EncodingPolicy;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 2;
    }
    const bool takes_value = arg == "-o" || arg == "--output" || arg == "--threshold" || arg == "--encoding" ||
                             arg == "--description";
    if (takes_value) {
      if (i + 1 >= argc) {
        PrintError(std::string(arg) + " needs a value; see --help");
        return 1;
      }
      const std::string_view value = argv[++i];
      if (arg == "-o" || arg == "--output") {
        options->output = value;
      } else if (arg == "--threshold") {
        if (!ParseThreshold(value, &options->convert.threshold)) return 1;
      } else if (arg == "--description") {
        options->convert.description = std::string(value);
      } else if (value == "auto") {
        options->convert.encoding = EncodingPolicy::kAuto;
      } else if (value == "dense") {
        options->convert.encoding = EncodingPolicy::kDense;
      } else if (value == "csr") {
        options->convert.encoding = EncodingPolicy::kCsr;
      } else {
        PrintError("--encoding: \"" + std::string(value) + "\" is not one of auto, dense, csr");
        return 1;
      }
    } else if (arg.starts_with("-")) {
      PrintError("unknown option " + std::string(arg) + "; see --help");
      return 1;
    } else if (options->input.empty()) {
      options->input = arg;
    } else {
      PrintError("unexpected argument \"" + std::string(arg) + "\"; only one checkpoint is accepted");
      return 1;
    }
  }
  if (options->input.empty()) {
    PrintError("missing CHECKPOINT.npz; see --help");
    return 1;
  }
  if (options->output.empty()) {
    PrintError("missing -o MODEL.frugal; see --help");
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
    std::fprintf(stderr, "frugal-convert: converting %s\n", options.input.c_str());
    const frugal::converter::Conversion conversion =
        frugal::converter::ConvertFile(options.input, options.output, options.convert);
    std::fputs(frugal::converter::FormatSummary(conversion).c_str(), stdout);
    std::fprintf(stderr, "frugal-convert: wrote %s (%zu bytes)\n", options.output.c_str(),
                 conversion.buffer.size());
  } catch (const std::exception& error) {
    PrintError(error.what());
    return 1;
  }
  return 0;
}
