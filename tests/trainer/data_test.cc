// Tests of loading training data: images and labels must pair up, and the standard MNIST
// file names are found plain or gzip-compressed.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/trainer/data.h"
#include "test_paths.h"

namespace {

void WriteBytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// An IDX image file of `count` 2x2 images and a label file with `labels`.
void WriteIdxPair(const std::filesystem::path& images, const std::filesystem::path& labels,
                  std::uint8_t count, const std::vector<std::uint8_t>& label_values) {
  std::vector<std::uint8_t> image_bytes{0, 0, 8, 3, 0, 0, 0, count, 0, 0, 0, 2, 0, 0, 0, 2};
  for (int i = 0; i < count * 4; ++i) image_bytes.push_back(static_cast<std::uint8_t>(i));
  WriteBytes(images, image_bytes);
  std::vector<std::uint8_t> label_bytes{0, 0, 8, 1, 0, 0, 0, static_cast<std::uint8_t>(label_values.size())};
  label_bytes.insert(label_bytes.end(), label_values.begin(), label_values.end());
  WriteBytes(labels, label_bytes);
}

}  // namespace

TEST_CASE("data: images and labels pair up") {
  const std::filesystem::path dir = frugal::testing::ScratchDir();
  WriteIdxPair(dir / "pair-images", dir / "pair-labels", 3, {2, 0, 1});
  const frugal::trainer::Dataset dataset =
      frugal::trainer::LoadDataset((dir / "pair-images").string(), (dir / "pair-labels").string(), 3);
  CHECK(dataset.count == 3);
  CHECK(dataset.features == 4);
  CHECK(dataset.labels == std::vector<std::uint8_t>{2, 0, 1});
  const frugal::trainer::DataView view = dataset.View(1, 2);
  CHECK(view.count == 2);
  CHECK(view.pixels[0] == 4);
  CHECK(view.labels[0] == 0);
}

TEST_CASE("data: label count must match image count") {
  const std::filesystem::path dir = frugal::testing::ScratchDir();
  WriteIdxPair(dir / "count-images", dir / "count-labels", 3, {1, 2});
  const std::string labels = (dir / "count-labels").string();
  CHECK_THROWS_WITH_AS(frugal::trainer::LoadDataset((dir / "count-images").string(), labels, 10),
                       doctest::Contains((labels + ": 2 labels for 3 images").c_str()),
                       frugal::trainer::TrainerError);
}

TEST_CASE("data: labels must be below the class count") {
  const std::filesystem::path dir = frugal::testing::ScratchDir();
  WriteIdxPair(dir / "range-images", dir / "range-labels", 3, {1, 10, 2});
  const std::string labels = (dir / "range-labels").string();
  CHECK_THROWS_WITH_AS(frugal::trainer::LoadDataset((dir / "range-images").string(), labels, 10),
                       doctest::Contains((labels + ": label[1] = 10 is out of range [0, 10)").c_str()),
                       frugal::trainer::TrainerError);
}

TEST_CASE("data: IDX errors pass through with the path") {
  const std::filesystem::path dir = frugal::testing::ScratchDir();
  WriteIdxPair(dir / "swap-images", dir / "swap-labels", 2, {1, 2});
  const std::string labels = (dir / "swap-labels").string();
  CHECK_THROWS_WITH_AS(frugal::trainer::LoadDataset(labels, labels, 10),
                       doctest::Contains((labels + ": magic number 0x00000801").c_str()),
                       frugal::trainer::TrainerError);
}

TEST_CASE("data: standard MNIST names, plain or .gz") {
  const std::filesystem::path dir = frugal::testing::ScratchDir() / "mnist-names";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  WriteBytes(dir / "train-images-idx3-ubyte", {});
  WriteBytes(dir / "train-labels-idx1-ubyte.gz", {});
  WriteBytes(dir / "t10k-images-idx3-ubyte", {});

  CHECK_THROWS_WITH_AS(frugal::trainer::FindMnistFiles(dir.string()),
                       doctest::Contains("t10k-labels-idx1-ubyte not found"),
                       frugal::trainer::TrainerError);

  WriteBytes(dir / "t10k-labels-idx1-ubyte.gz", {});
  const frugal::trainer::MnistFiles files = frugal::trainer::FindMnistFiles(dir.string());
  CHECK(files.train_images == (dir / "train-images-idx3-ubyte").string());
  CHECK(files.train_labels == (dir / "train-labels-idx1-ubyte.gz").string());
  CHECK(files.test_labels == (dir / "t10k-labels-idx1-ubyte.gz").string());
}
