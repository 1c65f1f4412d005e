// Training data: MNIST-style images and labels as bytes, with the checks frugal-train
// needs before it trains on them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace frugal::trainer {

// Thrown for data, options or checkpoints that the trainer cannot use. The message names
// the file or option and the value.
class TrainerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A run of examples inside a Dataset: `count` images of `features` bytes, row-major, and
// one label per image. The view does not own the bytes.
struct DataView {
  const std::uint8_t* pixels = nullptr;
  const std::uint8_t* labels = nullptr;
  std::size_t count = 0;
  std::size_t features = 0;
};

struct Dataset {
  std::size_t count = 0;
  std::size_t features = 0;
  std::vector<std::uint8_t> pixels;  // count * features bytes
  std::vector<std::uint8_t> labels;  // count bytes

  // Examples [first, first + view_count). The range must lie inside the dataset.
  DataView View(std::size_t first, std::size_t view_count) const;
  DataView All() const { return View(0, count); }
};

// Reads an IDX image file and its label file and checks that they pair up: the same
// number of entries, and every label below `class_count`.
Dataset LoadDataset(const std::string& images_path, const std::string& labels_path,
                    std::size_t class_count);

// Checks that labels pair up with images (see LoadDataset). `source` names the data in
// messages.
void CheckLabels(const Dataset& dataset, std::size_t class_count, const std::string& source);

struct MnistFiles {
  std::string train_images;
  std::string train_labels;
  std::string test_images;
  std::string test_labels;
};

// Finds the four files under their standard MNIST names in `directory`, each either
// plain or with a ".gz" suffix. Throws TrainerError naming the first file found in
// neither form.
MnistFiles FindMnistFiles(const std::string& directory);

}  // namespace frugal::trainer
