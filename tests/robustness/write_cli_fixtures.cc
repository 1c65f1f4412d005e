// Writes the inputs of the robustness command-line tests into one folder: a small model,
// IDX files (valid, with a wrong magic number, with a mismatched label count),
// checkpoints (valid, with a NaN weight, with a layer of zero non-zeros), and a folder
// named like a file.
//
//   robustness_write_cli_fixtures DIR
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "frugal/npz.h"
#include "test_model.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> Idx(std::uint32_t magic, const std::vector<std::uint32_t>& dims, std::size_t data_bytes) {
  std::vector<std::uint8_t> bytes;
  auto put32 = [&](std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(value >> shift));
  };
  put32(magic);
  for (std::uint32_t dim : dims) put32(dim);
  for (std::size_t i = 0; i < data_bytes; ++i) bytes.push_back(static_cast<std::uint8_t>(i * 37 % 3));
  return bytes;
}

// A 16 -> 8 -> 3 checkpoint; `kernel_1` replaces the first kernel's values when given.
frugal::npz::Archive Checkpoint(std::vector<float> kernel_1) {
  frugal::npz::Archive archive;
  if (kernel_1.empty()) {
    kernel_1.resize(16 * 8);
    for (std::size_t i = 0; i < kernel_1.size(); ++i) kernel_1[i] = static_cast<float>(i % 5) / 4.0f - 0.5f;
  }
  archive.arrays.push_back({"dense_1/kernel", {16, 8}, kernel_1});
  archive.arrays.push_back({"dense_1/bias", {8}, std::vector<float>(8, 0.125f)});
  archive.arrays.push_back({"dense_2/kernel", {8, 3}, std::vector<float>(24, 0.5f)});
  archive.arrays.push_back({"dense_2/bias", {3}, {0.0f, 0.5f, -0.5f}});
  archive.raw_members.push_back(
      {"architecture.json",
       R"({"format":"frugal-checkpoint","version":1,"input_size":16,"input_scale":1,"class_count":3,)"
       R"("layers":[{"name":"dense_1","units":8,"activation":"relu"},)"
       R"({"name":"dense_2","units":3,"activation":"none"}]})"});
  return archive;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: robustness_write_cli_fixtures DIR\n");
    return 1;
  }
  try {
    const fs::path dir = argv[1];
    fs::create_directories(dir / "a_folder.frugal");
    fs::create_directories(dir / "a_folder.idx3");
    fs::create_directories(dir / "a_folder.npz");
    using frugal::testing::WriteBytes;
    WriteBytes(dir / "model.frugal",
               frugal::testing::Serialize(frugal::testing::RandomModel(3, {16, 8, 3}, {true, false}, 0.5)));
    WriteBytes(dir / "images.idx3", Idx(0x00000803, {20, 4, 4}, 20 * 16));
    WriteBytes(dir / "labels.idx1", Idx(0x00000801, {20}, 20));
    WriteBytes(dir / "labels_19.idx1", Idx(0x00000801, {19}, 19));
    WriteBytes(dir / "bad_magic.idx3", Idx(0x00000802, {20, 4, 4}, 20 * 16));
    // 3x3 images: 9 pixels where good.npz reads 16 inputs.
    WriteBytes(dir / "images_3x3.idx3", Idx(0x00000803, {20, 3, 3}, 20 * 9));

    frugal::npz::Write((dir / "good.npz").string(), Checkpoint({}));
    std::vector<float> with_nan(16 * 8, 0.25f);
    with_nan[3 * 8 + 5] = std::numeric_limits<float>::quiet_NaN();
    frugal::npz::Write((dir / "nan.npz").string(), Checkpoint(with_nan));
    frugal::npz::Write((dir / "zero_layer.npz").string(), Checkpoint(std::vector<float>(16 * 8, 0.0f)));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "robustness_write_cli_fixtures: %s\n", error.what());
    return 1;
  }
  return 0;
}
