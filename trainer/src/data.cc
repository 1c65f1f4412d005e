// Loading and checking IDX training data.
#include "frugal/trainer/data.h"

#include <filesystem>

#include "frugal/idx.h"

namespace frugal::trainer {

DataView Dataset::View(std::size_t first, std::size_t view_count) const {
  DataView view;
  view.pixels = pixels.data() + first * features;
  view.labels = labels.data() + first;
  view.count = view_count;
  view.features = features;
  return view;
}

void CheckLabels(const Dataset& dataset, std::size_t class_count, const std::string& source) {
  if (dataset.labels.size() != dataset.count) {
    throw TrainerError(source + ": " + std::to_string(dataset.labels.size()) + " labels for " +
                       std::to_string(dataset.count) + " images; the counts must be equal");
  }
  for (std::size_t i = 0; i < dataset.labels.size(); ++i) {
    if (dataset.labels[i] >= class_count) {
      throw TrainerError(source + ": label[" + std::to_string(i) + "] = " +
                         std::to_string(dataset.labels[i]) + " is out of range [0, " +
                         std::to_string(class_count) + ")");
    }
  }
}

Dataset LoadDataset(const std::string& images_path, const std::string& labels_path,
                    std::size_t class_count) {
  Dataset dataset;
  try {
    idx::Images images = idx::ReadImages(images_path);
    dataset.count = images.count;
    dataset.features = images.pixels_per_image();
    dataset.pixels = std::move(images.pixels);
    dataset.labels = idx::ReadLabels(labels_path);
  } catch (const idx::IdxError& error) {
    throw TrainerError(error.what());
  }
  CheckLabels(dataset, class_count, labels_path);
  return dataset;
}

MnistFiles FindMnistFiles(const std::string& directory) {
  const auto find = [&](const char* name) {
    const std::filesystem::path plain = std::filesystem::path(directory) / name;
    std::filesystem::path compressed = plain;
    compressed += ".gz";
    std::error_code error;
    if (std::filesystem::exists(plain, error)) return plain.string();
    if (std::filesystem::exists(compressed, error)) return compressed.string();
    throw TrainerError(directory + ": MNIST file " + name + " not found (also tried " + name +
                       ".gz); pass --train-images etc. for other names");
  };
  MnistFiles files;
  files.train_images = find("train-images-idx3-ubyte");
  files.train_labels = find("train-labels-idx1-ubyte");
  files.test_images = find("t10k-images-idx3-ubyte");
  files.test_labels = find("t10k-labels-idx1-ubyte");
  return files;
}

}  // namespace frugal::trainer
