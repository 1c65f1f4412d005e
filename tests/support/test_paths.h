// Scratch and data folders for tests, taken from the environment CTest sets.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace frugal::testing {

// A folder private to this test executable (FRUGAL_TEST_TMPDIR), or the system
// temporary folder when the test runs outside CTest.
inline std::filesystem::path ScratchDir() {
  const char* dir = std::getenv("FRUGAL_TEST_TMPDIR");
  std::filesystem::path path = (dir && *dir) ? dir : std::filesystem::temp_directory_path() / "frugal-tests";
  std::filesystem::create_directories(path);
  return path;
}

// The folder holding the four MNIST IDX files, or an empty path when none is configured.
inline std::filesystem::path MnistDir() {
  const char* dir = std::getenv("FRUGAL_MNIST_DIR");
  return (dir && *dir) ? std::filesystem::path(dir) : std::filesystem::path();
}

}  // namespace frugal::testing
