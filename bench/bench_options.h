// Command-line options of frugal-bench.
#pragma once

#include <cstdint>
#include <string>

namespace frugal::bench {

enum class OutputFormat { kText, kJson, kCsv };
enum class InputKind { kRandom, kZeros };

struct Options {
  std::string model_path;
  std::uint64_t warmup = 200;
  std::uint64_t runs = 2000;
  double min_seconds = 0.0;
  std::uint64_t threads = 1;
  std::uint64_t batch = 1;
  InputKind input = InputKind::kRandom;
  std::string images_path;  // overrides `input` when set
  // When set, the dense baselines run this file's weights instead of the model's, for
  // example the network as trained, before the converter removed its dead units.
  std::string dense_model_path;
  std::uint64_t seed = 1;
  OutputFormat format = OutputFormat::kText;
  bool profile = false;  // per-layer profile; always on in text output
  std::string command_line;  // the arguments as given, for the report
};

extern const char kUsage[];

enum class ParseOutcome { kRun, kHelp, kError };

// Fills *options from argv. On kError, *error holds a one-line message without the
// program name.
ParseOutcome ParseArguments(int argc, const char* const* argv, Options* options, std::string* error);

}  // namespace frugal::bench
