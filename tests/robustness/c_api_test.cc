// The C API's argument checks, driven from C (c_api_calls.c).
#include <doctest/doctest.h>

#include <string>

#include "c_api_calls.h"
#include "test_model.h"
#include "test_paths.h"

TEST_CASE("C API argument checks") {
  const frugal::testing::TestModel model = frugal::testing::RandomModel(7, {6, 5, 3}, {true, false}, 0.5);
  const std::string path = (frugal::testing::ScratchDir() / "c_api.frugal").string();
  frugal::testing::WriteBytes(path, frugal::testing::Serialize(model));
  // 0 means every check passed; otherwise the number of the first failed check in c_api_calls.c.
  CHECK(c_check_arguments(path.c_str()) == 0);
}

TEST_CASE("C API batch invoke") {
  const frugal::testing::TestModel model = frugal::testing::RandomModel(8, {6, 5, 3}, {true, false}, 0.5);
  const std::string path = (frugal::testing::ScratchDir() / "c_api_batch.frugal").string();
  frugal::testing::WriteBytes(path, frugal::testing::Serialize(model));
  // 0 means every check passed; otherwise the number of the first failed check in c_api_calls.c.
  CHECK(c_check_batch(path.c_str()) == 0);
}

TEST_CASE("C API missing file and directory") {
  frugal_status status{};
  const std::string missing = (frugal::testing::ScratchDir() / "no_such.frugal").string();
  CHECK(c_load_file(missing.c_str(), &status) == 1);
  CHECK(status.code == FRUGAL_NOT_FOUND);
  CHECK(std::string(status.message) == missing + ": file not found");

  const std::string folder = frugal::testing::ScratchDir().string();
  CHECK(c_load_file(folder.c_str(), &status) == 1);
  CHECK(status.code == FRUGAL_IO_ERROR);
  CHECK(std::string(status.message) == folder + ": is a directory, expected a .frugal file");
}
