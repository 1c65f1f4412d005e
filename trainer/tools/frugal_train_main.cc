// frugal-train: trains a sparse MLP on IDX data, prints one JSON line per epoch on
// stdout and writes a .npz checkpoint.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "frugal/trainer/checkpoint.h"
#include "frugal/trainer/data.h"
#include "frugal/trainer/metrics.h"
#include "frugal/trainer/options.h"
#include "frugal/trainer/train.h"

namespace {

using frugal::trainer::CommandLine;
using frugal::trainer::TrainerError;

// Fills the paths not given explicitly from --data-dir and checks that all four are set.
frugal::trainer::MnistFiles ResolveFiles(const CommandLine& line) {
  frugal::trainer::MnistFiles files = line.files;
  if (!line.data_dir.empty()) {
    const bool all_explicit = !files.train_images.empty() && !files.train_labels.empty() &&
                              !files.test_images.empty() && !files.test_labels.empty();
    if (!all_explicit) {
      const frugal::trainer::MnistFiles found = frugal::trainer::FindMnistFiles(line.data_dir);
      if (files.train_images.empty()) files.train_images = found.train_images;
      if (files.train_labels.empty()) files.train_labels = found.train_labels;
      if (files.test_images.empty()) files.test_images = found.test_images;
      if (files.test_labels.empty()) files.test_labels = found.test_labels;
    }
  }
  const std::pair<const char*, const std::string*> required[] = {
      {"--train-images", &files.train_images},
      {"--train-labels", &files.train_labels},
      {"--test-images", &files.test_images},
      {"--test-labels", &files.test_labels}};
  for (const auto& [option, path] : required) {
    if (path->empty()) {
      throw frugal::trainer::UsageError(std::string("no data: pass --data-dir DIR or ") + option);
    }
  }
  return files;
}

// Fails before training, not after it, when the checkpoint's folder does not exist.
void CheckOutputFolder(const std::string& output) {
  std::filesystem::path folder = std::filesystem::path(output).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) {
    throw TrainerError(output + ": output folder " + folder.string() + " does not exist");
  }
}

std::string LayerWidths(const frugal::trainer::TrainConfig& config, std::size_t input_size) {
  std::string text = std::to_string(input_size);
  for (const std::size_t width : config.hidden) {
    text += '-';
    text += std::to_string(width);
  }
  text += '-';
  text += std::to_string(config.class_count);
  return text;
}

int Run(const CommandLine& line) {
  const frugal::trainer::MnistFiles files = ResolveFiles(line);
  CheckOutputFolder(line.output);
  frugal::trainer::ValidateConfig(line.config);

  const std::size_t classes = line.config.class_count;
  const frugal::trainer::Dataset train_file =
      frugal::trainer::LoadDataset(files.train_images, files.train_labels, classes);
  const frugal::trainer::Dataset test_file =
      frugal::trainer::LoadDataset(files.test_images, files.test_labels, classes);
  if (test_file.features != train_file.features) {
    throw TrainerError(files.test_images + ": images have " + std::to_string(test_file.features) +
                       " pixels, but training images have " + std::to_string(train_file.features));
  }
  if (line.validation >= train_file.count) {
    throw frugal::trainer::UsageError(
        "invalid value for --validation: " + std::to_string(line.validation) +
        " leaves no training examples; it must be below the " + std::to_string(train_file.count) +
        " images in " + files.train_images);
  }

  frugal::trainer::TrainData data;
  const std::size_t train_count = train_file.count - line.validation;
  data.train = train_file.View(0, train_count);
  data.validation = train_file.View(train_count, line.validation);
  data.test = test_file.All();

  const std::string description = frugal::trainer::DescribeRun(line.config);
  std::fprintf(stderr, "frugal-train: %zu training, %zu validation, %zu test examples; %s; %s\n",
               data.train.count, data.validation.count, data.test.count,
               LayerWidths(line.config, train_file.features).c_str(), description.c_str());

  std::optional<frugal::trainer::TrainState> resume;
  if (!line.resume.empty()) {
    resume = frugal::trainer::LoadTrainState(line.resume);
    std::fprintf(stderr, "frugal-train: resuming %s after epoch %zu\n", line.resume.c_str(),
                 resume->epochs_done);
  }

  // Every epoch's state is kept so that the final checkpoint can be resumed too; the
  // state is the size of the model and its optimizer slots.
  frugal::trainer::TrainState last_state;
  bool have_state = false;
  const std::size_t total_epochs = line.config.epochs + line.config.retrain_epochs;
  frugal::trainer::Train(
      line.config, data,
      [](const frugal::trainer::EpochMetrics& metrics) {
        std::printf("%s\n", frugal::trainer::MeasureTestJson(metrics).c_str());
        std::fflush(stdout);
        std::fprintf(stderr, "%s\n", frugal::trainer::ProgressLine(metrics).c_str());
      },
      [&](const frugal::trainer::TrainState& state) {
        last_state = state;
        have_state = true;
        const bool periodic = line.checkpoint_every > 0 && state.epochs_done % line.checkpoint_every == 0;
        if (periodic && state.epochs_done < total_epochs) {
          frugal::trainer::SaveTrainState(line.output, state, description);
          std::fprintf(stderr, "frugal-train: wrote %s after epoch %zu\n", line.output.c_str(),
                       state.epochs_done);
        }
      },
      resume ? &*resume : nullptr);

  if (!have_state) {
    // A resumed run that had already done every configured epoch.
    last_state = std::move(*resume);
  }
  frugal::trainer::SaveTrainState(line.output, last_state, description);
  std::fprintf(stderr, "frugal-train: wrote %s\n", line.output.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    const CommandLine line = frugal::trainer::ParseCommandLine(args);
    if (line.help) {
      std::fputs(frugal::trainer::HelpText().c_str(), stdout);
      return 0;
    }
    return Run(line);
  } catch (const frugal::trainer::UsageError& error) {
    std::fprintf(stderr, "frugal-train: %s\nRun 'frugal-train --help' for the options.\n",
                 error.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "frugal-train: out of memory\n");
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "frugal-train: %s\n", error.what());
    return 1;
  }
}
