// Command-line options of frugal-train, parsed into a TrainConfig and file paths.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "frugal/trainer/data.h"
#include "frugal/trainer/train.h"

namespace frugal::trainer {

// Thrown for an unknown option, a missing or malformed value, or a value out of range.
// The message names the option and the value.
class UsageError : public TrainerError {
 public:
  using TrainerError::TrainerError;
};

struct CommandLine {
  TrainConfig config;
  std::string data_dir;
  MnistFiles files;                // explicit paths; each overrides the one found in data_dir
  std::size_t validation = 10000;  // examples held out from the end of the training file
  std::string output = "model.npz";
  std::string resume;                // checkpoint to continue from, empty for a new run
  std::size_t checkpoint_every = 0;  // also write `output` every N epochs; 0 = only at the end
  bool help = false;
};

// Parses the arguments after the program name. Options and presets apply in order, so
// an option after --preset overrides the preset's value for it.
CommandLine ParseCommandLine(std::span<const std::string> args);

// The --help text, ending in a newline.
std::string HelpText();

}  // namespace frugal::trainer
