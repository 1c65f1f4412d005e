// Writes the small models and IDX files that the frugal-run and frugal-bench command-line
// tests read: write_fixtures OUTPUT_FOLDER.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <vector>

#include "test_model.h"

namespace {

void AppendBigEndian(std::vector<std::uint8_t>* bytes, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes->push_back(static_cast<std::uint8_t>(value >> shift));
}

// IDX unsigned-byte images: magic 0x00000803, then count, rows, cols, then the pixels.
std::vector<std::uint8_t> IdxImages(std::mt19937& rng, std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  std::vector<std::uint8_t> bytes;
  AppendBigEndian(&bytes, 0x00000803);
  AppendBigEndian(&bytes, count);
  AppendBigEndian(&bytes, rows);
  AppendBigEndian(&bytes, cols);
  std::uniform_int_distribution<int> pixel(0, 255);
  for (std::uint32_t i = 0; i < count * rows * cols; ++i) bytes.push_back(static_cast<std::uint8_t>(pixel(rng)));
  return bytes;
}

// IDX unsigned-byte labels: magic 0x00000801, then count, then the labels.
std::vector<std::uint8_t> IdxLabels(std::mt19937& rng, std::uint32_t count, int classes) {
  std::vector<std::uint8_t> bytes;
  AppendBigEndian(&bytes, 0x00000801);
  AppendBigEndian(&bytes, count);
  std::uniform_int_distribution<int> label(0, classes - 1);
  for (std::uint32_t i = 0; i < count; ++i) bytes.push_back(static_cast<std::uint8_t>(label(rng)));
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_fixtures OUTPUT_FOLDER\n");
    return 1;
  }
  try {
    const std::filesystem::path folder = argv[1];
    std::filesystem::create_directories(folder);
    using frugal::testing::WriteBytes;

    // 4 x 4 images -> 8 hidden units (CSR, ReLU) -> 3 classes (dense).
    frugal::testing::TestModel model = frugal::testing::RandomModel(11, {16, 8, 3}, {true, false}, 0.6);
    model.input_scale = 1.0f / 255.0f;
    model.class_count = 3;
    const std::vector<std::uint8_t> bytes = frugal::testing::Serialize(model);
    WriteBytes(folder / "model.frugal", bytes);
    WriteBytes(folder / "corrupt.frugal", std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));

    std::mt19937 rng(5);
    WriteBytes(folder / "images.idx3", IdxImages(rng, 20, 4, 4));
    WriteBytes(folder / "images_5x5.idx3", IdxImages(rng, 20, 5, 5));
    WriteBytes(folder / "labels.idx1", IdxLabels(rng, 20, 3));
    WriteBytes(folder / "labels_19.idx1", IdxLabels(rng, 19, 3));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "write_fixtures: %s\n", error.what());
    return 1;
  }
  return 0;
}
